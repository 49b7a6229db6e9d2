import { describe, expect, it } from "vitest";
import { job } from "./fixtures.js";
import { useAdapter } from "./helpers.js";

// What the conformance suite's wake-up area does not cover: the Redis-specific paths.
describe("waitForWork on Redis", () => {
  const { adapter } = useAdapter("wake");

  const never = () => new AbortController().signal;

  it("resolves at once when a job is already claimable", async () => {
    await adapter.enqueue([job("ready-now", "a")]);
    const started = Date.now();
    await adapter.waitForWork("ready-now", 10_000, never());
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("does not resolve early for waiting jobs it may not claim (paused queue)", async () => {
    await adapter.updateSettings("paused-wait", { paused: true });
    await adapter.enqueue([job("paused-wait", "a")]);
    const started = Date.now();
    await adapter.waitForWork("paused-wait", 300, never());
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("wakes waiters of different queues independently (one blocking connection each)", async () => {
    const waits = ["q-one", "q-two", "q-three"].map((queue) => {
      const started = Date.now();
      return adapter.waitForWork(queue, 10_000, never()).then(() => Date.now() - started);
    });
    // Let all three block before the adds.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await adapter.enqueue([job("q-three", "c")]);
    await adapter.enqueue([job("q-one", "a")]);
    await adapter.enqueue([job("q-two", "b")]);
    for (const elapsed of await Promise.all(waits)) expect(elapsed).toBeLessThan(2_000);
  });

  it("wakes a waiter when a settle frees a concurrency slot", async () => {
    const queue = "capped-wait";
    await adapter.updateSettings(queue, { concurrency: 1 });
    await adapter.enqueue([job(queue, "a"), job(queue, "b")]);
    const claimed = await adapter.claim({
      queue,
      workerId: "w",
      limit: 5,
      leaseMs: 60_000,
      priorityRange: null,
    });
    expect(claimed.jobs).toHaveLength(1);
    const started = Date.now();
    const waiting = adapter.waitForWork(queue, 10_000, never());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const first = claimed.jobs[0]!;
    await adapter.settle(queue, [
      { kind: "complete", id: first.id, token: first.leaseToken, result: null },
    ]);
    await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("wakes a waiter when a delayed job is added, so it can learn the new due time", async () => {
    const started = Date.now();
    const waiting = adapter.waitForWork("delayed-add", 10_000, never());
    await new Promise((resolve) => setTimeout(resolve, 100));
    await adapter.enqueue([job("delayed-add", "later", { delayMs: 60_000 })]);
    await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
    const { nextWakeAt } = await adapter.claim({
      queue: "delayed-add",
      workerId: "w",
      limit: 1,
      leaseMs: 1_000,
      priorityRange: null,
    });
    expect(nextWakeAt).toEqual((await adapter.getJob("delayed-add", "later"))?.runAt);
  });

  it("keeps working after an aborted wait (the dropped connection is replaced)", async () => {
    const controller = new AbortController();
    const aborted = adapter.waitForWork("after-abort", 10_000, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await aborted;

    const started = Date.now();
    const waiting = adapter.waitForWork("after-abort", 10_000, never());
    await new Promise((resolve) => setTimeout(resolve, 100));
    await adapter.enqueue([job("after-abort", "a")]);
    await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
