import { isQueueFlowError } from "@queueflow/core";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deletePrefix, redisUrl, testPrefix, withClient } from "./helpers.js";

const prefixes: string[] = [];
afterEach(async () => {
  await withClient(async (client) => {
    for (const prefix of prefixes.splice(0)) await deletePrefix(client, prefix);
  });
});

function prefix(): string {
  const p = testPrefix("opt");
  prefixes.push(p);
  return p;
}

/** Add a job and read it back: proof the adapter talks to the server it was given. */
async function roundTrip(adapter: RedisAdapter): Promise<void> {
  const [added] = await adapter.enqueue([
    {
      id: "job-1",
      queue: "opts",
      name: "n",
      payload: { ok: true },
      priority: 5,
      maxAttempts: 1,
      backoff: null,
      timeoutMs: null,
      dedupKey: null,
      metadata: {},
      delayMs: 0,
      runAt: null,
    },
  ]);
  expect(added?.created).toBe(true);
  expect((await adapter.getJob("opts", "job-1"))?.payload).toEqual({ ok: true });
}

describe("RedisAdapter connection options", () => {
  it("connects from a URL and closes the client it created", async () => {
    const adapter = new RedisAdapter({ url: redisUrl(), prefix: prefix() });
    await adapter.connect();
    await roundTrip(adapter);
    await adapter.close();
    expect(adapter.client.status).toBe("end");
  });

  it("connects from ioredis options (host, port, db)", async () => {
    const url = new URL(redisUrl());
    const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
    const adapter = new RedisAdapter({
      redis: {
        host: url.hostname,
        port: Number(url.port || 6379),
        db,
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      },
      prefix: prefix(),
    });
    await adapter.connect();
    await roundTrip(adapter);
    await adapter.close();
    expect(adapter.client.status).toBe("end");
  });

  it("uses a client it is given and leaves it open on close", async () => {
    const client = new Redis(redisUrl());
    try {
      const adapter = new RedisAdapter({ client, prefix: prefix() });
      await adapter.connect();
      await roundTrip(adapter);
      await adapter.close();
      expect(client.status).toBe("ready");
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });

  it("connects a lazy client it is given, and still leaves it open", async () => {
    const client = new Redis(redisUrl(), { lazyConnect: true });
    try {
      const adapter = new RedisAdapter({ client, prefix: prefix() });
      await adapter.connect();
      await roundTrip(adapter);
      await adapter.close();
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });

  it("closes its blocking connection but not the client it was given", async () => {
    const client = new Redis(redisUrl());
    try {
      const adapter = new RedisAdapter({ client, prefix: prefix() });
      await adapter.connect();
      const waiting = adapter.waitForWork("idle", 10_000, new AbortController().signal);
      const started = Date.now();
      await adapter.close();
      await waiting;
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });

  it("refuses a client together with url or options", () => {
    const client = new Redis(redisUrl(), { lazyConnect: true });
    try {
      expect(() => new RedisAdapter({ client, url: redisUrl() })).toThrow(
        expect.objectContaining({ code: "QF_INVALID_ARGUMENT" }),
      );
    } finally {
      client.disconnect();
    }
  });

  it("refuses a prefix that would move the hash tag", () => {
    const error = (() => {
      try {
        new RedisAdapter({ url: redisUrl(), prefix: "qf{x}" });
        return null;
      } catch (err) {
        return err;
      }
    })();
    expect(isQueueFlowError(error, "QF_INVALID_ARGUMENT")).toBe(true);
  });

  it("throws QF_CLOSED after close, and health reports instead of throwing", async () => {
    const adapter = new RedisAdapter({ url: redisUrl(), prefix: prefix() });
    await adapter.connect();
    await adapter.close();
    await expect(adapter.counts("q")).rejects.toMatchObject({ code: "QF_CLOSED" });
    expect((await adapter.health()).ok).toBe(false);
  });
});
