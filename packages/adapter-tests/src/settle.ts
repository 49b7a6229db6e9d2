import type { AttemptError, ClaimedJob, Settlement, StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions, ResolvedConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  attemptError,
  claim,
  claimAndExpire,
  claimOne,
  completeJob,
  deadline,
  enqueueOne,
  expectBetween,
  expectCounts,
  getJobOrThrow,
  jobInState,
  newJob,
  reclaimAfterStall,
  scaled,
  settleOne,
  TRICKY_JSON,
  testTimeout,
  uniqueQueue,
  useAdapter,
  waitFor,
  waitForClock,
} from "./helpers.js";

/** A job whose first claim's token went stale because a second worker now owns it. */
async function staleAndFresh(
  a: StorageAdapter,
  queue: string,
  o: ResolvedConformanceOptions,
): Promise<{ stale: ClaimedJob; fresh: ClaimedJob }> {
  await enqueueOne(a, queue, { payload: { step: 1 } });
  const stale = await claimAndExpire(a, queue, o);
  const fresh = await reclaimAfterStall(a, stale, o);
  expect(fresh.id).toBe(stale.id);
  expect(fresh.leaseToken).not.toBe(stale.leaseToken);
  return { stale, fresh };
}

function settlementOf(
  kind: Settlement["kind"],
  job: ClaimedJob,
  token: string,
  error: AttemptError,
): Settlement {
  switch (kind) {
    case "complete":
      return { kind, id: job.id, token, result: { overwritten: true } };
    case "retry":
      return { kind, id: job.id, token, error, delayMs: 0 };
    case "dead":
      return { kind, id: job.id, token, error };
    case "snooze":
      return { kind, id: job.id, token, delayMs: 0 };
  }
}

/**
 * Settle: complete, retry, dead and snooze each end one attempt, fenced by its lease token;
 * extendLeases and updateProgress are fenced the same way; cancel voids a live lease.
 */
