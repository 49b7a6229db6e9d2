import { describe, expect, it } from "vitest";
import type { ClaimRequest } from "../contract.js";
import type { Json } from "../job.js";
import type { MemoryAdapter } from "./memory-adapter.js";
import { job, setup, T0 } from "./test-support.js";

function claimReq(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    queue: "q",
    workerId: "w1",
    limit: 10,
    leaseMs: 1000,
    priorityRange: null,
    ...overrides,
  };
}

async function claimIds(adapter: MemoryAdapter, overrides: Partial<ClaimRequest> = {}) {
  const { jobs } = await adapter.claim(claimReq(overrides));
  return jobs.map((j) => j.id);
}

describe("MemoryAdapter: enqueue and isolation", () => {
  it("never lets callers alias stored state, in or out", async () => {
    const { adapter } = setup();
    const input = job({ id: "a", payload: { list: [1, 2] }, metadata: { tag: "x" } });
    const [result] = await adapter.enqueue([input]);
    (input.payload as { list: number[] }).list.push(3);
    input.metadata.tag = "mutated";
    (result?.job.payload as { list: number[] }).list.push(4);
    const [claimed] = (await adapter.claim(claimReq())).jobs;
    (claimed?.payload as { list: number[] }).list.push(5);
    claimed?.errors.push({ attempt: 1, name: "E", message: "m", at: 0 });
    const stored = await adapter.getJob("q", "a");
    expect(stored?.payload).toEqual({ list: [1, 2] });
    expect(stored?.metadata).toEqual({ tag: "x" });
    expect(stored?.errors).toEqual([]);
  });

  it("returns the existing job for a known id or a live dedup key, and frees the key at the end", async () => {
    const { adapter } = setup();
    const [first] = await adapter.enqueue([job({ id: "a", dedupKey: "k" })]);
    expect(first?.created).toBe(true);
    const [sameId, sameKey] = await adapter.enqueue([
      job({ id: "a", name: "other" }),
      job({ id: "b", dedupKey: "k" }),
    ]);
    expect(sameId).toMatchObject({ created: false, job: { id: "a", name: "task" } });
    expect(sameKey).toMatchObject({ created: false, job: { id: "a" } });
    const [claimed] = (await adapter.claim(claimReq())).jobs;
    await adapter.settle("q", [
      { kind: "complete", id: "a", token: claimed?.leaseToken ?? "", result: null },
    ]);
    const [afterDone] = await adapter.enqueue([job({ id: "b", dedupKey: "k" })]);
    expect(afterDone).toMatchObject({ created: true, job: { id: "b" } });
  });

  it("rejects a transaction handle and out-of-range priorities", async () => {
    const { adapter } = setup();
    await expect(adapter.enqueue([job()], { tx: {} })).rejects.toMatchObject({
      code: "QF_NOT_SUPPORTED",
    });
    await expect(adapter.enqueue([job({ priority: 21 })])).rejects.toMatchObject({
      code: "QF_INVALID_ARGUMENT",
    });
  });
});

describe("MemoryAdapter: claim order", () => {
  it("claims by priority, then due time, then insertion", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([
      job({ id: "low-1", priority: 1 }),
      job({ id: "high-late", priority: 10, runAt: T0 - 10 }),
      job({ id: "high-early", priority: 10, runAt: T0 - 20 }),
      job({ id: "high-seq-1", priority: 10, runAt: T0 - 10 }),
      job({ id: "low-2", priority: 1 }),
      job({ id: "top-delayed", priority: 20, delayMs: 50 }),
    ]);
    expect(await claimIds(adapter, { limit: 2 })).toEqual(["high-early", "high-late"]);
    clock.t += 50;
    expect(await claimIds(adapter)).toEqual(["top-delayed", "high-seq-1", "low-1", "low-2"]);
  });

  it("claims only within the priority range", async () => {
    const { adapter } = setup();
    await adapter.enqueue([
      job({ id: "p20", priority: 20 }),
      job({ id: "p12", priority: 12 }),
      job({ id: "p10", priority: 10 }),
      job({ id: "p3", priority: 3 }),
    ]);
    expect(await claimIds(adapter, { priorityRange: { min: 10, max: 14 } })).toEqual([
      "p12",
      "p10",
    ]);
    expect(await claimIds(adapter, { priorityRange: { min: 0, max: 4 } })).toEqual(["p3"]);
    expect(await claimIds(adapter)).toEqual(["p20"]);
  });

  it("skips jobs cancelled or removed from the middle of the heap", async () => {
    const { adapter } = setup();
    const ids = Array.from({ length: 500 }, (_, i) => `m${i}`);
    await adapter.enqueue(ids.map((id) => job({ id })));
    // Enough removals to force the waiting heap to compact along the way.
    const gone = ids.filter((_, i) => i % 4 !== 0);
    for (const [i, id] of gone.entries()) {
      if (i % 2 === 0) expect(await adapter.cancel("q", id)).toBe("cancelled");
      else expect(await adapter.remove("q", id)).toBe("removed");
    }
    const claimed = await claimIds(adapter, { limit: 1000 });
    expect(claimed).toEqual(ids.filter((_, i) => i % 4 === 0));
    expect((await adapter.counts("q")).waiting).toBe(0);
  });

  it("hands out fresh, distinct lease tokens and counts the attempt", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([job({ id: "a" }), job({ id: "b" })]);
    const { jobs } = await adapter.claim(claimReq({ workerId: "w9", leaseMs: 250 }));
    expect(new Set(jobs.map((j) => j.leaseToken)).size).toBe(2);
    expect(jobs[0]).toMatchObject({
      state: "active",
      attempts: 1,
      startedAt: clock.t,
      leaseExpiresAt: clock.t + 250,
      workerId: "w9",
    });
  });
});

