import { DEAD_LETTER_AGE_BUCKETS_MS, type JobRecord, type StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  attemptError,
  claim,
  claimOne,
  completeJob,
  enqueueOne,
  expectCounts,
  getJobOrThrow,
  jobInState,
  killJob,
  listAllJobs,
  newJob,
  settleOne,
  testTimeout,
  uniqueQueue,
  useAdapter,
} from "./helpers.js";

/**
 * Add a job named `name` and fail it for good with an error named `errorName` (of class
 * `errorClass` when given). Returns the dead job.
 */
export async function deadJob(
  a: StorageAdapter,
  queue: string,
  name: string,
  errorName: string,
  payload: JobRecord["payload"] = {},
  errorClass?: string,
): Promise<JobRecord> {
  const [result] = await a.enqueue([newJob(queue, { name, payload })]);
  const claimed = await claimOne(a, queue);
  expect(claimed.id).toBe(result!.job.id);
  expect(await killJob(a, claimed, errorName, `${name} failed with ${errorName}`, errorClass)).toBe(
    "ok",
  );
  return getJobOrThrow(a, queue, claimed.id);
}

/** The age histogram of `fresh` jobs that all just died: everything in the first bucket. */
export function ageBuckets(fresh: number): { maxAgeMs: number | null; count: number }[] {
  return [
    ...DEAD_LETTER_AGE_BUCKETS_MS.map((maxAgeMs, i) => ({ maxAgeMs, count: i === 0 ? fresh : 0 })),
    { maxAgeMs: null, count: 0 },
  ];
}

/**
 * Dead letters: dead jobs are listed with their audit trail (listJobs state `dead`),
 * summarised (deadLetterStats), replayed with a patch (retryJobs) and purged (clean).
 */
