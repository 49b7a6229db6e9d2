import { freePort } from "@queueflow/adapter-tests";
import { isQueueFlowError } from "@queueflow/core";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err,
  );
}

describe("RedisAdapter without a reachable server", () => {
  it("fails connect and every operation with QF_STORE_UNAVAILABLE, quickly", async () => {
    const port = await freePort();
    const adapter = new RedisAdapter({ url: `redis://127.0.0.1:${port}` });
    try {
      const started = Date.now();
      const connectError = await errorOf(adapter.connect());
      expect(isQueueFlowError(connectError, "QF_STORE_UNAVAILABLE")).toBe(true);
      expect((connectError as Error).message).toMatch(/Redis could not be reached/);

      const claimError = await errorOf(
        adapter.claim({ queue: "q", workerId: "w", limit: 1, leaseMs: 1000, priorityRange: null }),
      );
      expect(isQueueFlowError(claimError, "QF_STORE_UNAVAILABLE")).toBe(true);
      expect(isQueueFlowError(await errorOf(adapter.counts("q")), "QF_STORE_UNAVAILABLE")).toBe(
        true,
      );
      expect(isQueueFlowError(await errorOf(adapter.now()), "QF_STORE_UNAVAILABLE")).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);

      const health = await adapter.health();
      expect(health.ok).toBe(false);
      expect(health.message).toMatch(/could not be reached/);
    } finally {
      await adapter.close();
    }
  });

  it("maps a passed client's connection errors too, and waitForWork never rejects", async () => {
    const port = await freePort();
    const client = new Redis(port, "127.0.0.1", {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // The client is ours here: its connection errors are expected.
    client.on("error", () => {});
    const adapter = new RedisAdapter({ client });
    try {
      expect(isQueueFlowError(await errorOf(adapter.connect()), "QF_STORE_UNAVAILABLE")).toBe(true);
      const started = Date.now();
      await expect(
        adapter.waitForWork("q", 200, new AbortController().signal),
      ).resolves.toBeUndefined();
      // A broken wait waits out its timeout rather than spinning the worker's loop.
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    } finally {
      await adapter.close();
      client.disconnect();
    }
  });
});
