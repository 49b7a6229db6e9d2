import { getEventListeners } from "node:events";
import { describe, expect, it, vi } from "vitest";
import type { ClaimedJob, ScheduleRecord } from "../contract.js";
import type { JobState } from "../job.js";
import type { MemoryAdapter } from "./memory-adapter.js";
import { job, setup, T0 } from "./test-support.js";

async function claimAll(adapter: MemoryAdapter, limit = 1000): Promise<ClaimedJob[]> {
  const request = { queue: "q", workerId: "w", limit, leaseMs: 1000, priorityRange: null };
  return (await adapter.claim(request)).jobs;
}

/** Fail every claimed job straight to dead with the given error name. */
async function killAll(
  adapter: MemoryAdapter,
  jobs: ClaimedJob[],
  errorName: (j: ClaimedJob) => string,
) {
  await adapter.settle(
    "q",
    jobs.map((j) => ({
      kind: "dead" as const,
      id: j.id,
      token: j.leaseToken,
      error: { attempt: j.attempts, name: errorName(j), message: "failed", at: 0 },
    })),
  );
}

async function listAll(
  adapter: MemoryAdapter,
  state: JobState,
  limit: number,
  filter: { name?: string; errorName?: string } = {},
): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page = await adapter.listJobs({ queue: "q", state, limit, cursor, ...filter });
    pages.push(page.jobs.map((j) => j.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

describe("MemoryAdapter: listing", () => {
  it("pages oldest-in-state first, with null on the last page", async () => {
    const { adapter } = setup();
    await adapter.enqueue(["a", "b", "c", "d"].map((id) => job({ id })));
    expect(await listAll(adapter, "waiting", 2)).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
  });

  it("orders by entry into the state, not by creation", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue(["a", "b", "c"].map((id) => job({ id })));
    const [a, b, c] = await claimAll(adapter);
    for (const j of [c, a, b]) {
      clock.t += 1;
      await adapter.settle("q", [
        { kind: "complete", id: j?.id ?? "", token: j?.leaseToken ?? "", result: null },
      ]);
    }
    expect(await listAll(adapter, "completed", 10)).toEqual([["c", "a", "b"]]);
  });

  it("resumes from a cursor after compaction dropped most entries", async () => {
    const { adapter } = setup();
    const ids = Array.from({ length: 600 }, (_, i) => `j${String(i).padStart(3, "0")}`);
    await adapter.enqueue(ids.map((id) => job({ id })));
    const first = await adapter.listJobs({ queue: "q", state: "waiting", limit: 50 });
    expect(first.jobs.map((j) => j.id)).toEqual(ids.slice(0, 50));
    // Removing 5 of every 6 shrinks the index's arrays under the open cursor.
    for (const [i, id] of ids.entries()) if (i % 6 !== 0) await adapter.remove("q", id);
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor !== null) {
      const page = await adapter.listJobs({ queue: "q", state: "waiting", limit: 7, cursor });
      rest.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    }
    expect(rest).toEqual(ids.filter((_, i) => i % 6 === 0 && i >= 50));
  });

  it("filters by name and by latest error name", async () => {
    const { adapter } = setup();
    await adapter.enqueue(
      Array.from({ length: 12 }, (_, i) =>
        job({ id: `d${i}`, name: i % 3 === 0 ? "mail" : "sms" }),
      ),
    );
    await killAll(adapter, await claimAll(adapter), (j) =>
      j.id.endsWith("1") ? "Timeout" : "Boom",
    );
    expect(await listAll(adapter, "dead", 3, { name: "mail" })).toEqual([
      ["d0", "d3", "d6"],
      ["d9"],
    ]);
    expect(await listAll(adapter, "dead", 10, { errorName: "Timeout" })).toEqual([["d1", "d11"]]);
    expect(await listAll(adapter, "dead", 10, { name: "mail", errorName: "Timeout" })).toEqual([
      [],
    ]);
  });

  it("rejects a cursor it never issued", async () => {
    const { adapter } = setup();
    await expect(
      adapter.listJobs({ queue: "q", state: "waiting", limit: 1, cursor: "%%" }),
    ).rejects.toMatchObject({ code: "QF_INVALID_ARGUMENT" });
  });
});

