import { MemoryAdapter, Queue, Worker } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { deriveSignals, type Sample, SignalSampler } from "../src/index.js";
import { waitFor } from "./helpers.js";

const sample = (patch: Partial<Sample>): Sample => ({
  at: 0,
  depth: 0,
  delayed: 0,
  active: 0,
  finishedTotal: 0,
  completedTotal: 0,
  failedTotal: 0,
  oldestWaitMs: 0,
  workers: 1,
  ...patch,
});

describe("deriveSignals", () => {
  it("derives arrivals from finished jobs plus backlog growth over the window", () => {
    const s = deriveSignals(
      [
        sample({ at: 0, depth: 10, active: 2, finishedTotal: 100, completedTotal: 100 }),
        sample({ at: 10_000, depth: 30, active: 2, finishedTotal: 140, completedTotal: 140 }),
      ],
      60_000,
    );
    // 40 finished + 20 more in backlog = 60 arrived in 10 s.
    expect(s.arrivalRate).toBeCloseTo(6);
    expect(s.completionRate).toBeCloseTo(4);
    // Little's law: 2 busy on average ÷ 4 attempts/s = 0.5 s each.
    expect(s.serviceTimeMs).toBeCloseTo(500);
  });

  it("reports the error rate as a percentage of ended attempts", () => {
    const s = deriveSignals(
      [
        sample({ at: 0 }),
        sample({ at: 1000, completedTotal: 3, failedTotal: 1, finishedTotal: 3 }),
      ],
      60_000,
    );
    expect(s.errorRate).toBeCloseTo(25);
  });

  it("only looks back over the window", () => {
    const s = deriveSignals(
      [
        sample({ at: 0, finishedTotal: 0 }),
        sample({ at: 50_000, finishedTotal: 1000 }),
        sample({ at: 60_000, finishedTotal: 1010 }),
      ],
      10_000,
    );
    expect(s.completionRate).toBeCloseTo(1);
  });

  it("has zero rates and no service time from a single sample", () => {
    const s = deriveSignals([sample({ depth: 5 })], 60_000);
    expect(s).toMatchObject({ depth: 5, arrivalRate: 0, serviceTimeMs: null });
  });
});

describe("SignalSampler on the memory adapter", () => {
  it("reads depth, oldest wait and current workers on the store's clock", async () => {
    let clock = 1_000_000;
    const adapter = new MemoryAdapter({ now: () => clock });
    const queue = new Queue("sig", { adapter });
    await queue.add("x", {});
    clock += 4000;
    await queue.add("x", {});
    clock += 1000;
    const s = await new SignalSampler(adapter, "sig").sample(3);
    expect(s).toMatchObject({ at: clock, depth: 2, active: 0, oldestWaitMs: 5000, workers: 3 });
  });

  it("counts completions from count deltas, and from worker events despite retention", async () => {
    const adapter = new MemoryAdapter();
    const queue = new Queue("sig2", { adapter });
    const byCounts = new SignalSampler(adapter, "sig2");
    const byEvents = new SignalSampler(adapter, "sig2");
    await byCounts.sample(1);
    await byEvents.sample(1);
    const worker = new Worker("sig2", { x: async () => null }, { adapter, concurrency: 4 });
    const untrack = byEvents.track(worker);
    let done = 0;
    worker.on("completed", () => done++);
    for (let i = 0; i < 10; i++) await queue.add("x", {});
    await waitFor(() => done === 10, 10_000, "10 completions");
    expect((await byCounts.sample(1)).finishedTotal).toBe(10);
    expect((await byEvents.sample(1)).finishedTotal).toBe(10);
    // Retention deletes them: the store's count drops, the event count does not.
    await queue.clean({ state: "completed", olderThanMs: 0 });
    for (let i = 0; i < 5; i++) await queue.add("x", {});
    await waitFor(() => done === 15, 10_000, "15 completions");
    expect((await byEvents.sample(1)).finishedTotal).toBe(15);
    expect((await byCounts.sample(1)).finishedTotal).toBeGreaterThanOrEqual(10);
    untrack();
    await worker.close();
  });
});
