import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type AlertEvent, webhookNotifier } from "../src/index.js";
import { INVALID } from "./helpers.js";

const EVENT: AlertEvent = {
  rule: "count",
  status: "firing",
  value: 12,
  fireAt: 10,
  resolveBelow: 5,
  at: 1_700_000_000_000,
  total: 12,
  byQueue: { emails: 12 },
  message: "Dead letters: 12 dead jobs reached the threshold 10.",
};

interface Received {
  method: string | undefined;
  headers: IncomingMessage["headers"];
  body: unknown;
}

type Reply = (res: ServerResponse) => void;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A local server on a random port answering the n-th request with `replies[n]`. */
async function server(replies: Reply[]) {
  const received: Received[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        method: req.method,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      const reply = replies[received.length - 1] ?? ((r: ServerResponse) => r.end());
      reply(res);
    });
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  closers.push(async () => {
    srv.closeAllConnections();
    srv.close();
    await once(srv, "close");
  });
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received };
}

const status =
  (code: number): Reply =>
  (res) => {
    res.statusCode = code;
    res.end();
  };
const hang: Reply = () => {}; // never answers: the client's timeout must fire

describe("webhook notifier", () => {
  it("POSTs the event as JSON with the given headers", async () => {
    const s = await server([status(204)]);
    await webhookNotifier({ url: s.url, headers: { authorization: "Bearer t" } })(EVENT);
    expect(s.received).toHaveLength(1);
    expect(s.received[0]).toMatchObject({
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer t" },
      body: EVENT,
    });
  });

  it("retries after a 500 and succeeds", async () => {
    const s = await server([status(500), status(503), status(200)]);
    await webhookNotifier({ url: s.url, retries: 3, backoffMs: 5 })(EVENT);
    expect(s.received).toHaveLength(3);
  });

  it("fails after the last retry, with the status", async () => {
    const s = await server([status(500), status(502)]);
    const notify = webhookNotifier({
      url: s.url,
      retries: 1,
      backoffMs: 5,
      body: (e) => e.message,
    });
    await expect(notify(EVENT)).rejects.toMatchObject({
      name: "WebhookDeliveryError",
      attempts: 2,
      status: 502,
    });
    expect(s.received.map((r) => r.body)).toEqual([EVENT.message, EVENT.message]);
  });

  it("does not retry a 4xx other than 408 and 429", async () => {
    const s = await server([status(404), status(200)]);
    await expect(
      webhookNotifier({ url: s.url, retries: 3, backoffMs: 5 })(EVENT),
    ).rejects.toMatchObject({ status: 404, attempts: 1 });
    expect(s.received).toHaveLength(1);
  });

  it("times out a request that gets no answer, then retries", async () => {
    // Long enough for the answering request to beat it on a loaded machine (at 100 ms it did
    // not, once): the timeout is what the hanging one must hit, not the answered one.
    const s = await server([hang, status(200)]);
    await webhookNotifier({ url: s.url, timeoutMs: 1_500, retries: 1, backoffMs: 5 })(EVENT);
    expect(s.received).toHaveLength(2);

    const t = await server([hang]);
    const failure = await webhookNotifier({ url: t.url, timeoutMs: 1_500, retries: 0 })(EVENT).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ name: "WebhookDeliveryError", status: null, attempts: 1 });
    expect((failure as Error).cause).toMatchObject({ name: "TimeoutError" });
  });

  it("rejects a bad URL or option at creation", () => {
    for (const bad of [
      { url: "not a url" },
      { url: "file:///etc/passwd" },
      { url: "http://x", retries: -1 },
      { url: "http://x", timeoutMs: 0 },
    ]) {
      expect(() => webhookNotifier(bad)).toThrow(expect.objectContaining(INVALID));
    }
  });
});