export function settleTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("settle", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("completes a job: stores the result, clears the lease, sets finishedAt", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-complete");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      const before = await a.now();
      expect(await completeJob(a, claimed, TRICKY_JSON)).toBe("ok");
      const after = await a.now();

      const job = await getJobOrThrow(a, queue, claimed.id);
      expect(job).toMatchObject({
        state: "completed",
        result: TRICKY_JSON,
        attempts: 1,
        leaseToken: null,
        leaseExpiresAt: null,
        errors: [],
      });
      expectBetween(job.finishedAt, before, after, "finishedAt");
      await expectCounts(a, queue, { completed: 1 });
    });

    it("complete with remove deletes the job and frees its dedup key and concurrency slot", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-remove");
      await a.updateSettings(queue, { concurrency: 1 });
      const job = await enqueueOne(a, queue, { dedupKey: "remove-key" });
      const kept = await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      expect(claimed.id).toBe(job.id);
      expect(
        await settleOne(a, queue, {
          kind: "complete",
          id: claimed.id,
          token: claimed.leaseToken,
          result: TRICKY_JSON,
          remove: true,
        }),
      ).toBe("ok");

      expect(await a.getJob(queue, claimed.id)).toBeNull();
      await expectCounts(a, queue, { waiting: 1 });
      const [again] = await a.enqueue([newJob(queue, { dedupKey: "remove-key" })]);
      expect(again?.created).toBe(true);
      expect((await claimOne(a, queue)).id).toBe(kept.id);
    });

    it("complete with remove and a stale token removes nothing", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-remove-stale");
      const { stale, fresh } = await staleAndFresh(a, queue, o);
      expect(
        await settleOne(a, queue, {
          kind: "complete",
          id: stale.id,
          token: stale.leaseToken,
          result: null,
          remove: true,
        }),
      ).toBe("lease_lost");
      expect(await getJobOrThrow(a, queue, fresh.id)).toMatchObject({
        state: "active",
        leaseToken: fresh.leaseToken,
      });
    });

    it("retry records the error and delays the job by delayMs from the store's now", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-retry");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      const error = await attemptError(a, claimed, "TypeError", "boom");
      const before = await a.now();
      expect(
        await settleOne(a, queue, {
          kind: "retry",
          id: claimed.id,
          token: claimed.leaseToken,
          error,
          delayMs: 60_000,
        }),
      ).toBe("ok");
      const after = await a.now();

      const job = await getJobOrThrow(a, queue, claimed.id);
      expect(job).toMatchObject({
        state: "delayed",
        attempts: 1,
        errors: [error],
        leaseToken: null,
        leaseExpiresAt: null,
        finishedAt: null,
      });
      expectBetween(job.runAt, before + 60_000, after + 60_000, "runAt");
      await expectCounts(a, queue, { delayed: 1 });
      expect(await claim(a, queue)).toEqual([]);
    });

    it("a retried job becomes claimable after its delay, as the next attempt", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-retry-due");
      await enqueueOne(a, queue);
      const first = await claimOne(a, queue);
      const error = await attemptError(a, first);
      await settleOne(a, queue, {
        kind: "retry",
        id: first.id,
        token: first.leaseToken,
        error,
        delayMs: scaled(o, 100),
      });

      const second = await waitFor(async () => (await claim(a, queue))[0], {
        timeoutMs: deadline(o),
        message: "the retried job to fall due",
      });
      expect(second).toMatchObject({ id: first.id, attempts: 2, errors: [error] });
      expect(second.leaseToken).not.toBe(first.leaseToken);
    });

    it("dead records the error and finishes the job", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-dead");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      const error = await attemptError(a, claimed, "ValidationError", "bad input");
      const before = await a.now();
      expect(
        await settleOne(a, queue, {
          kind: "dead",
          id: claimed.id,
          token: claimed.leaseToken,
          error,
        }),
      ).toBe("ok");
      const after = await a.now();

      const job = await getJobOrThrow(a, queue, claimed.id);
      expect(job).toMatchObject({
        state: "dead",
        attempts: 1,
        errors: [error],
        leaseToken: null,
        leaseExpiresAt: null,
      });
      expectBetween(job.finishedAt, before, after, "finishedAt");
      await expectCounts(a, queue, { dead: 1 });
      expect(await claim(a, queue)).toEqual([]);
    });

    it("snooze delays the job without spending an attempt or recording an error", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-snooze");
      await enqueueOne(a, queue);
      const first = await claimOne(a, queue);
      const delayMs = scaled(o, 150);
      const before = await a.now();
      expect(
        await settleOne(a, queue, {
          kind: "snooze",
          id: first.id,
          token: first.leaseToken,
          delayMs,
        }),
      ).toBe("ok");
      const after = await a.now();

      const readFrom = await a.now();
      const snoozed = await getJobOrThrow(a, queue, first.id);
      const readBy = await a.now();
      expect(snoozed).toMatchObject({ errors: [], leaseToken: null });
      // Delayed until it falls due; a read slower than the delay (a loaded machine) may see it
      // waiting already, and only a read wholly before or after the due time decides.
      if (readBy < snoozed.runAt) expect(snoozed.state).toBe("delayed");
      else if (readFrom >= snoozed.runAt) expect(snoozed.state).toBe("waiting");
      else expect(["delayed", "waiting"]).toContain(snoozed.state);
      expectBetween(snoozed.runAt, before + delayMs, after + delayMs, "runAt");
      const again = await waitFor(async () => (await claim(a, queue))[0], {
        timeoutMs: deadline(o),
        message: "the snoozed job to fall due",
      });
      expect(again).toMatchObject({ id: first.id, attempts: 1, errors: [] });
    });

    it("keeps every failed attempt's error on the job, in order", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-errors");
      const { id } = await enqueueOne(a, queue, { maxAttempts: 3 });
      const errors: AttemptError[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const claimed = await waitFor(async () => (await claim(a, queue))[0], {
          timeoutMs: deadline(o),
          message: `attempt ${attempt} to be claimable`,
        });
        expect(claimed.attempts).toBe(attempt);
        const error = await attemptError(a, claimed, `Error${attempt}`, `failure ${attempt}`);
        errors.push(error);
        const settlement: Settlement =
          attempt < 3
            ? { kind: "retry", id: claimed.id, token: claimed.leaseToken, error, delayMs: 0 }
            : { kind: "dead", id: claimed.id, token: claimed.leaseToken, error };
        expect(await settleOne(a, queue, settlement)).toBe("ok");
      }

      const job = await getJobOrThrow(a, queue, id);
      expect(job.state).toBe("dead");
      expect(job.attempts).toBe(3);
      expect(job.errors).toEqual(errors);
      expect(job.errors.map((e) => e.attempt)).toEqual([1, 2, 3]);
    });

    for (const kind of ["complete", "retry", "dead", "snooze"] as const) {
      it(`refuses a ${kind} with a stale lease token`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`settle-stale-${kind}`);
        const { stale, fresh } = await staleAndFresh(a, queue, o);
        const snapshot = await getJobOrThrow(a, queue, fresh.id);
        const error = await attemptError(a, stale, "LateError", "from the worker that lost");

        expect(await settleOne(a, queue, settlementOf(kind, stale, stale.leaseToken, error))).toBe(
          "lease_lost",
        );
        expect(await getJobOrThrow(a, queue, fresh.id)).toEqual(snapshot);
        expect(await completeJob(a, fresh, { by: "owner" })).toBe("ok");
        expect(await getJobOrThrow(a, queue, fresh.id)).toMatchObject({
          state: "completed",
          result: { by: "owner" },
        });
      });
    }

    it("refuses a settle with a token that was never issued", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-bogus");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      const snapshot = await getJobOrThrow(a, queue, claimed.id);

      expect(
        await settleOne(a, queue, {
          kind: "complete",
          id: claimed.id,
          token: `${claimed.leaseToken}-forged`,
          result: null,
        }),
      ).toBe("lease_lost");
      expect(await getJobOrThrow(a, queue, claimed.id)).toEqual(snapshot);
    });

    it("refuses a second settle of the same attempt", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-twice");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);
      expect(await completeJob(a, claimed, "first")).toBe("ok");
      const error = await attemptError(a, claimed);

      expect(await completeJob(a, claimed, "second")).toBe("lease_lost");
      expect(
        await settleOne(a, queue, {
          kind: "retry",
          id: claimed.id,
          token: claimed.leaseToken,
          error,
          delayMs: 0,
        }),
      ).toBe("lease_lost");
      expect(await getJobOrThrow(a, queue, claimed.id)).toMatchObject({
        state: "completed",
        result: "first",
        errors: [],
      });
    });

    it("returns one outcome per settlement, in input order", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-batch");
      await enqueueOne(a, queue);
      await enqueueOne(a, queue);
      await enqueueOne(a, queue);
      const [j1, j2, j3] = await claim(a, queue, { limit: 3 });
      const error = await attemptError(a, j3!);
      const outcomes = await a.settle(queue, [
        { kind: "complete", id: j1!.id, token: j1!.leaseToken, result: 1 },
        { kind: "complete", id: j2!.id, token: "not-a-real-token", result: 2 },
        { kind: "dead", id: j3!.id, token: j3!.leaseToken, error },
      ]);

      expect(outcomes).toEqual(["ok", "lease_lost", "ok"]);
      await expectCounts(a, queue, { completed: 1, active: 1, dead: 1 });
    });

    it("extends a lease to leaseMs from the store's now", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-extend");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue, { leaseMs: 10_000 });
      const before = await a.now();
      expect(
        await a.extendLeases(queue, [{ id: claimed.id, token: claimed.leaseToken }], 120_000),
      ).toEqual([true]);
      const after = await a.now();

      const job = await getJobOrThrow(a, queue, claimed.id);
      expect(job.state).toBe("active");
      expect(job.leaseToken).toBe(claimed.leaseToken);
      expectBetween(job.leaseExpiresAt, before + 120_000, after + 120_000, "leaseExpiresAt");
    });

    it("keeps an extended lease alive past its original end", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-extend-alive");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue, { leaseMs: scaled(o, 1_000) });
      expect(
        await a.extendLeases(queue, [{ id: claimed.id, token: claimed.leaseToken }], 60_000),
      ).toEqual([true]);
      await waitForClock(a, claimed.leaseExpiresAt + scaled(o, 50), deadline(o));

      const recovered = await a.recoverStalled({ queue, maxStalls: 10, limit: 10 });
      expect(recovered).toEqual({ recovered: [], dead: [] });
      expect(await completeJob(a, claimed)).toBe("ok");
    });

    it("refuses to extend a stale lease, answering per lease in input order", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-extend-stale");
      const { stale, fresh } = await staleAndFresh(a, queue, o);
      const other = await enqueueOne(a, queue);
      const live = await claimOne(a, queue);
      expect(live.id).toBe(other.id);
      const before = await getJobOrThrow(a, queue, fresh.id);

      const answers = await a.extendLeases(
        queue,
        [
          { id: stale.id, token: stale.leaseToken },
          { id: live.id, token: live.leaseToken },
        ],
        120_000,
      );
      expect(answers).toEqual([false, true]);
      expect((await getJobOrThrow(a, queue, fresh.id)).leaseExpiresAt).toBe(before.leaseExpiresAt);
    });

    it("stores progress on an active job", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-progress");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);

      expect(await a.updateProgress(queue, claimed.id, claimed.leaseToken, 0.5)).toBe(true);
      expect((await getJobOrThrow(a, queue, claimed.id)).progress).toBe(0.5);
      expect(await a.updateProgress(queue, claimed.id, claimed.leaseToken, TRICKY_JSON)).toBe(true);
      const job = await getJobOrThrow(a, queue, claimed.id);
      expect(job.progress).toEqual(TRICKY_JSON);
      expect(job.state).toBe("active");
      expect(job.leaseToken).toBe(claimed.leaseToken);
    });

    it("refuses progress with a stale lease token", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-progress-stale");
      const { stale, fresh } = await staleAndFresh(a, queue, o);
      expect(await a.updateProgress(queue, fresh.id, fresh.leaseToken, { owner: "fresh" })).toBe(
        true,
      );

      expect(await a.updateProgress(queue, stale.id, stale.leaseToken, { owner: "stale" })).toBe(
        false,
      );
      expect((await getJobOrThrow(a, queue, fresh.id)).progress).toEqual({ owner: "fresh" });
    });

    it("cancelling an active job voids its lease: the worker's settle gets lease_lost", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-cancel-active");
      await enqueueOne(a, queue);
      const claimed = await claimOne(a, queue);

      expect(await a.cancel(queue, claimed.id)).toBe("cancelled");
      expect(await completeJob(a, claimed, "too late")).toBe("lease_lost");
      expect(
        await a.extendLeases(queue, [{ id: claimed.id, token: claimed.leaseToken }], 60_000),
      ).toEqual([false]);
      expect(await a.updateProgress(queue, claimed.id, claimed.leaseToken, 1)).toBe(false);
      const job = await getJobOrThrow(a, queue, claimed.id);
      expect(job).toMatchObject({ state: "cancelled", leaseToken: null, result: null });
      expect(job.finishedAt).toEqual(expect.any(Number));
      await expectCounts(a, queue, { cancelled: 1 });
      expect(await a.recoverStalled({ queue, maxStalls: 10, limit: 10 })).toEqual({
        recovered: [],
        dead: [],
      });
    });

    for (const state of ["waiting", "delayed"] as const) {
      it(`cancels a ${state} job so it is never claimed`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`settle-cancel-${state}`);
        const job = await jobInState(a, queue, state);

        expect(await a.cancel(queue, job.id)).toBe("cancelled");
        const stored = await getJobOrThrow(a, queue, job.id);
        expect(stored.state).toBe("cancelled");
        expect(stored.finishedAt).toEqual(expect.any(Number));
        await expectCounts(a, queue, { cancelled: 1 });
        expect(await a.promote(queue, job.id)).toBe(false);
        expect(await claim(a, queue, { limit: 10 })).toEqual([]);
      });
    }

    for (const state of ["completed", "dead", "cancelled"] as const) {
      it(`leaves a ${state} job as it is when cancelled`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`settle-cancel-${state}`);
        const job = await jobInState(a, queue, state);

        expect(await a.cancel(queue, job.id)).toBe(state);
        expect(await getJobOrThrow(a, queue, job.id)).toEqual(job);
      });
    }

    it("answers null when cancelling a job that does not exist", async () => {
      const a = adapter();
      const queue = uniqueQueue("settle-cancel-missing");
      expect(await a.cancel(queue, "no-such-job")).toBeNull();
      await expectCounts(a, queue, {});
    });
  });
}
