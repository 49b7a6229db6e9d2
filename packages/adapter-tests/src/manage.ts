import type { ClaimedJob, JobState } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  claim,
  claimOne,
  completeJob,
  deadline,
  enqueueMany,
  enqueueOne,
  expectBetween,
  expectCounts,
  getJobOrThrow,
  jobInState,
  killJob,
  newJob,
  raceDeadline,
  scaled,
  sleep,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitForClock,
} from "./helpers.js";

/** The most start times that fall in any one window of `windowMs`. */
function maxStartsInAnyWindow(startedAt: number[], windowMs: number): number {
  const sorted = [...startedAt].sort((x, y) => x - y);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    // One ms of slack for stores that round times or close the window at the other end.
    const end = sorted[i]! + windowMs - 1;
    let n = 0;
    for (let j = i; j < sorted.length && sorted[j]! < end; j++) n++;
    most = Math.max(most, n);
  }
  return most;
}

/**
 * Manage: queue settings (pause, concurrency cap, rate limit) hold inside claim; remove,
 * retryJobs, promote and clean move or delete exactly the jobs they should.
 */
export function manageTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("manage", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("gives a new queue default settings: running, no cap, no rate limit", async () => {
      const a = adapter();
      expect(await a.getSettings(uniqueQueue("manage-defaults"))).toEqual({
        paused: false,
        concurrency: null,
        rateLimit: null,
      });
    });

    it("updates only the settings given and keeps the rest, per queue", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-settings");
      const other = uniqueQueue("manage-settings-other");

      expect(await a.updateSettings(queue, { concurrency: 3 })).toEqual({
        paused: false,
        concurrency: 3,
        rateLimit: null,
      });
      expect(await a.updateSettings(queue, { rateLimit: { max: 10, windowMs: 1_000 } })).toEqual({
        paused: false,
        concurrency: 3,
        rateLimit: { max: 10, windowMs: 1_000 },
      });
      await a.updateSettings(queue, { paused: true });
      expect(await a.getSettings(queue)).toEqual({
        paused: true,
        concurrency: 3,
        rateLimit: { max: 10, windowMs: 1_000 },
      });
      expect(await a.updateSettings(queue, { concurrency: null, rateLimit: null })).toEqual({
        paused: true,
        concurrency: null,
        rateLimit: null,
      });
      expect(await a.getSettings(other)).toEqual({
        paused: false,
        concurrency: null,
        rateLimit: null,
      });
    });

    it("pause stops claims but not enqueues; resume lets them through", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-pause");
      await enqueueMany(a, queue, 2);
      await a.updateSettings(queue, { paused: true });

      expect(await claim(a, queue, { limit: 10 })).toEqual([]);
      const [added] = await a.enqueue([newJob(queue)]);
      expect(added?.created).toBe(true);
      await expectCounts(a, queue, { waiting: 3 });
      expect(await claim(a, queue, { limit: 10 })).toEqual([]);

      await a.updateSettings(queue, { paused: false });
      expect(await claim(a, queue, { limit: 10 })).toHaveLength(3);
    });

    it("pausing one queue leaves other queues running", async () => {
      const a = adapter();
      const paused = uniqueQueue("manage-pause-a");
      const running = uniqueQueue("manage-pause-b");
      await enqueueOne(a, paused);
      await enqueueOne(a, running);
      await a.updateSettings(paused, { paused: true });

      expect(await claim(a, paused)).toEqual([]);
      expect(await claim(a, running)).toHaveLength(1);
    });

    it("a paused queue still accepts settles of its active jobs", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-pause-settle");
      await enqueueMany(a, queue, 2);
      const [j1, j2] = await claim(a, queue, { limit: 2 });
      await a.updateSettings(queue, { paused: true });

      expect(await completeJob(a, j1!, "done")).toBe("ok");
      expect(await a.extendLeases(queue, [{ id: j2!.id, token: j2!.leaseToken }], 60_000)).toEqual([
        true,
      ]);
      expect(await killJob(a, j2!)).toBe("ok");
      await expectCounts(a, queue, { completed: 1, dead: 1 });
    });

    it("never has more jobs active than the concurrency cap, with parallel claimers", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-cap");
      const total = 30;
      await enqueueMany(a, queue, total);
      await a.updateSettings(queue, { concurrency: 3 });

      const burst = (
        await Promise.all(
          Array.from({ length: o.concurrency }, (_, i) =>
            claim(a, queue, { limit: 2, workerId: `burst-${i}` }),
          ),
        )
      ).flat();
      expect(burst.length).toBeGreaterThanOrEqual(1);
      expect(burst.length).toBeLessThanOrEqual(3);
      expect((await a.counts(queue)).active).toBe(burst.length);

      let inFlight = 0;
      let maxInFlight = burst.length;
      let maxActive = burst.length;
      const done = new Map<string, number>();
      const finish = async (jobs: ClaimedJob[]): Promise<void> => {
        // Release our count before the store does, so it can only under-count.
        inFlight -= jobs.length;
        for (const j of jobs) {
          done.set(j.id, (done.get(j.id) ?? 0) + 1);
          expect(await completeJob(a, j)).toBe("ok");
        }
      };
      inFlight = burst.length;
      await finish(burst);
      const stopAt = Date.now() + raceDeadline(o);
      await Promise.all(
        Array.from({ length: o.concurrency }, async (_, i) => {
          for (;;) {
            if (Date.now() > stopAt) throw new Error("claimers did not drain the queue in time");
            const jobs = await claim(a, queue, { limit: 2, workerId: `capped-${i}` });
            if (jobs.length === 0) {
              const c = await a.counts(queue);
              maxActive = Math.max(maxActive, c.active);
              if (c.waiting === 0) return;
              await sleep(2);
              continue;
            }
            inFlight += jobs.length;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await finish(jobs);
          }
        }),
      );

      expect(maxInFlight).toBeLessThanOrEqual(3);
      expect(maxActive).toBeLessThanOrEqual(3);
      expect(done.size).toBe(total);
      expect([...done.values()].every((n) => n === 1)).toBe(true);
      await expectCounts(a, queue, { completed: total });
    });

    it("frees a concurrency slot when an active job settles", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-cap-slot");
      await enqueueMany(a, queue, 3);
      await a.updateSettings(queue, { concurrency: 1 });

      const first = await claimOne(a, queue);
      expect(await claim(a, queue, { limit: 5 })).toEqual([]);
      expect(await completeJob(a, first)).toBe("ok");
      const second = await claim(a, queue, { limit: 5 });
      expect(second).toHaveLength(1);
      await a.cancel(queue, second[0]!.id);
      expect(await claim(a, queue, { limit: 5 })).toHaveLength(1);
    });

    it("starts at most rateLimit.max jobs in a window, with parallel claimers", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-rate-burst");
      const windowMs = scaled(o, 2_000);
      await enqueueMany(a, queue, 20);
      await a.updateSettings(queue, { rateLimit: { max: 5, windowMs } });

      const claimed = (
        await Promise.all(
          Array.from({ length: o.concurrency }, (_, i) =>
            claim(a, queue, { limit: 2, workerId: `rate-${i}` }),
          ),
        )
      ).flat();
      expect(claimed.length).toBeGreaterThanOrEqual(1);
      // On a slow store the burst may outlast one window, so more than five may start in
      // all; never more than five within any window of the store's clock.
      expect(
        maxStartsInAnyWindow(
          claimed.map((j) => j.startedAt!),
          windowMs,
        ),
      ).toBeLessThanOrEqual(5);
      expect(new Set(claimed.map((j) => j.id)).size).toBe(claimed.length);
      await expectCounts(a, queue, { active: claimed.length, waiting: 20 - claimed.length });
    });

    it("starts more jobs as the rate window slides, never over the limit", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-rate-slide");
      const windowMs = scaled(o, 400);
      await enqueueMany(a, queue, 7);
      await a.updateSettings(queue, { rateLimit: { max: 3, windowMs } });

      const claimed: ClaimedJob[] = [];
      const stopAt = Date.now() + raceDeadline(o);
      while (claimed.length < 7) {
        if (Date.now() > stopAt) throw new Error(`only ${claimed.length} of 7 jobs ever started`);
        claimed.push(...(await claim(a, queue, { limit: 10 })));
        await sleep(scaled(o, 20));
      }

      const starts = claimed.map((j) => j.startedAt!);
      expect(maxStartsInAnyWindow(starts, windowMs)).toBeLessThanOrEqual(3);
      // Seven starts at three per window need at least two full windows.
      expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(2 * windowMs - 2);
      expect(new Set(claimed.map((j) => j.id)).size).toBe(7);
    });

    const removable: JobState[] = ["waiting", "delayed", "completed", "dead", "cancelled"];
    for (const state of removable) {
      it(`removes a ${state} job`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`manage-remove-${state}`);
        const job = await jobInState(a, queue, state);
        const keep = await enqueueOne(a, queue, { delayMs: 60_000 });

        expect(await a.remove(queue, job.id)).toBe("removed");
        expect(await a.getJob(queue, job.id)).toBeNull();
        expect(await a.remove(queue, job.id)).toBe("not_found");
        await expectCounts(a, queue, { delayed: 1 });
        expect(await a.getJob(queue, keep.id)).not.toBeNull();
      });
    }

    it("refuses to remove an active job", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-remove-active");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);

      expect(await a.remove(queue, claimed.id)).toBe("active");
      expect((await getJobOrThrow(a, queue, claimed.id)).state).toBe("active");
      expect(await completeJob(a, claimed)).toBe("ok");
    });

    it("reports not_found when removing a job that does not exist", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-remove-missing");
      const job = await enqueueOne(a, queue);

      expect(await a.remove(queue, "no-such-job")).toBe("not_found");
      expect(await a.remove(uniqueQueue("manage-remove-wrong-queue"), job.id)).toBe("not_found");
      await expectCounts(a, queue, { waiting: 1 });
    });

    it("retryJobs moves dead and cancelled jobs to waiting, attempts reset, errors kept", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-retry");
      const dead = await jobInState(a, queue, "dead", { payload: { n: 1 } });
      const cancelled = await jobInState(a, queue, "cancelled", { payload: { n: 2 } });

      const moved = await a.retryJobs({ queue, ids: [dead.id, cancelled.id], payloadPatch: null });
      expect(new Set(moved)).toEqual(new Set([dead.id, cancelled.id]));
      expect(await getJobOrThrow(a, queue, dead.id)).toMatchObject({
        state: "waiting",
        attempts: 0,
        errors: dead.errors,
        payload: { n: 1 },
        leaseToken: null,
      });
      expect(await getJobOrThrow(a, queue, cancelled.id)).toMatchObject({
        state: "waiting",
        attempts: 0,
        payload: { n: 2 },
      });
      await expectCounts(a, queue, { waiting: 2 });
      const again = await claim(a, queue, { limit: 2 });
      expect(again.map((j) => j.attempts)).toEqual([1, 1]);
    });

    it("retryJobs shallow-merges payloadPatch into the payload", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-retry-patch");
      const dead = await jobInState(a, queue, "dead", {
        payload: { to: "old@example.com", keep: [1, 2], nested: { a: 1, b: 2 } },
      });

      expect(
        await a.retryJobs({
          queue,
          ids: [dead.id],
          payloadPatch: { to: "new@example.com", nested: { c: 3 }, added: null },
        }),
      ).toEqual([dead.id]);
      expect((await getJobOrThrow(a, queue, dead.id)).payload).toEqual({
        to: "new@example.com",
        keep: [1, 2],
        nested: { c: 3 },
        added: null,
      });
    });

    it("retryJobs leaves jobs in other states untouched and ignores unknown ids", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-retry-others");
      const active = await jobInState(a, queue, "active");
      const completed = await jobInState(a, queue, "completed");
      const delayed = await jobInState(a, queue, "delayed");
      const waiting = await jobInState(a, queue, "waiting");

      const moved = await a.retryJobs({
        queue,
        ids: [active.id, completed.id, delayed.id, waiting.id, "no-such-job"],
        payloadPatch: { patched: true },
      });
      expect(moved).toEqual([]);
      for (const job of [active, completed, delayed, waiting]) {
        expect(await getJobOrThrow(a, queue, job.id)).toEqual(job);
      }
    });

    it("promote makes a delayed job due now", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-promote");
      const job = await enqueueOne(a, queue, { delayMs: 60_000 });

      expect(await a.promote(queue, job.id)).toBe(true);
      const after = await a.now();
      const promoted = await getJobOrThrow(a, queue, job.id);
      expect(promoted.state).toBe("waiting");
      expectBetween(promoted.runAt, job.createdAt, after, "runAt");
      await expectCounts(a, queue, { waiting: 1 });
      expect((await claimOne(a, queue)).id).toBe(job.id);
    });

    for (const state of ["waiting", "active", "completed", "dead"] as const) {
      it(`promote refuses a ${state} job`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`manage-promote-${state}`);
        const job = await jobInState(a, queue, state);

        expect(await a.promote(queue, job.id)).toBe(false);
        expect(await getJobOrThrow(a, queue, job.id)).toEqual(job);
      });
    }

    it("promote answers false for a job that does not exist", async () => {
      const a = adapter();
      expect(await a.promote(uniqueQueue("manage-promote-missing"), "no-such-job")).toBe(false);
    });

    it("clean removes only jobs of the state that finished before the cutoff", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-clean-age");
      const old = await jobInState(a, queue, "completed");
      const oldDead = await jobInState(a, queue, "dead");
      await waitForClock(a, Math.max(old.finishedAt!, oldDead.finishedAt!), deadline(o));
      const cutoff = await a.now();
      await waitForClock(a, cutoff, deadline(o));
      const fresh = await jobInState(a, queue, "completed");
      const waiting = await jobInState(a, queue, "waiting");
      expect(fresh.finishedAt).toBeGreaterThanOrEqual(cutoff);

      expect(await a.clean({ queue, state: "completed", finishedBefore: cutoff, limit: 100 })).toBe(
        1,
      );
      expect(await a.getJob(queue, old.id)).toBeNull();
      expect(await a.getJob(queue, fresh.id)).toEqual(fresh);
      expect(await a.getJob(queue, oldDead.id)).toEqual(oldDead);
      expect(await a.getJob(queue, waiting.id)).toEqual(waiting);
      await expectCounts(a, queue, { completed: 1, dead: 1, waiting: 1 });
    });

    it("clean removes at most `limit` jobs per call", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-clean-limit");
      for (let i = 0; i < 5; i++) await jobInState(a, queue, "cancelled");
      const finishedBefore = (await a.now()) + 60_000;

      expect(await a.clean({ queue, state: "cancelled", finishedBefore, limit: 2 })).toBe(2);
      await expectCounts(a, queue, { cancelled: 3 });
      expect(await a.clean({ queue, state: "cancelled", finishedBefore, limit: 2 })).toBe(2);
      expect(await a.clean({ queue, state: "cancelled", finishedBefore, limit: 2 })).toBe(1);
      expect(await a.clean({ queue, state: "cancelled", finishedBefore, limit: 2 })).toBe(0);
      await expectCounts(a, queue, {});
    });

    it("clean never touches another queue", async () => {
      const a = adapter();
      const queue = uniqueQueue("manage-clean-iso");
      const other = uniqueQueue("manage-clean-iso-other");
      const kept = await jobInState(a, other, "completed");
      const finishedBefore = (await a.now()) + 60_000;

      expect(await a.clean({ queue, state: "completed", finishedBefore, limit: 100 })).toBe(0);
      expect(await a.getJob(other, kept.id)).toEqual(kept);
    });
  });
}
