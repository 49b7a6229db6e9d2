import type { StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  enqueueOne,
  jobInState,
  scaled,
  sleep,
  testTimeout,
  uniqueQueue,
  useAdapter,
} from "./helpers.js";

type WaitForWork = NonNullable<StorageAdapter["waitForWork"]>;

/** The adapter's waitForWork (this area only runs for adapters declaring wake-up). */
function waitForWorkOf(a: StorageAdapter): WaitForWork {
  expect(a.waitForWork, "capabilities.wakeUp is true, so waitForWork must exist").toBeTypeOf(
    "function",
  );
  return a.waitForWork!.bind(a);
}

/** Start a wait and record when (Date.now) it resolved; `done` rejects if the wait does. */
function track(promise: Promise<void>): { settledAt: () => number | null; done: Promise<void> } {
  let at: number | null = null;
  const done = promise.then(() => {
    at = Date.now();
  });
  return { settledAt: () => at, done };
}

/**
 * Wake-up (only for adapters declaring `capabilities.wakeUp`): waitForWork resolves soon
 * after work arrives, at its timeout, or on abort, and never rejects for those.
 */
export function wakeUpTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  // How soon after an add a waiter must wake: far below the 10 s timeouts used here, far
  // above a notification's round trip on a loaded machine.
  const prompt = scaled(o, 2_000);
  describe("wake-up", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("wakes a waiter promptly when a job is enqueued", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const queue = uniqueQueue("wake-enqueue");
      const waiter = track(wait(queue, scaled(o, 10_000), new AbortController().signal));
      // Let the waiter subscribe (LISTEN, blocking pop) before the add.
      await sleep(scaled(o, 100));
      expect(waiter.settledAt(), "an idle queue must not wake the waiter").toBeNull();

      const addedAt = Date.now();
      await enqueueOne(a, queue);
      await waiter.done;
      expect(waiter.settledAt()! - addedAt).toBeLessThan(prompt);
    });

    it("resolves at its timeout, not before, when no work arrives", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const timeoutMs = scaled(o, 300);
      const started = Date.now();
      await wait(uniqueQueue("wake-timeout"), timeoutMs, new AbortController().signal);
      const elapsed = Date.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs * 0.5);
      expect(elapsed).toBeLessThan(timeoutMs + prompt);
    });

    it("resolves promptly, without rejecting, when the signal aborts", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const controller = new AbortController();
      const waiter = track(wait(uniqueQueue("wake-abort"), scaled(o, 10_000), controller.signal));
      await sleep(scaled(o, 50));
      expect(waiter.settledAt()).toBeNull();

      const abortedAt = Date.now();
      controller.abort();
      await expect(waiter.done).resolves.toBeUndefined();
      expect(waiter.settledAt()! - abortedAt).toBeLessThan(prompt);
    });

    it("resolves at once for a signal that is already aborted", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const started = Date.now();
      await expect(
        wait(uniqueQueue("wake-pre-aborted"), scaled(o, 10_000), AbortSignal.abort()),
      ).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(prompt);
    });

    it("wakes a waiter when its paused queue is resumed", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const queue = uniqueQueue("wake-resume");
      await a.updateSettings(queue, { paused: true });
      await enqueueOne(a, queue);
      const waiter = track(wait(queue, scaled(o, 10_000), new AbortController().signal));
      await sleep(scaled(o, 100));

      const resumedAt = Date.now();
      await a.updateSettings(queue, { paused: false });
      await waiter.done;
      expect(waiter.settledAt()! - resumedAt).toBeLessThan(prompt);
    });

    it("wakes a waiter when a dead job is retried", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const queue = uniqueQueue("wake-retry");
      const dead = await jobInState(a, queue, "dead");
      const waiter = track(wait(queue, scaled(o, 10_000), new AbortController().signal));
      await sleep(scaled(o, 100));

      const retriedAt = Date.now();
      expect(await a.retryJobs({ queue, ids: [dead.id], payloadPatch: null })).toEqual([dead.id]);
      await waiter.done;
      expect(waiter.settledAt()! - retriedAt).toBeLessThan(prompt);
    });
  });
}
