import type { JobRecord, JobState } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  attemptError,
  claim,
  claimOne,
  completeJob,
  deadline,
  enqueueMany,
  enqueueOne,
  expectCounts,
  getJobOrThrow,
  jobInState,
  killJob,
  listAllJobs,
  newJob,
  scaled,
  settleOne,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitFor,
  waitForClock,
} from "./helpers.js";

const JOB_STATES_IN_SETUP_ORDER: JobState[] = [
  "active",
  "completed",
  "dead",
  "cancelled",
  "delayed",
  "waiting",
];

/**
 * Inspect: getJob, cursor-paged listJobs and counts tell the exact truth, and hand out
 * copies the caller may change freely.
 */
export function inspectTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("inspect", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("answers null for a job that does not exist", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-missing");
      expect(await a.getJob(queue, "no-such-job")).toBeNull();
    });

    it("pages through listJobs with a cursor, every job exactly once", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-paging");
      // One batch: every job shares createdAt and runAt, so the cursor must break ties.
      const jobs = await enqueueMany(a, queue, 25);
      const { jobs: listed, pageSizes } = await listAllJobs(a, {
        queue,
        state: "waiting",
        limit: 10,
      });

      expect(listed).toHaveLength(25);
      expect(new Set(listed.map((j) => j.id))).toEqual(new Set(jobs.map((j) => j.id)));
      expect(pageSizes.slice(0, 3)).toEqual([10, 10, 5]);
      expect(pageSizes.slice(3).every((n) => n === 0)).toBe(true);
    });

    it("ends paging cleanly when the last page is exactly full", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-paging-exact");
      await enqueueMany(a, queue, 20);
      const { jobs, pageSizes } = await listAllJobs(a, { queue, state: "waiting", limit: 10 });

      expect(new Set(jobs.map((j) => j.id)).size).toBe(20);
      expect(jobs).toHaveLength(20);
      expect(pageSizes.filter((n) => n > 0)).toEqual([10, 10]);
    });

    it("returns an empty last page for a state with no jobs", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-empty");
      await enqueueOne(a, queue);

      expect(await a.listJobs({ queue, state: "completed", limit: 10 })).toEqual({
        jobs: [],
        nextCursor: null,
      });
    });

    it("lists only jobs in the requested state, of the requested queue", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-state");
      const other = uniqueQueue("inspect-state-other");
      // Claimed states first: jobInState claims the oldest due job, which must be its own.
      const expected: Record<string, JobRecord> = {};
      for (const state of JOB_STATES_IN_SETUP_ORDER) {
        expected[state] = await jobInState(a, queue, state);
      }
      await enqueueMany(a, other, 3);

      for (const [state, job] of Object.entries(expected)) {
        const page = await a.listJobs({ queue, state: job.state, limit: 10 });
        expect(
          page.jobs.map((j) => j.id),
          `listJobs(${state})`,
        ).toEqual([job.id]);
        expect(page.jobs[0]?.state).toBe(state);
      }
    });

    it("lists the job that entered its state first, first", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-order");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const job = await enqueueOne(a, queue);
        ids.push(job.id);
        await waitForClock(a, job.createdAt, deadline(o));
      }
      const waiting = await a.listJobs({ queue, state: "waiting", limit: 10 });
      expect(waiting.jobs.map((j) => j.id)).toEqual(ids);

      // Complete them in reverse: completed order is by finish, not by creation.
      const claimed = await claim(a, queue, { limit: 3 });
      const reversed = [...claimed].reverse();
      for (const job of reversed) {
        expect(await completeJob(a, job)).toBe("ok");
        await waitForClock(a, (await getJobOrThrow(a, queue, job.id)).finishedAt!, deadline(o));
      }
      const completed = await a.listJobs({ queue, state: "completed", limit: 10 });
      expect(completed.jobs.map((j) => j.id)).toEqual(reversed.map((j) => j.id));
    });

    it("filters listJobs by job name", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-name");
      const emails = await enqueueMany(a, queue, 4, () => ({ name: "email" }));
      await enqueueMany(a, queue, 3, () => ({ name: "sms" }));
      const { jobs } = await listAllJobs(a, {
        queue,
        state: "waiting",
        name: "email",
        limit: 3,
      });

      expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(emails.map((j) => j.id)));
      expect(jobs).toHaveLength(4);
    });

    it("counts zero in every state for an unknown queue", async () => {
      const a = adapter();
      await expectCounts(a, uniqueQueue("inspect-zero"), {});
    });

    it("keeps counts exact through every transition", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-counts");
      const job = await enqueueOne(a, queue, { maxAttempts: 5 });
      await expectCounts(a, queue, { waiting: 1 });

      let claimed = await claimOne(a, queue);
      await expectCounts(a, queue, { active: 1 });
      await settleOne(a, queue, {
        kind: "retry",
        id: job.id,
        token: claimed.leaseToken,
        error: await attemptError(a, claimed),
        delayMs: 60_000,
      });
      await expectCounts(a, queue, { delayed: 1 });
      expect(await a.promote(queue, job.id)).toBe(true);
      await expectCounts(a, queue, { waiting: 1 });

      claimed = await claimOne(a, queue);
      await settleOne(a, queue, {
        kind: "snooze",
        id: job.id,
        token: claimed.leaseToken,
        delayMs: 60_000,
      });
      await expectCounts(a, queue, { delayed: 1 });
      expect(await a.promote(queue, job.id)).toBe(true);

      claimed = await claimOne(a, queue);
      expect(await killJob(a, claimed)).toBe("ok");
      await expectCounts(a, queue, { dead: 1 });
      expect(await a.retryJobs({ queue, ids: [job.id], payloadPatch: null })).toEqual([job.id]);
      await expectCounts(a, queue, { waiting: 1 });

      claimed = await claimOne(a, queue);
      expect(await completeJob(a, claimed)).toBe("ok");
      await expectCounts(a, queue, { completed: 1 });

      const other = await enqueueOne(a, queue);
      await expectCounts(a, queue, { completed: 1, waiting: 1 });
      await a.cancel(queue, other.id);
      await expectCounts(a, queue, { completed: 1, cancelled: 1 });
      expect(await a.remove(queue, other.id)).toBe("removed");
      await expectCounts(a, queue, { completed: 1 });
    });

    it("counts a delayed job as waiting once it is due", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-due");
      await enqueueOne(a, queue, { delayMs: scaled(o, 300) });
      await enqueueOne(a, queue, { delayMs: 60_000 });

      await expectCounts(a, queue, { delayed: 2 });
      await waitFor(
        async () => {
          const c = await a.counts(queue);
          return c.waiting === 1 && c.delayed === 1;
        },
        { timeoutMs: deadline(o), message: "the due job to count as waiting" },
      );
      await expectCounts(a, queue, { waiting: 1, delayed: 1 });
    });

    it("hands out copies: changing a returned record does not change the store", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-copies");
      const [created] = await a.enqueue([
        {
          ...newJob(queue),
          payload: { list: [1], inner: { x: 1 } },
          metadata: { tags: ["a"] },
        },
      ]);
      const id = created!.job.id;
      const mutate = (job: JobRecord): void => {
        (job.payload as { list: number[] }).list.push(99);
        (job.payload as { inner: { x: number } }).inner.x = 99;
        (job.metadata.tags as string[]).push("z");
        job.errors.push({ attempt: 9, name: "Fake", message: "fake", at: 0 });
        job.state = "completed";
        job.priority = 0;
      };
      mutate(created!.job);
      mutate(await getJobOrThrow(a, queue, id));
      const page = await a.listJobs({ queue, state: "waiting", limit: 10 });
      mutate(page.jobs[0]!);

      const pristine = {
        state: "waiting",
        priority: 5,
        payload: { list: [1], inner: { x: 1 } },
        metadata: { tags: ["a"] },
        errors: [],
      };
      expect(await getJobOrThrow(a, queue, id)).toMatchObject(pristine);
      const claimed = await claimOne(a, queue);
      expect(claimed).toMatchObject({ ...pristine, state: "active" });
      mutate(claimed);
      expect(await getJobOrThrow(a, queue, id)).toMatchObject({ ...pristine, state: "active" });
    });

    it("returns a dead job's errors as copies too", async () => {
      const a = adapter();
      const queue = uniqueQueue("inspect-copies-errors");
      const job = await jobInState(a, queue, "dead");
      const copy = await getJobOrThrow(a, queue, job.id);
      copy.errors[0]!.message = "changed";
      copy.errors.length = 0;

      expect((await getJobOrThrow(a, queue, job.id)).errors).toEqual(job.errors);
      expect(job.errors).toHaveLength(1);
    });
  });
}
