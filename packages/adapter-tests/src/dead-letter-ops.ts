import type { ClaimedJob, DeadLetterStats, JobFilter, StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { ageBuckets, deadJob } from "./dead-letters.js";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  attemptError,
  claim,
  claimOne,
  deadline,
  expectCounts,
  getJobOrThrow,
  killJob,
  listAllJobs,
  newJob,
  settleOne,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitForClock,
} from "./helpers.js";

/** Ids of every dead job of `queue` matching `filter`, in listing order. */
async function deadIds(a: StorageAdapter, queue: string, filter: JobFilter): Promise<string[]> {
  const { jobs } = await listAllJobs(a, { queue, state: "dead", limit: 3, ...filter });
  return jobs.map((j) => j.id);
}

/** Fail `job` once with a retry, so its history holds an error that is not its latest. */
async function failOnce(a: StorageAdapter, job: ClaimedJob, errorClass: string): Promise<void> {
  const error = await attemptError(a, job, "FlakyError", "first try", errorClass);
  const outcome = await settleOne(a, job.queue, {
    kind: "retry",
    id: job.id,
    token: job.leaseToken,
    error,
    delayMs: 0,
  });
  expect(outcome).toBe("ok");
}

const NAMES = ["email", "sms", "export"] as const;
const CLASSES = ["timeout", "connection", "validation", undefined] as const;
const ERRORS = ["TimeoutError", "FetchError"] as const;

/**
 * Dead-letter operations beyond the basics: error classes, every filter field, exact stats
 * over many jobs, replay with per-job payloads and idempotency (`asOf`), purge by filter,
 * and typed rejection of filters that are not plain values.
 */
