import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  enqueueOne,
  getJobOrThrow,
  scaled,
  testTimeout,
  uniqueQueue,
  useAdapter,
} from "./helpers.js";

/** How far the store clock may sit from this process's clock: catches s-vs-ms, not skew. */
const CLOCK_BOUND_MS = 30_000;

/**
 * Lifecycle: connect is idempotent, health reports instead of throwing, now() is the store's
 * clock in ms, and the declared capabilities match what the adapter implements.
 */
export function lifecycleTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("lifecycle", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("has a name and boolean capability flags that match its methods", () => {
      const a = adapter();
      expect(typeof a.name).toBe("string");
      expect(a.name.length).toBeGreaterThan(0);
      expect(a.capabilities).toEqual(factory.capabilities);
      if (a.capabilities.wakeUp) expect(a.waitForWork).toBeTypeOf("function");
      if (a.capabilities.handoff) {
        expect(a.capabilities.wakeUp, "handoff requires wakeUp").toBe(true);
        expect(a.waitForJobs).toBeTypeOf("function");
      }
    });

    it("treats a second connect as a no-op and keeps its data", async () => {
      const a = adapter();
      const queue = uniqueQueue("life-connect");
      const job = await enqueueOne(a, queue, { payload: { kept: true } });

      await a.connect();
      await a.connect();
      expect(await getJobOrThrow(a, queue, job.id)).toEqual(job);
      expect((await a.health()).ok).toBe(true);
    });

    it("reports health ok with a ping latency in ms", async () => {
      const a = adapter();
      const health = await a.health();

      expect(health.ok).toBe(true);
      expect(Number.isFinite(health.latencyMs)).toBe(true);
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
      expect(health.latencyMs).toBeLessThan(scaled(o, 10_000));
    });

    it("tells the store's time in ms since the epoch, close to this process's clock", async () => {
      const a = adapter();
      const before = Date.now();
      const now = await a.now();
      const after = Date.now();

      expect(Number.isFinite(now)).toBe(true);
      expect(now).toBeGreaterThan(before - CLOCK_BOUND_MS);
      expect(now).toBeLessThan(after + CLOCK_BOUND_MS);
      expect(await a.now()).toBeGreaterThanOrEqual(now - 1_000);
    });

    it("closes cleanly, and health after close reports instead of throwing", async () => {
      const own = await factory.create();
      try {
        await own.connect();
        await enqueueOne(own, uniqueQueue("life-close"));
        await own.close();
        const health = await own.health();
        expect(typeof health.ok).toBe("boolean");
        expect(typeof health.latencyMs).toBe("number");
      } finally {
        await factory.cleanup?.(own);
      }
    });
  });
}
