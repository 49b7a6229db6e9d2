import type { RecoverResult } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  claim,
  claimAndExpire,
  claimOne,
  completeJob,
  deadline,
  enqueueMany,
  enqueueOne,
  expectCounts,
  getJobOrThrow,
  scaled,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitForClock,
} from "./helpers.js";

/**
 * Recover: a job whose lease expired (its worker crashed or hung) comes back to waiting, and
 * goes to dead with a recorded stall error once it has stalled more than the limit.
 */
export function recoverTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("recover", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("returns a job whose lease expired to waiting, claimable with a new token", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-stalled");
      const job = await enqueueOne(a, queue, { payload: { keep: "me" } });
      const stale = await claimAndExpire(a, queue, o);

      expect(await a.recoverStalled({ queue, maxStalls: 1, limit: 10 })).toEqual({
        recovered: [job.id],
        dead: [],
      });
      expect(await getJobOrThrow(a, queue, job.id)).toMatchObject({
        state: "waiting",
        stalls: 1,
        attempts: 1,
        leaseToken: null,
        leaseExpiresAt: null,
        payload: { keep: "me" },
      });
      await expectCounts(a, queue, { waiting: 1 });
      const again = await claimOne(a, queue);
      expect(again).toMatchObject({ id: job.id, attempts: 2, stalls: 1 });
      expect(again.leaseToken).not.toBe(stale.leaseToken);
    });

    it("leaves jobs with a live lease alone", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-live");
      await enqueueMany(a, queue, 3);
      const claimed = await claim(a, queue, { limit: 3, leaseMs: 60_000 });

      expect(await a.recoverStalled({ queue, maxStalls: 0, limit: 10 })).toEqual({
        recovered: [],
        dead: [],
      });
      await expectCounts(a, queue, { active: 3 });
      for (const j of claimed) expect(await completeJob(a, j)).toBe("ok");
    });

    it("moves a job that stalled more than maxStalls to dead, recording a stall error", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-dead");
      const job = await enqueueOne(a, queue);

      await claimAndExpire(a, queue, o);
      expect(await a.recoverStalled({ queue, maxStalls: 1, limit: 10 })).toEqual({
        recovered: [job.id],
        dead: [],
      });
      await claimAndExpire(a, queue, o);
      const before = await a.now();
      expect(await a.recoverStalled({ queue, maxStalls: 1, limit: 10 })).toEqual({
        recovered: [],
        dead: [job.id],
      });

      const dead = await getJobOrThrow(a, queue, job.id);
      expect(dead).toMatchObject({ state: "dead", stalls: 2, attempts: 2, leaseToken: null });
      expect(dead.finishedAt).toBeGreaterThanOrEqual(before);
      const last = dead.errors.at(-1);
      expect(last, "a stall that kills the job is recorded as its attempt's error").toBeDefined();
      expect(last?.attempt).toBe(2);
      expect(`${last?.name} ${last?.message}`).toMatch(/stall/i);
      expect(last?.at).toEqual(expect.any(Number));
      expect(last?.errorClass).toBe("stalled");
      expect((await a.deadLetterStats(queue)).byErrorClass).toEqual({ stalled: 1 });
      expect(
        (await a.listJobs({ queue, state: "dead", errorClass: "stalled", limit: 10 })).jobs.map(
          (j) => j.id,
        ),
      ).toEqual([job.id]);
      await expectCounts(a, queue, { dead: 1 });
    });

    it("with maxStalls 0, sends a job to dead on its first stall", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-zero");
      const job = await enqueueOne(a, queue);
      await claimAndExpire(a, queue, o);

      expect(await a.recoverStalled({ queue, maxStalls: 0, limit: 10 })).toEqual({
        recovered: [],
        dead: [job.id],
      });
      await expectCounts(a, queue, { dead: 1 });
    });

    it("recovers at most `limit` jobs per call", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-limit");
      await enqueueMany(a, queue, 5);
      const claimed = await claim(a, queue, { limit: 5, leaseMs: scaled(o, 50) });
      expect(claimed).toHaveLength(5);
      await waitForClock(a, Math.max(...claimed.map((j) => j.leaseExpiresAt)), deadline(o));

      const first = await a.recoverStalled({ queue, maxStalls: 5, limit: 3 });
      const second = await a.recoverStalled({ queue, maxStalls: 5, limit: 3 });
      const third = await a.recoverStalled({ queue, maxStalls: 5, limit: 3 });
      expect(first.recovered).toHaveLength(3);
      expect(second.recovered).toHaveLength(2);
      expect(third.recovered).toEqual([]);
      expect(new Set([...first.recovered, ...second.recovered])).toEqual(
        new Set(claimed.map((j) => j.id)),
      );
      await expectCounts(a, queue, { waiting: 5 });
    });

    it("hands each stalled job to exactly one of several concurrent recoverers", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-race");
      await enqueueMany(a, queue, 20);
      const claimed = await claim(a, queue, { limit: 20, leaseMs: scaled(o, 50) });
      expect(claimed).toHaveLength(20);
      await waitForClock(a, Math.max(...claimed.map((j) => j.leaseExpiresAt)), deadline(o));

      const results: RecoverResult[] = await Promise.all(
        Array.from({ length: o.concurrency }, () =>
          a.recoverStalled({ queue, maxStalls: 5, limit: 5 }),
        ),
      );
      const recovered = results.flatMap((r) => r.recovered);
      expect(results.flatMap((r) => r.dead)).toEqual([]);
      expect(recovered).toHaveLength(20);
      expect(new Set(recovered).size).toBe(20);
      const jobs = await Promise.all(claimed.map((j) => getJobOrThrow(a, queue, j.id)));
      expect(jobs.every((j) => j.stalls === 1 && j.state === "waiting")).toBe(true);
    });

    it("refuses the stalled worker's late settle once its job was recovered", async () => {
      const a = adapter();
      const queue = uniqueQueue("recover-late");
      const job = await enqueueOne(a, queue);
      const stale = await claimAndExpire(a, queue, o);
      await a.recoverStalled({ queue, maxStalls: 5, limit: 10 });

      expect(await completeJob(a, stale, "late")).toBe("lease_lost");
      expect(
        await a.extendLeases(queue, [{ id: stale.id, token: stale.leaseToken }], 60_000),
      ).toEqual([false]);
      expect(await getJobOrThrow(a, queue, job.id)).toMatchObject({
        state: "waiting",
        result: null,
      });
    });

    it("only recovers jobs of the queue it is asked about", async () => {
      const a = adapter();
      const q1 = uniqueQueue("recover-iso-a");
      const q2 = uniqueQueue("recover-iso-b");
      const job = await enqueueOne(a, q1);
      await claimAndExpire(a, q1, o);

      expect(await a.recoverStalled({ queue: q2, maxStalls: 5, limit: 10 })).toEqual({
        recovered: [],
        dead: [],
      });
      expect(await a.recoverStalled({ queue: q1, maxStalls: 5, limit: 10 })).toEqual({
        recovered: [job.id],
        dead: [],
      });
    });
  });
}
