import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob } from "./run-job.js";

describe("notification.send as a webhook", () => {
  const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  let answers: number[] = [];
  let hang = false;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        requests.push({ headers: req.headers, body });
        if (hang) return; // never answers: the job's timeout must abort the request
        res.writeHead(answers.shift() ?? 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const payload = { userId: "u_1", title: "Shipped", message: "Your order is on its way" };
  const secret = "webhook-secret-0123456789";

  it("POSTs the notification as signed JSON with an idempotency key", async () => {
    const job = await runJob("notification.send", payload, {
      NOTIFY_WEBHOOK_URL: url,
      NOTIFY_WEBHOOK_SECRET: secret,
    });
    expect(job.state).toBe("completed");
    expect(job.result).toEqual({ status: 204 });
    const req = requests.find((r) => r.headers["idempotency-key"] === job.id)!;
    expect(JSON.parse(req.body)).toMatchObject({
      ...payload,
      id: job.id,
      type: "info",
      channels: ["in-app"],
    });
    const expected = `sha256=${createHmac("sha256", secret).update(req.body).digest("hex")}`;
    expect(req.headers["x-queueflow-signature"]).toBe(expected);
  });

  it("retries a 5xx and succeeds on the next attempt", async () => {
    answers = [502];
    const job = await runJob(
      "notification.send",
      payload,
      { NOTIFY_WEBHOOK_URL: url },
      { attempts: 3 },
    );
    expect(job.state).toBe("completed");
    expect(job.attempts).toBe(2);
    expect(job.errors[0]?.message).toBe("Webhook answered HTTP 502");
  });

  it("gives up at once on a 4xx", async () => {
    answers = [404];
    const job = await runJob(
      "notification.send",
      payload,
      { NOTIFY_WEBHOOK_URL: url },
      { attempts: 3 },
    );
    expect(job.state).toBe("dead");
    expect(job.attempts).toBe(1);
  });

  it("aborts a request that hangs when the job times out", async () => {
    hang = true;
    try {
      const job = await runJob(
        "notification.send",
        payload,
        { NOTIFY_WEBHOOK_URL: url },
        { timeoutMs: 300 },
      );
      expect(job.state).toBe("dead");
      expect(job.errors[0]?.message).toMatch(/timed out|timeout|abort/i);
    } finally {
      hang = false;
    }
  });
});
