import { Writable } from "node:stream";
import type { Logger } from "@queueflow/app-kit";
import { MemoryAdapter } from "@queueflow/core";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi } from "../src/app.js";
import { loadApiConfig } from "../src/config.js";
import { openEvents } from "./sse.js";
import { KEYS, type Stack, startStack, testStore, until } from "./stack.js";

const email = { name: "email.send", payload: { to: "a@example.com", subject: "Hi" } };
const batch = (n: number) => ({ jobs: Array.from({ length: n }, () => email) });

describe("rate limits per job and per route class", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      store: testStore("memory").config,
      workers: false,
      env: {
        RATE_LIMIT_JOBS_MAX: "150",
        RATE_LIMIT_READ_MAX: "3",
        RATE_LIMIT_MANAGE_MAX: "2",
        RATE_LIMIT_BULK_MAX: "1",
      },
    });
  });
  afterAll(() => stack.close());

  it("counts a batch as its jobs, refuses one that does not fit whole, and charges it nothing", async () => {
    const submit = (n: number, scope: "submit" | "admin" = "submit") =>
      stack.call("/api/queues/emails/jobs", { method: "POST", scope, json: batch(n) });
    expect((await submit(100)).status).toBe(201);
    const refused = await submit(100);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("RATE_LIMITED");
    expect(refused.body.error.message).toContain("150 jobs");
    expect((await stack.api.queues.get("emails").counts()).waiting).toBe(100);
    // The refused batch took nothing: 50 still fit, then nothing does.
    expect((await submit(50)).status).toBe(201);
    expect((await submit(1)).status).toBe(429);
    // Another key has its own budget.
    expect((await submit(100, "admin")).status).toBe(201);
  });

  it("sends Retry-After with a refused batch", async () => {
    const res = await fetch(`${stack.url}/api/queues/emails/jobs`, {
      method: "POST",
      headers: { "x-api-key": KEYS.submit, "content-type": "application/json" },
      body: JSON.stringify(batch(10)),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("gives reads, management and bulk operations budgets of their own", async () => {
    const read = () =>
      stack.call("/api/queues/emails/jobs?state=waiting&limit=1", { scope: "read" });
    expect([(await read()).status, (await read()).status, (await read()).status]).toEqual([
      200, 200, 200,
    ]);
    const limited = await read();
    expect(limited.status).toBe(429);
    expect(limited.body.error.message).toContain("read requests");
    // The read budget spans routes: another read route is limited too.
    expect((await stack.call("/api/dead-letters/stats", { scope: "read" })).status).toBe(429);

    const purge = () =>
      stack.call("/api/dead-letters/purge", { method: "POST", json: { filter: {} } });
    expect((await purge()).status).toBe(200);
    expect((await purge()).status).toBe(429);
    expect(
      (
        await stack.call("/api/queues/emails/clean", {
          method: "POST",
          json: { state: "completed", olderThanMs: 0 },
        })
      ).status,
    ).toBe(429);

    const pause = await stack.call("/api/queues/emails/pause", { method: "POST" });
    expect(pause.status).toBe(200);
    await stack.call("/api/queues/emails/resume", { method: "POST" });
    expect((await stack.call("/api/queues/emails/pause", { method: "POST" })).status).toBe(429);
  });

  it("limits requests without a valid key by address, before checking the key", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await stack.call("/api/queues", { scope: "none" })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe("event stream cap", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      store: testStore("memory").config,
      workers: false,
      env: { EVENTS_MAX_STREAMS_PER_KEY: "2", EVENTS_MAX_STREAMS: "3" },
    });
  });
  afterAll(() => stack.close());

  const tryOpen = async (key: string) => {
    const res = await fetch(`${stack.url}/api/events`, { headers: { "x-api-key": key } });
    if (res.status === 200) {
      await res.body?.cancel();
      return { status: res.status, code: undefined };
    }
    const body = (await res.json()) as { error: { code: string } };
    return { status: res.status, code: body.error.code };
  };

  it("caps open streams per key and in all, and frees a slot when a stream closes", async () => {
    const first = await openEvents(stack.url, KEYS.read, "queue=emails");
    const second = await openEvents(stack.url, KEYS.read, "queue=emails");
    expect(await tryOpen(KEYS.read)).toEqual({ status: 429, code: "TOO_MANY_STREAMS" });
    const third = await openEvents(stack.url, KEYS.admin, "queue=emails");
    expect(await tryOpen(KEYS.submit)).toEqual({ status: 429, code: "TOO_MANY_STREAMS" });
    first.close();
    let reopened: Awaited<ReturnType<typeof openEvents>> | null = null;
    await until(async () => {
      reopened = await openEvents(stack.url, KEYS.read, "queue=emails").catch(() => null);
      return reopened !== null;
    }, "a slot freed by the closed stream");
    for (const s of [second, third, reopened!]) s.close();
  });
});

describe("the request log", () => {
  it("never holds the query string, where a client may have put its key", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadApiConfig({ API_KEYS_ADMIN: KEYS.admin });
    const adapter = new MemoryAdapter();
    const { app } = await createApi({
      config,
      adapter,
      logger: pino({ level: "info" }, sink) as Logger,
    });
    try {
      const url = await app.listen({ port: 0, host: "127.0.0.1" });
      const res = await fetch(`${url}/api/queues?api_key=${KEYS.admin}`);
      expect(res.status).toBe(401);
      const logged = lines.join("");
      expect(logged).toContain('"url":"/api/queues"');
      expect(logged).not.toContain(KEYS.admin);
    } finally {
      await app.close();
      await adapter.close();
    }
  });
});