describe("MemoryAdapter: the fake clock drives delayed jobs", () => {
  it("reports a delayed job as waiting once due, everywhere, without a claim", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([job({ id: "d", delayMs: 100 })]);
    expect((await adapter.counts("q")).delayed).toBe(1);
    const empty = await adapter.claim(claimReq());
    expect(empty).toEqual({ jobs: [], nextWakeAt: T0 + 100 });
    clock.t = T0 + 99;
    expect((await adapter.getJob("q", "d"))?.state).toBe("delayed");
    clock.t = T0 + 100;
    expect((await adapter.getJob("q", "d"))?.state).toBe("waiting");
    expect(await adapter.counts("q")).toMatchObject({ waiting: 1, delayed: 0 });
    const waiting = await adapter.listJobs({ queue: "q", state: "waiting", limit: 10 });
    expect(waiting.jobs.map((j) => j.id)).toEqual(["d"]);
    expect(await adapter.promote("q", "d")).toBe(false);
    expect(await claimIds(adapter)).toEqual(["d"]);
  });

  it("promote makes a delayed job due now", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([job({ id: "d", delayMs: 10_000 }), job({ id: "w" })]);
    clock.t += 5;
    expect(await adapter.promote("q", "d")).toBe(true);
    expect((await adapter.getJob("q", "d"))?.runAt).toBe(T0 + 5);
    expect(await claimIds(adapter)).toEqual(["w", "d"]);
  });
});

describe("MemoryAdapter: limits", () => {
  it("enforces a sliding rate window and says when it frees a slot", async () => {
    const { adapter, clock } = setup();
    await adapter.updateSettings("q", { rateLimit: { max: 2, windowMs: 1000 } });
    await adapter.enqueue(Array.from({ length: 10 }, () => job()));
    expect((await adapter.claim(claimReq({ limit: 1 }))).jobs).toHaveLength(1);
    clock.t = T0 + 500;
    expect((await adapter.claim(claimReq())).jobs).toHaveLength(1);
    expect(await adapter.claim(claimReq())).toEqual({ jobs: [], nextWakeAt: T0 + 1000 });
    clock.t = T0 + 999;
    expect((await adapter.claim(claimReq())).jobs).toHaveLength(0);
    // The start at T0 left the window; the one at T0+500 still counts.
    clock.t = T0 + 1000;
    const next = await adapter.claim(claimReq());
    expect(next.jobs).toHaveLength(1);
    expect(next.nextWakeAt).toBe(T0 + 1500);
  });

  it("caps active jobs at the queue's concurrency", async () => {
    const { adapter } = setup();
    await adapter.updateSettings("q", { concurrency: 3 });
    await adapter.enqueue(Array.from({ length: 10 }, () => job()));
    const first = (await adapter.claim(claimReq())).jobs;
    expect(first).toHaveLength(3);
    expect((await adapter.claim(claimReq())).jobs).toHaveLength(0);
    const done = first[0];
    await adapter.settle("q", [
      { kind: "complete", id: done?.id ?? "", token: done?.leaseToken ?? "", result: 1 },
    ]);
    expect((await adapter.claim(claimReq())).jobs).toHaveLength(1);
  });

  it("claims nothing while paused", async () => {
    const { adapter } = setup();
    await adapter.enqueue([job()]);
    await adapter.updateSettings("q", { paused: true });
    expect(await adapter.claim(claimReq())).toEqual({ jobs: [], nextWakeAt: null });
    expect(await adapter.updateSettings("q", { paused: false })).toEqual({
      paused: false,
      concurrency: null,
      rateLimit: null,
    });
    expect((await adapter.claim(claimReq())).jobs).toHaveLength(1);
  });
});

