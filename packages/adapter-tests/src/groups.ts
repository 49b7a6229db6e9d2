import type { ClaimedJob, StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  claim,
  claimAndExpire,
  completeJob,
  deadline,
  enqueueOne,
  getJobOrThrow,
  newJob,
  raceDeadline,
  scaled,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitForClock,
} from "./helpers.js";

/** Enqueue `count` jobs of `group` (in order, one call) and return their ids. */
async function addToGroup(
  a: StorageAdapter,
  queue: string,
  group: string | undefined,
  count: number,
  priority = 5,
): Promise<string[]> {
  const jobs = Array.from({ length: count }, () =>
    newJob(queue, { priority, ...(group === undefined ? {} : { group }) }),
  );
  const results = await a.enqueue(jobs);
  return results.map((r) => r.job.id);
}

/** Claim one job at a time, completing each, and return the groups in start order. */
async function drainOneByOne(a: StorageAdapter, queue: string, max: number): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < max; i++) {
    const [job] = await claim(a, queue, { limit: 1 });
    if (job === undefined) break;
    order.push(job.group ?? "-");
    expect(await completeJob(a, job)).toBe("ok");
  }
  return order;
}

function countBy(jobs: ClaimedJob[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const j of jobs) counts[j.group ?? "-"] = (counts[j.group ?? "-"] ?? 0) + 1;
  return counts;
}

/**
 * Groups (capability `groups`): per-group concurrency and rate limits enforced in the
 * claim, serial groups in order, round-robin fairness that a huge backlog cannot break,
 * and the throttle and debounce dedup modes.
 */
