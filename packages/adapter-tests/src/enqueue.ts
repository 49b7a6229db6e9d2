import { isQueueFlowError, type JobState, type Json, type NewJob } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  claimOne,
  completeJob,
  enqueueOne,
  expectBetween,
  expectCounts,
  getJobOrThrow,
  jobInState,
  newJob,
  TRICKY_JSON,
  testTimeout,
  uniqueQueue,
  useAdapter,
} from "./helpers.js";

/**
 * Enqueue: jobs are stored with every field they were given, due when asked, once per id,
 * and once per live dedup key, even when callers race.
 */
export function enqueueTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  describe("enqueue", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("stores a new job as waiting with every field it was given", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-fields");
      const input = newJob(queue, {
        name: "send-email",
        payload: { to: "ada@example.com", tags: ["a", "b"] },
        priority: 17,
        maxAttempts: 7,
        backoff: { type: "exponential", delayMs: 250, maxDelayMs: 60_000, jitter: true },
        timeoutMs: 5_000,
        dedupKey: "email:ada",
        metadata: { traceparent: "00-abc-def-01", tenant: { id: 7 } },
      });
      const before = await a.now();
      const [result] = await a.enqueue([input]);
      const after = await a.now();

      expect(result?.created).toBe(true);
      const job = result!.job;
      expect(job).toMatchObject({
        id: input.id,
        queue,
        name: "send-email",
        payload: { to: "ada@example.com", tags: ["a", "b"] },
        state: "waiting",
        priority: 17,
        attempts: 0,
        maxAttempts: 7,
        backoff: { type: "exponential", delayMs: 250, maxDelayMs: 60_000, jitter: true },
        timeoutMs: 5_000,
        dedupKey: "email:ada",
        metadata: { traceparent: "00-abc-def-01", tenant: { id: 7 } },
        startedAt: null,
        finishedAt: null,
        leaseToken: null,
        leaseExpiresAt: null,
        workerId: null,
        progress: null,
        result: null,
        errors: [],
        stalls: 0,
      });
      expectBetween(job.createdAt, before, after, "createdAt");
      expectBetween(job.runAt, before, after, "runAt");
      expect(await a.getJob(queue, input.id)).toEqual(job);
    });

    it("returns one result per job in input order, all created", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-batch");
      const inputs = Array.from({ length: 50 }, (_, i) => newJob(queue, { payload: { i } }));
      const results = await a.enqueue(inputs);

      expect(results.map((r) => r.job.id)).toEqual(inputs.map((j) => j.id));
      expect(results.every((r) => r.created)).toBe(true);
      expect(results.map((r) => r.job.payload)).toEqual(inputs.map((j) => j.payload));
      await expectCounts(a, queue, { waiting: 50 });
    });

    it("stores a job with delayMs as delayed, due delayMs after the store's now", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-delay");
      const before = await a.now();
      const job = await enqueueOne(a, queue, { delayMs: 60_000 });
      const after = await a.now();

      expect(job.state).toBe("delayed");
      expectBetween(job.runAt, before + 60_000, after + 60_000, "runAt");
      await expectCounts(a, queue, { delayed: 1 });
    });

    it("uses an absolute runAt over delayMs", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-runat");
      const runAt = (await a.now()) + 120_000;
      const job = await enqueueOne(a, queue, { runAt, delayMs: 5_000 });

      expect(job.state).toBe("delayed");
      expect(job.runAt).toBe(runAt);
      expect((await getJobOrThrow(a, queue, job.id)).runAt).toBe(runAt);
    });

    it("treats a runAt in the past as due now", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-past");
      const runAt = (await a.now()) - 10_000;
      const job = await enqueueOne(a, queue, { runAt });

      expect(job.runAt).toBe(runAt);
      await expectCounts(a, queue, { waiting: 1 });
      expect((await claimOne(a, queue)).id).toBe(job.id);
    });

    const states: JobState[] = ["waiting", "delayed", "active", "completed", "dead", "cancelled"];
    for (const state of states) {
      it(`returns the existing job for a reused id while it is ${state}`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`enqueue-id-${state}`);
        const existing = await jobInState(a, queue, state, { payload: { version: 1 } });

        const [again] = await a.enqueue([
          newJob(queue, { id: existing.id, payload: { version: 2 }, priority: 20 }),
        ]);

        expect(again?.created).toBe(false);
        expect(again?.job).toMatchObject({
          id: existing.id,
          state,
          payload: { version: 1 },
          priority: existing.priority,
        });
        expect(await getJobOrThrow(a, queue, existing.id)).toEqual(existing);
        await expectCounts(a, queue, { [state]: 1 });
      });
    }

    it("returns the live job for a reused dedup key instead of adding one", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-dedup");
      const first = await enqueueOne(a, queue, { dedupKey: "invoice:42", payload: { n: 1 } });
      const [second] = await a.enqueue([
        newJob(queue, { dedupKey: "invoice:42", payload: { n: 2 } }),
      ]);

      expect(second?.created).toBe(false);
      expect(second?.job.id).toBe(first.id);
      expect(second?.job.payload).toEqual({ n: 1 });
      await expectCounts(a, queue, { waiting: 1 });
    });

    it("deduplicates jobs sharing a key within one batch", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-dedup-batch");
      const results = await a.enqueue([
        newJob(queue, { dedupKey: "k" }),
        newJob(queue, { dedupKey: "k" }),
        newJob(queue, { dedupKey: "other" }),
      ]);

      expect(results.map((r) => r.created)).toEqual([true, false, true]);
      expect(results[1]?.job.id).toBe(results[0]?.job.id);
      await expectCounts(a, queue, { waiting: 2 });
    });

    it("scopes dedup keys to their queue", async () => {
      const a = adapter();
      const q1 = uniqueQueue("enqueue-dedup-a");
      const q2 = uniqueQueue("enqueue-dedup-b");
      const [r1] = await a.enqueue([newJob(q1, { dedupKey: "shared" })]);
      const [r2] = await a.enqueue([newJob(q2, { dedupKey: "shared" })]);

      expect(r1?.created).toBe(true);
      expect(r2?.created).toBe(true);
      expect(r2?.job.queue).toBe(q2);
      expect(r2?.job.id).not.toBe(r1?.job.id);
    });

    for (const state of ["delayed", "active"] as const) {
      it(`keeps a dedup key held while its holder is ${state}`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`enqueue-dedup-${state}`);
        const holder = await jobInState(a, queue, state, { dedupKey: "held" });
        const [again] = await a.enqueue([newJob(queue, { dedupKey: "held" })]);

        expect(again?.created).toBe(false);
        expect(again?.job.id).toBe(holder.id);
        await expectCounts(a, queue, { [state]: 1 });
      });
    }

    for (const state of ["completed", "dead", "cancelled"] as const) {
      it(`frees a dedup key once its holder is ${state}`, async () => {
        const a = adapter();
        const queue = uniqueQueue(`enqueue-free-${state}`);
        const holder = await jobInState(a, queue, state, { dedupKey: "once-at-a-time" });
        const [next] = await a.enqueue([newJob(queue, { dedupKey: "once-at-a-time" })]);

        expect(next?.created).toBe(true);
        expect(next?.job.id).not.toBe(holder.id);
        expect(next?.job.state).toBe("waiting");
        await expectCounts(a, queue, { [state]: 1, waiting: 1 });
      });
    }

    it("creates exactly one job when parallel enqueues share a dedup key", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-dedup-race");
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          a.enqueue([newJob(queue, { dedupKey: "race", payload: { i } })]),
        ),
      );
      const flat = results.map((r) => {
        expect(r).toHaveLength(1);
        return r[0]!;
      });

      expect(flat.filter((r) => r.created)).toHaveLength(1);
      const winner = flat.find((r) => r.created)!.job;
      expect(new Set(flat.map((r) => r.job.id))).toEqual(new Set([winner.id]));
      await expectCounts(a, queue, { waiting: 1 });
      expect((await getJobOrThrow(a, queue, winner.id)).payload).toEqual(winner.payload);
    });

    it("creates exactly one job when parallel enqueues share an id", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-id-race");
      const id = newJob(queue).id;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => a.enqueue([newJob(queue, { id, payload: { i } })])),
      );
      const flat = results.map((r) => r[0]!);

      expect(flat.filter((r) => r.created)).toHaveLength(1);
      const winner = flat.find((r) => r.created)!.job;
      for (const r of flat) expect(r.job.payload).toEqual(winner.payload);
      await expectCounts(a, queue, { waiting: 1 });
    });

    it("round-trips payloads and metadata through JSON faithfully", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-json");
      const payloads: Json[] = [TRICKY_JSON, "just a string", 42, null, true, [1, [2, [3]], {}]];
      const results = await a.enqueue(
        payloads.map((payload) => newJob(queue, { payload, metadata: { tricky: TRICKY_JSON } })),
      );

      for (const [i, r] of results.entries()) {
        expect(r.job.payload).toEqual(payloads[i]);
        const stored = await getJobOrThrow(a, queue, r.job.id);
        expect(stored.payload).toEqual(payloads[i]);
        expect(stored.metadata).toEqual({ tricky: TRICKY_JSON });
      }
    });

    it("keeps no reference to the caller's input", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-input-copy");
      const input: NewJob = newJob(queue, {
        payload: { list: [1, 2], inner: { x: 1 } },
        metadata: { m: ["a"] },
      });
      await a.enqueue([input]);
      const payload = input.payload as { list: number[]; inner: { x: number } };
      payload.list.push(3);
      payload.inner.x = 99;
      (input.metadata.m as string[]).push("b");

      const stored = await getJobOrThrow(a, queue, input.id);
      expect(stored.payload).toEqual({ list: [1, 2], inner: { x: 1 } });
      expect(stored.metadata).toEqual({ m: ["a"] });
    });

    it("keeps jobs of one queue out of another", async () => {
      const a = adapter();
      const q1 = uniqueQueue("enqueue-iso-a");
      const q2 = uniqueQueue("enqueue-iso-b");
      const job = await enqueueOne(a, q1);

      expect(await a.getJob(q2, job.id)).toBeNull();
      await expectCounts(a, q2, {});
      await expectCounts(a, q1, { waiting: 1 });
      const claimed = await a.claim({
        queue: q2,
        workerId: "w",
        limit: 10,
        leaseMs: 60_000,
        priorityRange: null,
      });
      expect(claimed.jobs).toEqual([]);
    });

    // Only adapters without transactions must refuse a handle; others test tx in their repos.
    if (!factory.capabilities.transactions) {
      it("rejects a transaction handle when it does not support transactions", async () => {
        const a = adapter();
        const queue = uniqueQueue("enqueue-tx");
        const error = await a.enqueue([newJob(queue)], { tx: {} }).then(
          () => null,
          (err: unknown) => err,
        );

        expect(isQueueFlowError(error, "QF_NOT_SUPPORTED")).toBe(true);
        await expectCounts(a, queue, {});
      });
    }

    it("completes normally after a dedup hit (the hit does not lock the holder)", async () => {
      const a = adapter();
      const queue = uniqueQueue("enqueue-dedup-complete");
      const holder = await enqueueOne(a, queue, { dedupKey: "k" });
      await a.enqueue([newJob(queue, { dedupKey: "k" })]);
      const claimed = await claimOne(a, queue);

      expect(claimed.id).toBe(holder.id);
      expect(await completeJob(a, claimed, { ok: true })).toBe("ok");
      await expectCounts(a, queue, { completed: 1 });
    });
  });
}
