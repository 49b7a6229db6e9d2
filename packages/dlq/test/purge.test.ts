import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadLetters, type PurgeResult } from "../src/index.js";
import { Clock, DAY, HOUR, INVALID, idsIn, killMany, memory, specs } from "./helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

/** Dead jobs in "a" and "b" that died 20, 10 and 1 days ago (ids o*, m*, y*). */
async function aged(clock: Clock) {
  const adapter = await memory(clock);
  for (const [prefix, count] of [
    ["o", 25],
    ["m", 12],
    ["y", 7],
  ] as const) {
    for (const q of ["a", "b"]) {
      await killMany(
        adapter,
        q,
        specs(`${prefix}`, count, (i) => ({ errorClass: i % 2 ? "timeout" : "validation" })),
      );
    }
    clock.advance(prefix === "o" ? 10 * DAY : prefix === "m" ? 9 * DAY : 0);
  }
  clock.advance(DAY);
  return adapter;
}

describe("retention and purge", () => {
  it("removes only jobs older than N days, in batches of at most batchSize", async () => {
    const clock = new Clock();
    const adapter = await aged(clock);
    const dlq = new DeadLetters({ adapter, queues: ["a", "b"], batchSize: 10 });
    const clean = vi.spyOn(adapter, "clean");

    const result = await dlq.applyRetention({ olderThanDays: 5 });

    expect(result).toMatchObject({ deleted: 74, byQueue: { a: 37, b: 37 }, stoppedBy: "done" });
    const limits = clean.mock.calls.map(([r]) => r.limit);
    expect(limits.every((l) => l <= 10)).toBe(true);
    // 37 per queue in batches of 10: 4 deleting calls and one that finds nothing, per queue.
    expect(clean).toHaveBeenCalledTimes(10);
    expect(clean.mock.calls[0]?.[0]).toMatchObject({
      state: "dead",
      finishedBefore: clock.t - 5 * DAY,
    });
    for (const q of ["a", "b"])
      expect((await idsIn(adapter, q, "dead")).sort()).toEqual(
        specs("y", 7, () => ({}))
          .map((s) => s.id)
          .sort(),
      );
    // A fractional day count works on the same clock.
    expect((await dlq.applyRetention({ olderThanDays: 0.5 })).deleted).toBe(14);
    await expect(dlq.applyRetention({ olderThanDays: 0 })).rejects.toMatchObject(INVALID);
  });

  it("purges by filter, never touching jobs that died after asOf", async () => {
    const clock = new Clock();
    const adapter = await aged(clock);
    const dlq = new DeadLetters({ adapter, queues: ["a", "b"], batchSize: 4 });
    const asOf = clock.t;
    clock.advance(HOUR);
    await killMany(adapter, "a", [{ id: "late", errorClass: "validation" }]);

    const result = await dlq.purge({ filter: { queue: "a", errorClass: "validation" }, asOf });
    // Of a's 25 + 12 + 7 jobs, the even-numbered ones are validation: 13 + 6 + 4.
    expect(result).toMatchObject({ deleted: 23, byQueue: { a: 23 }, stoppedBy: "done", asOf });
    const left = await dlq.stats();
    expect(left.queues.a?.byErrorClass).toEqual({ timeout: 21, validation: 1 });
    expect(left.queues.b?.total).toBe(44);
    expect((await dlq.get("a", "late"))?.id).toBe("late");

    // The filter's own failedBefore narrows further; maxJobs bounds the call.
    const bounded = await dlq.purge({
      filter: { failedBefore: asOf - 15 * DAY },
      maxJobs: 30,
    });
    expect(bounded).toMatchObject({ deleted: 30, stoppedBy: "max_jobs" });
    const rest = await dlq.purge({ filter: { failedBefore: asOf - 15 * DAY } });
    expect(rest.deleted).toBe(25 + 25 - 13 - 30);
    expect((await dlq.purge({ filter: { failedBefore: asOf - 15 * DAY } })).deleted).toBe(0);
  });

  it("runs retention on a timer until stopped, reporting each sweep", async () => {
    vi.useFakeTimers({ now: Date.UTC(2025, 0, 1) });
    const adapter = await memory(() => Date.now());
    const dlq = new DeadLetters({ adapter, queues: ["a"] });
    const sweeps: PurgeResult[] = [];
    let sweepDone: () => void = () => {};
    const nextSweep = () => new Promise<void>((r) => (sweepDone = r));
    let pending = nextSweep();
    const handle = dlq.startRetention({
      olderThanDays: 1,
      intervalMs: HOUR,
      onSweep: (r) => {
        sweeps.push(r);
        sweepDone();
      },
    });
    await pending; // the first sweep runs at once
    expect(sweeps.map((s) => s.deleted)).toEqual([0]);

    await killMany(
      adapter,
      "a",
      specs("j", 3, () => ({})),
    );
    pending = nextSweep();
    await vi.advanceTimersByTimeAsync(HOUR);
    await pending;
    expect(sweeps.map((s) => s.deleted)).toEqual([0, 0]); // an hour old: kept

    pending = nextSweep();
    await vi.advanceTimersByTimeAsync(24 * HOUR); // sweeps each hour; one finds them a day old
    await pending;
    expect(sweeps.reduce((n, s) => n + s.deleted, 0)).toBe(3);
    expect(await idsIn(adapter, "a", "dead")).toEqual([]);

    await handle.stop();
    const count = sweeps.length;
    await vi.advanceTimersByTimeAsync(10 * HOUR);
    expect(sweeps).toHaveLength(count);
  });

  it("reports a failing sweep to onError and keeps the timer going", async () => {
    vi.useFakeTimers();
    const adapter = await memory(() => Date.now());
    const dlq = new DeadLetters({ adapter, queues: ["a"] });
    const clean = vi.spyOn(adapter, "clean").mockRejectedValueOnce(new Error("store down"));
    const errors: unknown[] = [];
    let swept: () => void = () => {};
    const ok = new Promise<void>((r) => (swept = r));
    const handle = dlq.startRetention({
      olderThanDays: 1,
      intervalMs: 1_000,
      onError: (e) => errors.push(e),
      onSweep: () => swept(),
    });
    await vi.advanceTimersByTimeAsync(1_000);
    await ok;
    expect(errors).toEqual([expect.objectContaining({ message: "store down" })]);
    expect(clean.mock.calls.length).toBeGreaterThanOrEqual(2);
    await handle.stop();
    expect(() => dlq.startRetention({ olderThanDays: 1, intervalMs: 0 })).toThrow(
      expect.objectContaining(INVALID),
    );
  });
});