describe("MemoryAdapter: manage", () => {
  it("cleans the oldest finished jobs first, at most limit, only before the cutoff", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue(["a", "b", "c", "d"].map((id) => job({ id })));
    const claimed = await claimAll(adapter);
    for (const j of claimed) {
      clock.t += 10;
      await adapter.settle("q", [
        { kind: "complete", id: j.id, token: j.leaseToken, result: null },
      ]);
    }
    // Finished at T0+10, +20, +30, +40.
    expect(
      await adapter.clean({ queue: "q", state: "completed", finishedBefore: T0 + 35, limit: 2 }),
    ).toBe(2);
    expect(await listAll(adapter, "completed", 10)).toEqual([["c", "d"]]);
    expect(
      await adapter.clean({ queue: "q", state: "completed", finishedBefore: T0 + 35, limit: 9 }),
    ).toBe(1);
    expect(await adapter.getJob("q", "c")).toBeNull();
    expect((await adapter.counts("q")).completed).toBe(1);
  });

  it("retries dead jobs with a payload patch, keeping errors, and respects live dedup keys", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([
      job({ id: "obj", payload: { to: "a", n: 1 } }),
      job({ id: "arr", payload: [1] }),
      job({ id: "dup", dedupKey: "k" }),
    ]);
    await killAll(adapter, await claimAll(adapter), () => "Boom");
    await adapter.enqueue([job({ id: "holder", dedupKey: "k" })]);
    clock.t += 7;
    const moved = await adapter.retryJobs({
      queue: "q",
      ids: ["obj", "arr", "dup", "missing", "holder"],
      payloadPatch: { to: "b" },
    });
    expect(moved).toEqual(["obj"]);
    expect(await adapter.getJob("q", "obj")).toMatchObject({
      state: "waiting",
      payload: { to: "b", n: 1 },
      attempts: 0,
      stalls: 0,
      finishedAt: null,
      runAt: T0 + 7,
      errors: [{ name: "Boom" }],
    });
    expect(await adapter.retryJobs({ queue: "q", ids: ["arr"], payloadPatch: null })).toEqual([
      "arr",
    ]);
    expect((await adapter.getJob("q", "dup"))?.state).toBe("dead");
  });

  it("refuses to remove an active job", async () => {
    const { adapter } = setup();
    await adapter.enqueue([job({ id: "a" })]);
    await claimAll(adapter);
    expect(await adapter.remove("q", "a")).toBe("active");
    expect(await adapter.remove("q", "nope")).toBe("not_found");
  });

  it("summarises dead letters", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([job({ name: "mail" }), job({ name: "mail" }), job({ name: "sms" })]);
    const claimed = await claimAll(adapter);
    for (const [i, j] of claimed.entries()) {
      clock.t = T0 + i * 100;
      await killAll(adapter, [j], () => (i === 0 ? "Timeout" : "Boom"));
    }
    // Ages are measured at the call: two days later, all three are in the under-7-days bucket.
    clock.t = T0 + 2 * 86_400_000;
    expect(await adapter.deadLetterStats("q")).toEqual({
      total: 3,
      byName: { mail: 2, sms: 1 },
      byError: { Timeout: 1, Boom: 2 },
      byErrorClass: { unknown: 3 },
      oldestFinishedAt: T0,
      newestFinishedAt: T0 + 200,
      byAge: [
        { maxAgeMs: 3_600_000, count: 0 },
        { maxAgeMs: 86_400_000, count: 0 },
        { maxAgeMs: 604_800_000, count: 3 },
        { maxAgeMs: 2_592_000_000, count: 0 },
        { maxAgeMs: null, count: 0 },
      ],
    });
  });

  it("advances a schedule for exactly one expected run", async () => {
    const { adapter } = setup();
    const schedule: ScheduleRecord = {
      queue: "q",
      id: "nightly",
      spec: { kind: "every", intervalMs: 1000 },
      job: {
        name: "task",
        payload: null,
        priority: 5,
        maxAttempts: 1,
        backoff: null,
        timeoutMs: null,
        metadata: {},
      },
      nextRunAt: T0,
    };
    await adapter.upsertSchedule(schedule);
    schedule.nextRunAt = 0;
    const request = { queue: "q", id: "nightly", expectedRunAt: T0, nextRunAt: T0 + 1000 };
    const results = await Promise.all([
      adapter.advanceSchedule(request),
      adapter.advanceSchedule(request),
    ]);
    expect(results.sort()).toEqual([false, true]);
    expect((await adapter.listSchedules("q"))[0]?.nextRunAt).toBe(T0 + 1000);
    expect(await adapter.removeSchedule("q", "nightly")).toBe(true);
    expect(await adapter.listSchedules("q")).toEqual([]);
  });
});