describe("MemoryAdapter: settling and fencing", () => {
  async function claimOne(adapter: MemoryAdapter, payload: Json = null) {
    await adapter.enqueue([job({ id: "a", payload })]);
    const [claimed] = (await adapter.claim(claimReq())).jobs;
    if (claimed === undefined) throw new Error("nothing claimed");
    return claimed;
  }

  it("refuses every call carrying a stale token", async () => {
    const { adapter, clock } = setup();
    const first = await claimOne(adapter);
    clock.t += 2000;
    expect(await adapter.recoverStalled({ queue: "q", maxStalls: 5, limit: 10 })).toEqual({
      recovered: ["a"],
      dead: [],
    });
    const [second] = (await adapter.claim(claimReq())).jobs;
    expect(second?.attempts).toBe(2);
    const stale = { id: "a", token: first.leaseToken };
    expect(await adapter.settle("q", [{ kind: "complete", ...stale, result: "old" }])).toEqual([
      "lease_lost",
    ]);
    expect(await adapter.extendLeases("q", [stale], 1000)).toEqual([false]);
    expect(await adapter.updateProgress("q", "a", first.leaseToken, 50)).toBe(false);
    const current = { id: "a", token: second?.leaseToken ?? "" };
    expect(await adapter.updateProgress("q", "a", current.token, 50)).toBe(true);
    expect(await adapter.settle("q", [{ kind: "complete", ...current, result: "new" }])).toEqual([
      "ok",
    ]);
    expect(await adapter.getJob("q", "a")).toMatchObject({
      state: "completed",
      result: "new",
      progress: 50,
      leaseToken: null,
      finishedAt: clock.t,
    });
  });

  it("voids the lease of a cancelled active job", async () => {
    const { adapter } = setup();
    const claimed = await claimOne(adapter);
    expect(await adapter.cancel("q", "a")).toBe("cancelled");
    expect(await adapter.cancel("q", "a")).toBe("cancelled");
    expect(await adapter.cancel("q", "missing")).toBeNull();
    const outcome = await adapter.settle("q", [
      { kind: "complete", id: "a", token: claimed.leaseToken, result: null },
    ]);
    expect(outcome).toEqual(["lease_lost"]);
    expect(await adapter.remove("q", "a")).toBe("removed");
  });

  it("retries with the error kept, and a snooze spends no attempt", async () => {
    const { adapter, clock } = setup();
    const claimed = await claimOne(adapter);
    const error = { attempt: 1, name: "Boom", message: "no", at: clock.t };
    await adapter.settle("q", [
      { kind: "retry", id: "a", token: claimed.leaseToken, error, delayMs: 100 },
    ]);
    expect(await adapter.getJob("q", "a")).toMatchObject({
      state: "delayed",
      runAt: T0 + 100,
      errors: [error],
      leaseToken: null,
    });
    clock.t += 100;
    const [second] = (await adapter.claim(claimReq())).jobs;
    expect(second?.attempts).toBe(2);
    await adapter.settle("q", [
      { kind: "snooze", id: "a", token: second?.leaseToken ?? "", delayMs: 0 },
    ]);
    expect(await adapter.getJob("q", "a")).toMatchObject({ state: "waiting", attempts: 1 });
  });

  it("moves a job that stalls too often to dead with a StalledError", async () => {
    const { adapter, clock } = setup();
    await claimOne(adapter);
    clock.t += 1001;
    await adapter.recoverStalled({ queue: "q", maxStalls: 1, limit: 10 });
    await adapter.claim(claimReq());
    clock.t += 1001;
    expect(await adapter.recoverStalled({ queue: "q", maxStalls: 1, limit: 10 })).toEqual({
      recovered: [],
      dead: ["a"],
    });
    const dead = await adapter.getJob("q", "a");
    expect(dead).toMatchObject({ state: "dead", stalls: 2, finishedAt: clock.t });
    expect(dead?.errors.at(-1)).toMatchObject({ name: "StalledError", attempt: 2 });
    expect(dead?.errors.at(-1)?.message).toContain("lease expired 2 times");
  });

  it("recovers only expired leases, earliest first, bounded by the limit", async () => {
    const { adapter, clock } = setup();
    await adapter.enqueue([job({ id: "a" }), job({ id: "b" }), job({ id: "c" })]);
    const [a, b, c] = (await adapter.claim(claimReq({ limit: 3, leaseMs: 100 }))).jobs;
    clock.t += 50;
    await adapter.extendLeases("q", [{ id: "a", token: a?.leaseToken ?? "" }], 1000);
    await adapter.settle("q", [
      { kind: "complete", id: "b", token: b?.leaseToken ?? "", result: null },
    ]);
    clock.t = T0 + 100;
    // Expiry is strictly before now: a lease ending at this instant still holds.
    expect(
      (await adapter.recoverStalled({ queue: "q", maxStalls: 5, limit: 10 })).recovered,
    ).toEqual([]);
    clock.t = T0 + 101;
    expect(await adapter.recoverStalled({ queue: "q", maxStalls: 5, limit: 10 })).toEqual({
      recovered: [c?.id],
      dead: [],
    });
    expect((await adapter.getJob("q", "a"))?.state).toBe("active");
  });
});