export function groupTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("groups", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("stores a job's group and omits it for ungrouped jobs", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-store");
      const grouped = await enqueueOne(a, queue, { group: "tenant-1" });
      const plain = await enqueueOne(a, queue);
      expect(grouped.group).toBe("tenant-1");
      expect((await getJobOrThrow(a, queue, grouped.id)).group).toBe("tenant-1");
      expect((await getJobOrThrow(a, queue, plain.id)).group).toBeUndefined();
      const [claimed] = await claim(a, queue, { limit: 1 });
      expect(claimed?.group).toBe("tenant-1");
    });

    it("keeps each group at its groupConcurrency and frees a slot on settle", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-cap");
      await a.updateSettings(queue, { groupConcurrency: 2 });
      expect((await a.getSettings(queue)).groupConcurrency).toBe(2);
      await addToGroup(a, queue, "a", 10);
      await addToGroup(a, queue, "b", 10);

      const first = await claim(a, queue, { limit: 100 });
      expect(countBy(first)).toEqual({ a: 2, b: 2 });
      expect(await claim(a, queue, { limit: 100 })).toEqual([]);

      const doneA = first.find((j) => j.group === "a")!;
      expect(await completeJob(a, doneA)).toBe("ok");
      expect(countBy(await claim(a, queue, { limit: 100 }))).toEqual({ a: 1 });
    });

    it("frees a group's slot when its job completes with remove", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-remove");
      await a.updateSettings(queue, { groupConcurrency: 1 });
      const [first, second] = await addToGroup(a, queue, "a", 2);
      const [running] = await claim(a, queue, { limit: 10 });
      expect(running?.id).toBe(first);
      expect(await claim(a, queue, { limit: 10 })).toEqual([]);
      const outcomes = await a.settle(queue, [
        {
          kind: "complete",
          id: running!.id,
          token: running!.leaseToken,
          result: null,
          remove: true,
        },
      ]);
      expect(outcomes).toEqual(["ok"]);
      expect(await a.getJob(queue, first!)).toBeNull();
      expect((await claim(a, queue, { limit: 10 })).map((j) => j.id)).toEqual([second]);
    });

    it("with groupConcurrency 1, runs a group's jobs one at a time, in order", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-serial");
      await a.updateSettings(queue, { groupConcurrency: 1 });
      const ids = await addToGroup(a, queue, "doc-7", 5);

      const started: string[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = await claim(a, queue, { limit: 10 });
        expect(batch).toHaveLength(1);
        started.push(batch[0]!.id);
        expect(await claim(a, queue, { limit: 10 })).toEqual([]);
        expect(await completeJob(a, batch[0]!)).toBe("ok");
      }
      expect(started).toEqual(ids);
    });

    it("orders by priority within a group, never across groups", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-priority");
      const [low] = await addToGroup(a, queue, "a", 1, 1);
      const [high] = await addToGroup(a, queue, "a", 1, 15);
      await addToGroup(a, queue, "b", 1, 0);

      const order = await claim(a, queue, { limit: 3 });
      expect(order.map((j) => j.id).indexOf(high!)).toBeLessThan(
        order.map((j) => j.id).indexOf(low!),
      );
      // b's low-priority job is not starved by a's higher ones: it starts in a's first turns.
      expect(order.slice(0, 2).map((j) => j.group)).toContain("b");
    });

    it("lets a small group start within a few claims behind a large group's backlog", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-fair");
      await addToGroup(a, queue, "big", 300);
      await addToGroup(a, queue, "small", 3);

      const order = await drainOneByOne(a, queue, 8);
      expect(order.slice(0, 6).filter((g) => g === "small")).toHaveLength(3);

      // The same in one batch claim: the batch takes turns too.
      const batchQueue = uniqueQueue("groups-fair-batch");
      await addToGroup(a, batchQueue, "big", 300);
      await addToGroup(a, batchQueue, "small", 3);
      expect(countBy(await claim(a, batchQueue, { limit: 10 })).small).toBe(3);
    });

    it("gives ungrouped jobs one turn among the groups", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-ungrouped");
      await addToGroup(a, queue, undefined, 50);
      await addToGroup(a, queue, "g1", 2);
      await addToGroup(a, queue, "g2", 2);

      const first = countBy(await claim(a, queue, { limit: 6 }));
      expect(first).toEqual({ "-": 2, g1: 2, g2: 2 });
    });

    it("takes turns across many groups with skewed backlogs, each starting within one round", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-many");
      const groups = Array.from({ length: 40 }, (_, i) => `t${i}`);
      await a.enqueue(
        groups.flatMap((g, i) =>
          Array.from({ length: i === 0 ? 200 : 1 + (i % 3) }, () => newJob(queue, { group: g })),
        ),
      );
      const firstRound = await claim(a, queue, { limit: groups.length });
      expect(new Set(firstRound.map((j) => j.group))).toEqual(new Set(groups));
    });

    it("frees a group's slot when its job is cancelled or its lease is recovered", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-free");
      await a.updateSettings(queue, { groupConcurrency: 1 });
      await addToGroup(a, queue, "a", 3);

      const first = await claim(a, queue, { limit: 5 });
      expect(first).toHaveLength(1);
      expect(await a.cancel(queue, first[0]!.id)).toBe("cancelled");
      const expiring = await claimAndExpire(a, queue, o);
      expect(expiring.group).toBe("a");
      expect(await claim(a, queue, { limit: 5 })).toEqual([]);

      const recovered = await a.recoverStalled({ queue, maxStalls: 5, limit: 10 });
      expect(recovered.recovered).toEqual([expiring.id]);
      const again = await claim(a, queue, { limit: 5 });
      expect(again.map((j) => j.id)).toEqual([expiring.id]);
    });

    it("limits starts per group with groupRateLimit and says when the window frees", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-rate");
      const windowMs = scaled(o, 60_000);
      await a.updateSettings(queue, { groupRateLimit: { max: 2, windowMs } });
      await addToGroup(a, queue, "a", 5);
      await addToGroup(a, queue, "b", 5);

      const before = await a.now();
      const first = await a.claim({
        queue,
        workerId: "w",
        limit: 100,
        leaseMs: 60_000,
        priorityRange: null,
      });
      expect(countBy(first.jobs)).toEqual({ a: 2, b: 2 });
      expect(first.nextWakeAt).not.toBeNull();
      expect(first.nextWakeAt!).toBeGreaterThanOrEqual(before + windowMs - 1_000);
      await Promise.all(first.jobs.map((j) => completeJob(a, j)));
      expect(await claim(a, queue, { limit: 100 })).toEqual([]);

      await a.updateSettings(queue, { groupRateLimit: null });
      expect(countBy(await claim(a, queue, { limit: 100 }))).toEqual({ a: 3, b: 3 });
    });

    it("never lets concurrent claimers exceed a group's cap, and serial groups finish in order", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-race");
      await a.updateSettings(queue, { groupConcurrency: 1 });
      const groups = ["g0", "g1", "g2", "g3", "g4"];
      const expected = new Map<string, string[]>();
      for (const g of groups) expected.set(g, await addToGroup(a, queue, g, 8));

      const active = new Map<string, number>();
      const finished = new Map<string, string[]>();
      let peak = 0;
      let done = 0;
      const total = groups.length * 8;
      const until = Date.now() + raceDeadline(o);
      await Promise.all(
        Array.from({ length: o.concurrency }, async (_, w) => {
          while (done < total && Date.now() < until) {
            const jobs = await claim(a, queue, { limit: 3, workerId: `racer-${w}` });
            if (jobs.length === 0) {
              await new Promise((r) => setTimeout(r, 10));
              continue;
            }
            for (const j of jobs) {
              const n = (active.get(j.group!) ?? 0) + 1;
              active.set(j.group!, n);
              peak = Math.max(peak, n);
            }
            await Promise.all(
              jobs.map(async (j) => {
                finished.set(j.group!, [...(finished.get(j.group!) ?? []), j.id]);
                active.set(j.group!, active.get(j.group!)! - 1);
                expect(await completeJob(a, j)).toBe("ok");
                done++;
              }),
            );
          }
        }),
      );
      expect(done).toBe(total);
      expect(peak).toBe(1);
      for (const g of groups) expect(finished.get(g)).toEqual(expected.get(g));
    });

    it("throttle: returns the first job for the window, even after it finished", async () => {
      const a = adapter();
      const queue = uniqueQueue("dedup-throttle");
      const ttl = scaled(o, 60_000);
      const add = () =>
        a.enqueue([newJob(queue, { dedupKey: "digest", dedupMode: "throttle", dedupTtlMs: ttl })]);
      const [first] = await add();
      expect(first!.created).toBe(true);
      const [claimed] = await claim(a, queue, { limit: 1 });
      expect(await completeJob(a, claimed!)).toBe("ok");

      const [again] = await add();
      expect(again).toMatchObject({
        created: false,
        job: { id: first!.job.id, state: "completed" },
      });

      // A short window lapses: the next add creates a job.
      const short = scaled(o, 150);
      const addShort = () =>
        a.enqueue([newJob(queue, { dedupKey: "ping", dedupMode: "throttle", dedupTtlMs: short })]);
      const [p1] = await addShort();
      const [pClaimed] = await claim(a, queue, { limit: 1 });
      expect(await completeJob(a, pClaimed!)).toBe("ok");
      await waitForClock(a, p1!.job.createdAt + short, deadline(o));
      const [p2] = await addShort();
      expect(p2!.created).toBe(true);
      expect(p2!.job.id).not.toBe(p1!.job.id);
    });

    it("throttle under concurrent adds creates exactly one job", async () => {
      const a = adapter();
      const queue = uniqueQueue("dedup-throttle-race");
      const results = await Promise.all(
        Array.from({ length: o.concurrency }, () =>
          a.enqueue([newJob(queue, { dedupKey: "k", dedupMode: "throttle", dedupTtlMs: 60_000 })]),
        ),
      );
      const flat = results.flat();
      expect(flat.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(flat.map((r) => r.job.id)).size).toBe(1);
    });

    it("debounce: a burst collapses into one job with the last payload, due after the last add", async () => {
      const a = adapter();
      const queue = uniqueQueue("dedup-debounce");
      const delayMs = scaled(o, 60_000);
      const add = (n: number) =>
        a.enqueue([
          newJob(queue, { dedupKey: "doc-1", dedupMode: "debounce", delayMs, payload: { n } }),
        ]);
      const [first] = await add(1);
      expect(first!.created).toBe(true);
      const [second] = await add(2);
      const lastAddAt = await a.now();
      const [third] = await add(3);

      expect(second).toMatchObject({ created: false, job: { id: first!.job.id } });
      expect(third).toMatchObject({
        created: false,
        job: { id: first!.job.id, payload: { n: 3 } },
      });
      const stored = await getJobOrThrow(a, queue, first!.job.id);
      expect(stored).toMatchObject({ state: "delayed", payload: { n: 3 } });
      expect(stored.runAt).toBeGreaterThanOrEqual(lastAddAt + delayMs - 1_000);
      expect((await a.counts(queue)).delayed).toBe(1);
    });

    it("debounce: a job that already started does not absorb a new add", async () => {
      const a = adapter();
      const queue = uniqueQueue("dedup-debounce-active");
      const add = (n: number) =>
        a.enqueue([
          newJob(queue, { dedupKey: "doc-2", dedupMode: "debounce", delayMs: 0, payload: { n } }),
        ]);
      const [first] = await add(1);
      const [running] = await claim(a, queue, { limit: 1 });
      expect(running?.id).toBe(first!.job.id);

      const [second] = await add(2);
      expect(second!.created).toBe(true);
      expect(second!.job).toMatchObject({ state: "waiting", payload: { n: 2 } });
      const [third] = await add(3);
      expect(third).toMatchObject({
        created: false,
        job: { id: second!.job.id, payload: { n: 3 } },
      });
      expect(await completeJob(a, running!)).toBe("ok");
      expect((await a.counts(queue)).waiting).toBe(1);
    });

    it("debounce under concurrent adds leaves exactly one waiting job", async () => {
      const a = adapter();
      const queue = uniqueQueue("dedup-debounce-race");
      const results = await Promise.all(
        Array.from({ length: o.concurrency }, (_, n) =>
          a.enqueue([
            newJob(queue, {
              dedupKey: "k",
              dedupMode: "debounce",
              delayMs: 60_000,
              payload: { n },
            }),
          ]),
        ),
      );
      const flat = results.flat();
      expect(flat.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(flat.map((r) => r.job.id)).size).toBe(1);
      const counts = await a.counts(queue);
      expect(counts.delayed + counts.waiting).toBe(1);
    });

    it("rejects malformed groups and dedup modes with QF_INVALID_ARGUMENT, storing nothing", async () => {
      const a = adapter();
      const queue = uniqueQueue("groups-invalid");
      const typed = { name: "QueueFlowError", code: "QF_INVALID_ARGUMENT" };
      for (const bad of [
        newJob(queue, { group: "" }),
        newJob(queue, { group: "a}b{c" }),
        newJob(queue, { group: "x".repeat(200) }),
        newJob(queue, { group: { $gt: "" } as unknown as string }),
        newJob(queue, { dedupKey: "k", dedupMode: "throttle" }),
        newJob(queue, { dedupMode: "debounce" }),
        newJob(queue, { dedupKey: "k", dedupMode: "sometimes" as unknown as "live" }),
      ]) {
        await expect(a.enqueue([newJob(queue), bad])).rejects.toMatchObject(typed);
      }
      await expect(a.updateSettings(queue, { groupConcurrency: -1 })).rejects.toMatchObject(typed);
      await expect(
        a.updateSettings(queue, { groupRateLimit: { max: 1, windowMs: 0 } }),
      ).rejects.toMatchObject(typed);
      expect((await a.counts(queue)).waiting).toBe(0);
    });
  });
}