describe("MemoryAdapter: wake-up and close", () => {
  it("wakes a waiter on enqueue, a delayed one too, and detaches its abort listener", async () => {
    const { adapter } = setup();
    for (const added of [job(), job({ delayMs: 60_000 })]) {
      const signal = new AbortController().signal;
      let woken = false;
      const waiting = adapter.waitForWork("q", 60_000, signal).then(() => {
        woken = true;
      });
      expect(getEventListeners(signal, "abort")).toHaveLength(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(woken).toBe(false);
      // A delayed job wakes the waiter so that its next claim learns the due time.
      await adapter.enqueue([added]);
      await waiting;
      expect(woken).toBe(true);
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
      await adapter.claim({
        queue: "q",
        workerId: "w",
        limit: 10,
        leaseMs: 60_000,
        priorityRange: null,
      });
    }
  });

  it("ends a wait when a delayed job already in the queue falls due", async () => {
    vi.useFakeTimers();
    try {
      const { adapter, clock } = setup();
      await adapter.enqueue([job({ delayMs: 200 }), job({ delayMs: 5_000 })]);
      let woken = false;
      const waiting = adapter.waitForWork("q", 60_000, new AbortController().signal).then(() => {
        woken = true;
      });
      clock.t += 199;
      await vi.advanceTimersByTimeAsync(199);
      expect(woken).toBe(false);
      clock.t += 1;
      await vi.advanceTimersByTimeAsync(1);
      expect(woken).toBe(true);
      await waiting;
      expect(await claimAll(adapter)).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("wakes a waiter when a debounced add moves a delayed job's due time", async () => {
    const { adapter } = setup();
    const debounced = { dedupKey: "doc", dedupMode: "debounce" } as const;
    await adapter.enqueue([job({ ...debounced, delayMs: 60_000 })]);
    let woken = false;
    const waiting = adapter.waitForWork("q", 60_000, new AbortController().signal).then(() => {
      woken = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(false);
    const [held] = await adapter.enqueue([job({ ...debounced, delayMs: 200 })]);
    expect(held?.created).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(true);
    await waiting;
  });

  it("resolves at once when work is already claimable, and on abort", async () => {
    const { adapter } = setup();
    await adapter.enqueue([job()]);
    await adapter.waitForWork("q", 60_000, new AbortController().signal);
    const controller = new AbortController();
    const waiting = adapter.waitForWork("other", 60_000, controller.signal);
    controller.abort();
    await waiting;
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("wakes waiters on resume", async () => {
    const { adapter } = setup();
    await adapter.updateSettings("q", { paused: true });
    await adapter.enqueue([job()]);
    let woken = false;
    const waiting = adapter.waitForWork("q", 60_000, new AbortController().signal).then(() => {
      woken = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(false);
    await adapter.updateSettings("q", { paused: false });
    await waiting;
    expect(woken).toBe(true);
  });

  it("resolves pending waiters on close and refuses calls afterwards", async () => {
    const { adapter } = setup();
    const waiting = adapter.waitForWork("q", 60_000, new AbortController().signal);
    await adapter.close();
    await waiting;
    await expect(adapter.counts("q")).rejects.toMatchObject({
      name: "QueueFlowError",
      code: "QF_CLOSED",
    });
    expect((await adapter.health()).ok).toBe(false);
    await adapter.close();
  });
});