export function deadLetterTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("dead letters", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("lists dead jobs with their errors via listJobs", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-list");
      const dead = await deadJob(a, queue, "email", "TimeoutError");
      await enqueueOne(a, queue);

      const page = await a.listJobs({ queue, state: "dead", limit: 10 });
      expect(page.nextCursor).toBeNull();
      expect(page.jobs).toEqual([dead]);
      expect(page.jobs[0]?.errors).toEqual([
        expect.objectContaining({
          attempt: 1,
          name: "TimeoutError",
          message: "email failed with TimeoutError",
          at: expect.any(Number),
        }),
      ]);
    });

    it("filters dead jobs by job name and by latest error name", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-filter");
      const e1 = await deadJob(a, queue, "email", "TimeoutError");
      const e2 = await deadJob(a, queue, "email", "ValidationError");
      const s1 = await deadJob(a, queue, "sms", "TimeoutError");

      // A job whose earlier attempt failed differently: only its latest error counts.
      await enqueueOne(a, queue, { name: "sms" });
      const first = await claimOne(a, queue);
      await settleOne(a, queue, {
        kind: "retry",
        id: first.id,
        token: first.leaseToken,
        error: await attemptError(a, first, "ValidationError"),
        delayMs: 0,
      });
      const second = await claimOne(a, queue);
      await killJob(a, second, "TimeoutError");

      const ids = async (filter: { name?: string; errorName?: string }) =>
        new Set(
          (await listAllJobs(a, { queue, state: "dead", limit: 2, ...filter })).jobs.map(
            (j) => j.id,
          ),
        );
      expect(await ids({ name: "email" })).toEqual(new Set([e1.id, e2.id]));
      expect(await ids({ errorName: "TimeoutError" })).toEqual(new Set([e1.id, s1.id, first.id]));
      expect(await ids({ errorName: "ValidationError" })).toEqual(new Set([e2.id]));
      expect(await ids({ name: "sms", errorName: "TimeoutError" })).toEqual(
        new Set([s1.id, first.id]),
      );
      expect(await ids({ name: "nope" })).toEqual(new Set());
    });

    it("reports stats by job name and latest error name, with finish times", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-stats");
      const jobs = [
        await deadJob(a, queue, "email", "TimeoutError"),
        await deadJob(a, queue, "email", "TimeoutError"),
        await deadJob(a, queue, "sms", "ValidationError"),
      ];
      await jobInState(a, queue, "completed", { name: "ok-job" });

      const finished = jobs.map((j) => j.finishedAt!);
      expect(await a.deadLetterStats(queue)).toEqual({
        total: 3,
        byName: { email: 2, sms: 1 },
        byError: { TimeoutError: 2, ValidationError: 1 },
        byErrorClass: { unknown: 3 },
        oldestFinishedAt: Math.min(...finished),
        newestFinishedAt: Math.max(...finished),
        byAge: ageBuckets(3),
      });
    });

    it("reports empty stats for a queue without dead jobs", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-empty");
      await enqueueOne(a, queue);

      expect(await a.deadLetterStats(queue)).toEqual({
        total: 0,
        byName: {},
        byError: {},
        byErrorClass: {},
        oldestFinishedAt: null,
        newestFinishedAt: null,
        byAge: ageBuckets(0),
      });
    });

    it("replays a dead job with a patched payload: attempts reset, errors kept", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-replay");
      const dead = await deadJob(a, queue, "email", "ValidationError", {
        to: "typo@exmaple.com",
        body: "hi",
      });

      expect(
        await a.retryJobs({ queue, ids: [dead.id], payloadPatch: { to: "fixed@example.com" } }),
      ).toEqual([dead.id]);
      const replayed = await getJobOrThrow(a, queue, dead.id);
      expect(replayed).toMatchObject({
        state: "waiting",
        attempts: 0,
        payload: { to: "fixed@example.com", body: "hi" },
        errors: dead.errors,
      });
      expect((await a.deadLetterStats(queue)).total).toBe(0);
      await expectCounts(a, queue, { waiting: 1 });

      const again = await claimOne(a, queue);
      expect(again).toMatchObject({ id: dead.id, attempts: 1 });
      expect(await completeJob(a, again, "sent")).toBe("ok");
      expect(await getJobOrThrow(a, queue, dead.id)).toMatchObject({
        state: "completed",
        result: "sent",
        errors: dead.errors,
      });
    });

    it("replays only the dead jobs it is given", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-replay-some");
      const d1 = await deadJob(a, queue, "email", "TimeoutError");
      const d2 = await deadJob(a, queue, "email", "TimeoutError");

      expect(await a.retryJobs({ queue, ids: [d2.id], payloadPatch: null })).toEqual([d2.id]);
      expect(await getJobOrThrow(a, queue, d1.id)).toEqual(d1);
      await expectCounts(a, queue, { dead: 1, waiting: 1 });
      expect((await a.deadLetterStats(queue)).total).toBe(1);
    });

    it("purges dead jobs via clean, leaving other states and the stats consistent", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-purge");
      await deadJob(a, queue, "email", "TimeoutError");
      await deadJob(a, queue, "sms", "TimeoutError");
      const done = await jobInState(a, queue, "completed", { name: "ok-job" });
      const finishedBefore = (await a.now()) + 60_000;

      expect(await a.clean({ queue, state: "dead", finishedBefore, limit: 100 })).toBe(2);
      expect(await a.listJobs({ queue, state: "dead", limit: 10 })).toEqual({
        jobs: [],
        nextCursor: null,
      });
      expect((await a.deadLetterStats(queue)).total).toBe(0);
      expect(await a.getJob(queue, done.id)).toEqual(done);
      await expectCounts(a, queue, { completed: 1 });
    });

    it("pages through many dead jobs, each exactly once", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-paging");
      await a.enqueue(Array.from({ length: 12 }, () => newJob(queue, { name: "bulk" })));
      const claimed = await claim(a, queue, { limit: 12 });
      const outcomes = await a.settle(
        queue,
        await Promise.all(
          claimed.map(async (j) => ({
            kind: "dead" as const,
            id: j.id,
            token: j.leaseToken,
            error: await attemptError(a, j, "BulkError"),
          })),
        ),
      );
      expect(outcomes.every((x) => x === "ok")).toBe(true);

      const { jobs } = await listAllJobs(a, { queue, state: "dead", limit: 5 });
      expect(jobs).toHaveLength(12);
      expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(claimed.map((j) => j.id)));
      expect((await a.deadLetterStats(queue)).byError).toEqual({ BulkError: 12 });
    });
  });
}