export function deadLetterOpsTests(
  factory: AdapterFactory,
  options: ConformanceOptions = {},
): void {
  const o = resolveOptions(options);
  describe("dead-letter operations", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("stores each failure's class and filters by the class of the latest error", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-class");
      const timeout = await deadJob(a, queue, "email", "TimeoutError", {}, "timeout");
      const invalid = await deadJob(a, queue, "email", "ZodError", {}, "validation");
      const unclassed = await deadJob(a, queue, "sms", "Error");
      await a.enqueue([newJob(queue, { name: "sms" })]);
      const flaky = await claimOne(a, queue);
      await failOnce(a, flaky, "connection");
      expect(await killJob(a, await claimOne(a, queue), "TimeoutError", "again", "timeout")).toBe(
        "ok",
      );

      expect((await getJobOrThrow(a, queue, flaky.id)).errors.map((e) => e.errorClass)).toEqual([
        "connection",
        "timeout",
      ]);
      expect(await deadIds(a, queue, { errorClass: "timeout" })).toEqual([timeout.id, flaky.id]);
      expect(await deadIds(a, queue, { errorClass: "validation" })).toEqual([invalid.id]);
      expect(await deadIds(a, queue, { errorClass: "unknown" })).toEqual([unclassed.id]);
      expect(await deadIds(a, queue, { errorClass: "connection" })).toEqual([]);
      expect(await deadIds(a, queue, { errorClass: "timeout", name: "sms" })).toEqual([flaky.id]);
      expect((await a.deadLetterStats(queue)).byErrorClass).toEqual({
        timeout: 2,
        validation: 1,
        unknown: 1,
      });
    });

    it("filters by finish time (after inclusive, before exclusive) and by attempts", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-time");
      const early = await deadJob(a, queue, "email", "Error");
      await waitForClock(a, early.finishedAt!, deadline(o));
      await a.enqueue([newJob(queue, { name: "email" })]);
      await failOnce(a, await claimOne(a, queue), "timeout");
      expect(await killJob(a, await claimOne(a, queue))).toBe("ok");
      const late = (await a.listJobs({ queue, state: "dead", limit: 10 })).jobs[1]!;
      expect(late.attempts).toBe(2);
      const t = late.finishedAt!;

      expect(await deadIds(a, queue, { finishedAfter: t })).toEqual([late.id]);
      expect(await deadIds(a, queue, { finishedBefore: t })).toEqual([early.id]);
      expect(
        await deadIds(a, queue, { finishedAfter: early.finishedAt!, finishedBefore: t }),
      ).toEqual([early.id]);
      expect(await deadIds(a, queue, { minAttempts: 2 })).toEqual([late.id]);
      expect(await deadIds(a, queue, { maxAttempts: 1 })).toEqual([early.id]);
      expect(await deadIds(a, queue, { minAttempts: 3 })).toEqual([]);
      // A job that has not finished never matches a time filter.
      await a.enqueue([newJob(queue)]);
      expect(
        (await a.listJobs({ queue, state: "waiting", finishedAfter: 0, limit: 10 })).jobs,
      ).toEqual([]);
    });

    it("keeps stats exact over hundreds of dead jobs, and after a purge by filter", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-exact");
      const total = 240;
      await a.enqueue(
        Array.from({ length: total }, (_, i) => newJob(queue, { name: NAMES[i % NAMES.length] })),
      );
      const expected: DeadLetterStats = {
        total,
        byName: {},
        byError: {},
        byErrorClass: {},
        oldestFinishedAt: null,
        newestFinishedAt: null,
        byAge: ageBuckets(total),
      };
      const tally = (t: Record<string, number>, k: string, by = 1) => {
        t[k] = (t[k] ?? 0) + by;
        if (t[k] === 0) delete t[k];
      };
      let validation = 0;
      for (let round = 0; round < 4; round++) {
        const claimed = await claim(a, queue, { limit: total / 4 });
        expect(claimed).toHaveLength(total / 4);
        const settlements = await Promise.all(
          claimed.map(async (j, i) => {
            const errorClass = CLASSES[(i + round) % CLASSES.length];
            const name = ERRORS[i % ERRORS.length]!;
            tally(expected.byName, j.name);
            tally(expected.byError, name);
            tally(expected.byErrorClass, errorClass ?? "unknown");
            if (errorClass === "validation") validation++;
            const error = await attemptError(a, j, name, "boom", errorClass);
            return { kind: "dead" as const, id: j.id, token: j.leaseToken, error };
          }),
        );
        expect((await a.settle(queue, settlements)).every((x) => x === "ok")).toBe(true);
      }
      const { jobs } = await listAllJobs(a, { queue, state: "dead", limit: 100 });
      expect(jobs).toHaveLength(total);
      const finished = jobs.map((j) => j.finishedAt!);
      expected.oldestFinishedAt = Math.min(...finished);
      expected.newestFinishedAt = Math.max(...finished);
      expect(await a.deadLetterStats(queue)).toEqual(expected);

      const bound = (await a.now()) + 60_000;
      let purged = 0;
      for (let call = 0; call < 100; call++) {
        const n = await a.clean({
          queue,
          state: "dead",
          finishedBefore: bound,
          errorClass: "validation",
          limit: 25,
        });
        expect(n).toBeLessThanOrEqual(25);
        if (n === 0) break;
        purged += n;
      }
      expect(purged).toBe(validation);
      const after = await a.deadLetterStats(queue);
      expect(after.total).toBe(total - validation);
      expect(after.byErrorClass.validation).toBeUndefined();
      expect(after.byAge[0]?.count).toBe(total - validation);
      const byName = Object.values(after.byName).reduce((x, y) => x + y, 0);
      expect(byName).toBe(total - validation);
      await expectCounts(a, queue, { dead: total - validation });
    });

    it("replays with per-job payloads, a shared patch and a new attempt budget", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-payloads");
      const d1 = await deadJob(a, queue, "email", "Error", { to: "a@x", n: 1 });
      const d2 = await deadJob(a, queue, "email", "Error", { to: "b@x", n: 2 });

      const moved = await a.retryJobs({
        queue,
        ids: [d1.id, d2.id],
        payloadPatch: { n: 9 },
        payloads: { [d1.id]: { to: "fixed@x" } },
        maxAttempts: 7,
      });
      expect(new Set(moved)).toEqual(new Set([d1.id, d2.id]));
      expect(await getJobOrThrow(a, queue, d1.id)).toMatchObject({
        state: "waiting",
        payload: { to: "fixed@x" },
        maxAttempts: 7,
        attempts: 0,
      });
      expect(await getJobOrThrow(a, queue, d2.id)).toMatchObject({
        state: "waiting",
        payload: { to: "b@x", n: 9 },
        maxAttempts: 7,
      });
      expect(await a.deadLetterStats(queue)).toMatchObject({ total: 0, byErrorClass: {} });
    });

    it("with asOf, never replays a job that failed again since: a repeated request is a no-op", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-asof");
      const d1 = await deadJob(a, queue, "email", "Error");
      const asOf = await a.now();
      await waitForClock(a, asOf, deadline(o));
      const fresh = await deadJob(a, queue, "email", "Error");

      expect(
        await a.retryJobs({ queue, ids: [d1.id, fresh.id], payloadPatch: null, asOf }),
      ).toEqual([d1.id]);
      expect(await killJob(a, await claimOne(a, queue), "Error", "failed again")).toBe("ok");
      const again = await getJobOrThrow(a, queue, d1.id);
      expect(again.state).toBe("dead");

      expect(
        await a.retryJobs({ queue, ids: [d1.id, fresh.id], payloadPatch: null, asOf }),
      ).toEqual([]);
      expect(await getJobOrThrow(a, queue, d1.id)).toEqual(again);
      expect((await getJobOrThrow(a, queue, fresh.id)).state).toBe("dead");
    });

    it("moves each job once when concurrent replays name the same jobs", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-race");
      await a.enqueue(Array.from({ length: 20 }, () => newJob(queue)));
      const claimed = await claim(a, queue, { limit: 20 });
      const settlements = await Promise.all(
        claimed.map(async (j) => ({
          kind: "dead" as const,
          id: j.id,
          token: j.leaseToken,
          error: await attemptError(a, j),
        })),
      );
      await a.settle(queue, settlements);
      const ids = claimed.map((j) => j.id);

      const results = await Promise.all(
        [0, 1, 2, 3].map((k) =>
          a.retryJobs({ queue, ids: k % 2 === 0 ? ids : [...ids].reverse(), payloadPatch: null }),
        ),
      );
      const all = results.flat();
      expect(all).toHaveLength(20);
      expect(new Set(all)).toEqual(new Set(ids));
      await expectCounts(a, queue, { waiting: 20 });
    });

    it("rejects filters that are not plain typed values, changing nothing", async () => {
      const a = adapter();
      const queue = uniqueQueue("dlq-inject");
      const dead = await deadJob(a, queue, "email", "Error");
      const operator = { $ne: null } as unknown as string;
      const typed = { name: "QueueFlowError", code: "QF_INVALID_ARGUMENT" };

      await expect(
        a.listJobs({ queue, state: "dead", name: operator, limit: 10 }),
      ).rejects.toMatchObject(typed);
      await expect(
        a.clean({
          queue,
          state: "dead",
          finishedBefore: (await a.now()) + 60_000,
          errorClass: operator,
          limit: 10,
        }),
      ).rejects.toMatchObject(typed);
      await expect(
        a.clean({
          queue,
          state: "dead",
          finishedBefore: Number.NaN,
          limit: 10,
        }),
      ).rejects.toMatchObject(typed);
      await expect(
        a.retryJobs({ queue, ids: [dead.id], payloadPatch: null, maxAttempts: 0 }),
      ).rejects.toMatchObject(typed);
      expect(await getJobOrThrow(a, queue, dead.id)).toEqual(dead);
    });
  });
}
