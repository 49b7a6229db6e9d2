import type { ClaimedJob } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  claim,
  claimAll,
  claimOne,
  deadline,
  enqueueMany,
  enqueueOne,
  expectBetween,
  expectCounts,
  getJobOrThrow,
  raceDeadline,
  scaled,
  settleOne,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitFor,
  waitForClock,
} from "./helpers.js";

/**
 * Claim: due jobs are leased in contract order (priority, then due time, then insertion),
 * each to exactly one claimer, with a fresh token, even when many claimers race.
 */
export function claimTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("claim", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("leases a job: active, one more attempt, a token, a lease end and the worker", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-lease");
      const job = await enqueueOne(a, queue);
      const before = await a.now();
      const result = await a.claim({
        queue,
        workerId: "worker-a",
        limit: 1,
        leaseMs: 30_000,
        priorityRange: null,
      });
      const after = await a.now();

      expect(result.jobs).toHaveLength(1);
      const claimed = result.jobs[0]!;
      expect(claimed).toMatchObject({
        id: job.id,
        state: "active",
        attempts: 1,
        workerId: "worker-a",
        payload: job.payload,
      });
      expect(typeof claimed.leaseToken).toBe("string");
      expect(claimed.leaseToken.length).toBeGreaterThan(0);
      expectBetween(claimed.leaseExpiresAt, before + 30_000, after + 30_000, "leaseExpiresAt");
      expectBetween(claimed.startedAt, before, after, "startedAt");
      expect(await getJobOrThrow(a, queue, job.id)).toMatchObject({
        state: "active",
        attempts: 1,
        leaseToken: claimed.leaseToken,
        leaseExpiresAt: claimed.leaseExpiresAt,
        workerId: "worker-a",
      });
      await expectCounts(a, queue, { active: 1 });
    });

    it("claims nothing from an empty queue", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-empty");
      const result = await a.claim({
        queue,
        workerId: "w",
        limit: 10,
        leaseMs: 30_000,
        priorityRange: null,
      });

      expect(result.jobs).toEqual([]);
      await expectCounts(a, queue, {});
    });

    it("claims at most `limit` jobs per call", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-limit");
      await enqueueMany(a, queue, 10);

      expect(await claim(a, queue, { limit: 3 })).toHaveLength(3);
      await expectCounts(a, queue, { waiting: 7, active: 3 });
      expect(await claim(a, queue, { limit: 100 })).toHaveLength(7);
      await expectCounts(a, queue, { active: 10 });
    });

    it("never claims a job that is already active", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-active");
      await enqueueMany(a, queue, 5);
      const first = await claim(a, queue, { limit: 5 });

      expect(first).toHaveLength(5);
      expect(await claim(a, queue, { limit: 5, workerId: "other" })).toEqual([]);
      await expectCounts(a, queue, { active: 5 });
    });

    it("issues a distinct lease token to every claimed job", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-tokens");
      await enqueueMany(a, queue, 20);
      const claimed = await claimAll(a, queue, { limit: 7 });

      expect(claimed).toHaveLength(20);
      expect(new Set(claimed.map((j) => j.leaseToken)).size).toBe(20);
    });

    it("claims higher priority first, whatever the insertion or due order", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-priority");
      const now = await a.now();
      const priorities = [0, 20, 5, 15, 10, 1, 9, 14, 4];
      for (const [i, priority] of priorities.entries()) {
        // Later-inserted, higher-priority jobs get earlier due times on purpose for half of
        // them, so an adapter ordering by due time first fails here.
        await enqueueOne(a, queue, { priority, runAt: now - (i % 2 === 0 ? 1_000 : 50_000) });
      }
      const claimed = await claimAll(a, queue, { limit: 4 });

      expect(claimed.map((j) => j.priority)).toEqual([...priorities].sort((x, y) => y - x));
    });

    it("keeps insertion order among jobs of one priority due at the same time", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-fifo-batch");
      const runAt = (await a.now()) - 1_000;
      const batch = await enqueueMany(a, queue, 25, () => ({ runAt }));
      const claimed = await claimAll(a, queue, { limit: 4 });

      expect(claimed.map((j) => j.id)).toEqual(batch.map((j) => j.id));
    });

    it("claims FIFO by insertion across separate enqueues", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-fifo-calls");
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await enqueueOne(a, queue)).id);
      const claimed = await claimAll(a, queue, { limit: 3 });

      expect(claimed.map((j) => j.id)).toEqual(ids);
    });

    it("claims by due time before insertion within a priority", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-due-order");
      const t0 = await a.now();
      const soon = await enqueueOne(a, queue, { runAt: t0 + scaled(o, 200) });
      const now = await enqueueOne(a, queue, { runAt: t0 });
      const overdue = await enqueueOne(a, queue, { runAt: t0 - 60_000 });
      await waitForClock(a, soon.runAt, deadline(o));
      const later = await enqueueOne(a, queue);
      const claimed = await claimAll(a, queue, { limit: 10 });

      expect(claimed.map((j) => j.id)).toEqual([overdue.id, now.id, soon.id, later.id]);
    });

    it("claims only jobs whose priority lies in priorityRange, highest first", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-range");
      await enqueueMany(a, queue, 21, (i) => ({ priority: i }));
      const claimed = await claimAll(a, queue, { limit: 3, priorityRange: { min: 5, max: 9 } });

      expect(claimed.map((j) => j.priority)).toEqual([9, 8, 7, 6, 5]);
      await expectCounts(a, queue, { waiting: 16, active: 5 });
    });

    it("claims nothing when no due job falls in priorityRange", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-range-empty");
      await enqueueMany(a, queue, 3, () => ({ priority: 3 }));

      expect(await claim(a, queue, { limit: 10, priorityRange: { min: 10, max: 20 } })).toEqual([]);
      expect(await claim(a, queue, { limit: 10, priorityRange: { min: 3, max: 3 } })).toHaveLength(
        3,
      );
    });

    it("does not claim a delayed job before it is due, and claims it once due", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-delayed");
      const job = await enqueueOne(a, queue, { delayMs: scaled(o, 500) });

      expect(await claim(a, queue)).toEqual([]);
      await expectCounts(a, queue, { delayed: 1 });
      const claimed = await waitFor(async () => (await claim(a, queue))[0], {
        timeoutMs: deadline(o),
        message: "the delayed job to become claimable",
      });
      expect(claimed.id).toBe(job.id);
      expect(await a.now()).toBeGreaterThanOrEqual(job.runAt);
    });

    it("reports no wake-up time earlier than the next delayed job's due time", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-next-wake");
      const before = await a.now();
      const job = await enqueueOne(a, queue, { delayMs: 60_000 });
      const result = await a.claim({
        queue,
        workerId: "w",
        limit: 1,
        leaseMs: 30_000,
        priorityRange: null,
      });

      expect(result.jobs).toEqual([]);
      if (result.nextWakeAt !== null) {
        expectBetween(result.nextWakeAt, before, job.runAt, "nextWakeAt");
      }
    });

    it("never claims jobs of another queue", async () => {
      const a = adapter();
      const q1 = uniqueQueue("claim-iso-a");
      const q2 = uniqueQueue("claim-iso-b");
      await enqueueMany(a, q1, 3);
      const mine = await enqueueOne(a, q2);
      const claimed = await claim(a, q2, { limit: 10 });

      expect(claimed.map((j) => j.id)).toEqual([mine.id]);
      await expectCounts(a, q1, { waiting: 3 });
    });

    it("never leases one job to two claimers", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-race-few");
      await enqueueMany(a, queue, 5);
      const results = await Promise.all(
        Array.from({ length: o.concurrency }, (_, i) =>
          claim(a, queue, { limit: 1, workerId: `racer-${i}` }),
        ),
      );
      const claimed = results.flat();

      expect(claimed).toHaveLength(5);
      expect(new Set(claimed.map((j) => j.id)).size).toBe(5);
      await expectCounts(a, queue, { active: 5 });
    });

    it("completes every job exactly once with many concurrent claimers", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-race-many");
      const jobs = await enqueueMany(a, queue, 200, (i) => ({ payload: { i } }));
      const claimedBy = new Map<string, number>();
      const tokens = new Set<string>();
      const outcomes: string[] = [];
      const stopAt = Date.now() + raceDeadline(o);

      await Promise.all(
        Array.from({ length: o.concurrency }, async (_, worker) => {
          for (;;) {
            if (Date.now() > stopAt) throw new Error("claimers did not drain the queue in time");
            const batch: ClaimedJob[] = await claim(a, queue, {
              limit: 5,
              workerId: `racer-${worker}`,
            });
            if (batch.length === 0) return;
            for (const j of batch) {
              claimedBy.set(j.id, (claimedBy.get(j.id) ?? 0) + 1);
              tokens.add(j.leaseToken);
            }
            outcomes.push(
              ...(await a.settle(
                queue,
                batch.map((j) => ({
                  kind: "complete" as const,
                  id: j.id,
                  token: j.leaseToken,
                  result: { by: worker },
                })),
              )),
            );
          }
        }),
      );

      expect(claimedBy.size).toBe(200);
      expect([...claimedBy.values()].every((n) => n === 1)).toBe(true);
      expect(tokens.size).toBe(200);
      expect(outcomes).toHaveLength(200);
      expect(outcomes.every((x) => x === "ok")).toBe(true);
      await expectCounts(a, queue, { completed: 200 });
      const sample = await getJobOrThrow(a, queue, jobs[123]!.id);
      expect(sample).toMatchObject({ state: "completed", attempts: 1, payload: { i: 123 } });
    });

    it("never claims a completed job again", async () => {
      const a = adapter();
      const queue = uniqueQueue("claim-after-complete");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      expect(
        await settleOne(a, queue, {
          kind: "complete",
          id: claimed.id,
          token: claimed.leaseToken,
          result: null,
        }),
      ).toBe("ok");

      expect(await claim(a, queue, { limit: 10 })).toEqual([]);
      await expectCounts(a, queue, { completed: 1 });
    });
  });
}
