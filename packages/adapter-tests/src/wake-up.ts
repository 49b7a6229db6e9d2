import type { ClaimedJob, ClaimRequest, Settlement, StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import type { AdapterFactory, ConformanceOptions } from "./factory.js";
import { resolveOptions } from "./factory.js";
import {
  enqueueOne,
  getJobOrThrow,
  jobInState,
  newJob,
  scaled,
  sleep,
  testTimeout,
  uniqueQueue,
  useAdapter,
} from "./helpers.js";

type WaitForWork = NonNullable<StorageAdapter["waitForWork"]>;

/** The adapter's waitForWork (this area only runs for adapters declaring wake-up). */
function waitForWorkOf(a: StorageAdapter): WaitForWork {
  expect(a.waitForWork, "capabilities.wakeUp is true, so waitForWork must exist").toBeTypeOf(
    "function",
  );
  return a.waitForWork!.bind(a);
}

/** Start a wait and record when (Date.now) it resolved; `done` rejects if the wait does. */
function track(promise: Promise<void>): { settledAt: () => number | null; done: Promise<void> } {
  let at: number | null = null;
  const done = promise.then(() => {
    at = Date.now();
  });
  return { settledAt: () => at, done };
}

/**
 * Wake-up (only for adapters declaring `capabilities.wakeUp`): waitForWork resolves soon
 * after work arrives, at its timeout, or on abort, and never rejects for those.
 */
export function wakeUpTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  // How soon after an add a waiter must wake: far below the 10 s timeouts used here, far
  // above a notification's round trip on a loaded machine.
  const prompt = scaled(o, 2_000);
  describe("wake-up", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);

    it("wakes a waiter promptly when a job is enqueued", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const queue = uniqueQueue("wake-enqueue");
      const waiter = track(wait(queue, scaled(o, 10_000), new AbortController().signal));
      // Let the waiter subscribe (LISTEN, blocking pop) before the add.
      await sleep(scaled(o, 100));
      expect(waiter.settledAt(), "an idle queue must not wake the waiter").toBeNull();

      const addedAt = Date.now();
      await enqueueOne(a, queue);
      await waiter.done;
      expect(waiter.settledAt()! - addedAt).toBeLessThan(prompt);
    });

    it("resolves at its timeout, not before, when no work arrives", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const timeoutMs = scaled(o, 300);
      const started = Date.now();
      await wait(uniqueQueue("wake-timeout"), timeoutMs, new AbortController().signal);
      const elapsed = Date.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs * 0.5);
      expect(elapsed).toBeLessThan(timeoutMs + prompt);
    });

    it("resolves promptly, without rejecting, when the signal aborts", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const controller = new AbortController();
      const waiter = track(wait(uniqueQueue("wake-abort"), scaled(o, 10_000), controller.signal));
      await sleep(scaled(o, 50));
      expect(waiter.settledAt()).toBeNull();

      const abortedAt = Date.now();
      controller.abort();
      await expect(waiter.done).resolves.toBeUndefined();
      expect(waiter.settledAt()! - abortedAt).toBeLessThan(prompt);
    });

    it("resolves at once for a signal that is already aborted", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const started = Date.now();
      await expect(
        wait(uniqueQueue("wake-pre-aborted"), scaled(o, 10_000), AbortSignal.abort()),
      ).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(prompt);
    });

    it("wakes a waiter when its paused queue is resumed", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const queue = uniqueQueue("wake-resume");
      await a.updateSettings(queue, { paused: true });
      await enqueueOne(a, queue);
      const waiter = track(wait(queue, scaled(o, 10_000), new AbortController().signal));
      await sleep(scaled(o, 100));

      const resumedAt = Date.now();
      await a.updateSettings(queue, { paused: false });
      await waiter.done;
      expect(waiter.settledAt()! - resumedAt).toBeLessThan(prompt);
    });

    it("a waiting worker starts a job made delayed during its wait soon after it falls due", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const delayMs = scaled(o, 200);
      const request = (queue: string, workerId: string): ClaimRequest => ({
        queue,
        workerId,
        limit: 1,
        leaseMs: scaled(o, 60_000),
        priorityRange: null,
      });
      const claimOne = async (queue: string) => {
        await enqueueOne(a, queue);
        return (await a.claim(request(queue, "another-worker"))).jobs[0]!;
      };
      /**
       * Claim as a Worker does until a job comes: when none is due, wait for work with a
       * long timeout capped by the claim's nextWakeAt. An early or spurious wake-up costs
       * one more claim; a missed one waits out the long timeout.
       */
      const workLike = async (queue: string) => {
        for (;;) {
          const claimed = await a.claim(request(queue, "waiting-worker"));
          if (claimed.jobs.length > 0) return { job: claimed.jobs[0]!, at: Date.now() };
          let timeout = scaled(o, 10_000);
          if (claimed.nextWakeAt !== null) {
            timeout = Math.min(timeout, Math.max(1, claimed.nextWakeAt - Date.now()));
          }
          await wait(queue, timeout, new AbortController().signal);
        }
      };
      const error = { attempt: 1, name: "Error", message: "x", at: Date.now() };
      const lease = (job: ClaimedJob) => ({ id: job.id, token: job.leaseToken });
      const settleOne = async (queue: string, settlement: Settlement) => {
        expect(await a.settle(queue, [settlement])).toEqual(["ok"]);
        return { id: settlement.id };
      };
      // Each case readies a queue in use (another worker holds a job of it) and returns the
      // call that, while the worker waits (far longer than `delayMs`), makes a job due in
      // `delayMs`: the worker must start it soon after that, not at the end of its wait.
      // Retries and snoozes are settled by that other worker.
      type Case = (queue: string) => Promise<() => Promise<{ id: string }>>;
      const cases: Record<string, Case> = {
        "a delayed add": async (queue) => {
          await claimOne(queue);
          return () => enqueueOne(a, queue, { delayMs });
        },
        "a retry's backoff": async (queue) => {
          const job = await claimOne(queue);
          return () => settleOne(queue, { kind: "retry", ...lease(job), error, delayMs });
        },
        "a snooze": async (queue) => {
          const job = await claimOne(queue);
          return () => settleOne(queue, { kind: "snooze", ...lease(job), delayMs });
        },
      };
      if (factory.capabilities.groups === true) {
        const debounced = { dedupKey: "doc", dedupMode: "debounce" } as const;
        cases["a debounced add that brings a delayed job forward"] = async (queue) => {
          await claimOne(queue);
          await enqueueOne(a, queue, { ...debounced, delayMs: scaled(o, 60_000) });
          return () => enqueueOne(a, queue, { ...debounced, delayMs });
        };
      }
      for (const [name, setUp] of Object.entries(cases)) {
        const queue = uniqueQueue("wake-delayed");
        const makeDelayed = await setUp(queue);
        const worker = workLike(queue);
        // Let the worker claim nothing and start waiting (LISTEN, blocking pop, stream).
        await sleep(scaled(o, 100));
        const delayedAt = Date.now();
        const delayed = await makeDelayed();
        const started = await worker;
        expect(started.job.id, name).toBe(delayed.id);
        expect(started.at - delayedAt, name).toBeLessThan(delayMs + prompt);
      }
    });

    it("wakes a waiter when a dead job is retried", async () => {
      const a = adapter();
      const wait = waitForWorkOf(a);
      const queue = uniqueQueue("wake-retry");
      const dead = await jobInState(a, queue, "dead");
      const waiter = track(wait(queue, scaled(o, 10_000), new AbortController().signal));
      await sleep(scaled(o, 100));

      const retriedAt = Date.now();
      expect(await a.retryJobs({ queue, ids: [dead.id], payloadPatch: null })).toEqual([dead.id]);
      await waiter.done;
      expect(waiter.settledAt()! - retriedAt).toBeLessThan(prompt);
    });
  });
}

/**
 * Handoff (only for adapters declaring `capabilities.handoff`): `waitForJobs` either hands
 * a job added during the wait to the waiter, leased to it as a claim would lease it, or
 * leaves it claimable; it hands over nothing a claim could not take, and never more than the
 * request's limit.
 */
export function handoffTests(factory: AdapterFactory, options: ConformanceOptions = {}): void {
  const o = resolveOptions(options);
  const prompt = scaled(o, 2_000);
  describe("handoff (waitForJobs)", { timeout: testTimeout(o) }, () => {
    const adapter = useAdapter(factory, o);
    const request = (queue: string, limit = 5): ClaimRequest => ({
      queue,
      workerId: "waiting-worker",
      limit,
      leaseMs: scaled(o, 60_000),
      priorityRange: null,
    });
    const never = () => new AbortController().signal;

    /** Jobs the wait handed over, then whatever a claim takes right after it. */
    async function handedThenClaimed(a: StorageAdapter, queue: string, limit: number) {
      const handed = await a.waitForJobs!(request(queue, limit), scaled(o, 10_000), never());
      const claimed = (await a.claim({ ...request(queue, 10), workerId: "claimer" })).jobs;
      return { handed, claimed };
    }

    it("hands out the jobs of one bulk add in contract order, not input order", async () => {
      const a = adapter();
      const cases = [
        [1, 10],
        [5, 10, 1, 10, 5],
      ];
      for (const priorities of cases) {
        const queue = uniqueQueue("handoff-order");
        const waiting = handedThenClaimed(a, queue, 1);
        await sleep(scaled(o, 100));
        const added = await a.enqueue([
          ...priorities.map((priority, i) => newJob(queue, { priority, payload: { i } })),
          // Not due: in neither list.
          newJob(queue, { priority: 20, delayMs: scaled(o, 60_000) }),
        ]);
        const { handed, claimed } = await waiting;
        const order = [...handed, ...claimed].map((j) => (j.payload as { i: number }).i);
        // Highest priority first; equal priorities keep insertion order.
        const expected = priorities
          .map((priority, i) => ({ priority, i }))
          .sort((x, y) => y.priority - x.priority || x.i - y.i)
          .map((x) => x.i);
        expect(order).toEqual(expected);
        expect(added).toHaveLength(priorities.length + 1);
      }
    });

    it("hands a job added during the wait over, leased as a claim leases, or leaves it claimable", async () => {
      const a = adapter();
      const queue = uniqueQueue("handoff-add");
      const waiting = handedThenClaimed(a, queue, 5);
      await sleep(scaled(o, 100));
      const added = await enqueueOne(a, queue, { payload: { handed: true } });
      const { handed, claimed } = await waiting;

      const all = [...handed, ...claimed];
      expect(all.map((j) => j.id)).toEqual([added.id]);
      const job = all[0]!;
      expect(job.payload).toEqual({ handed: true });
      expect(job.attempts).toBe(1);
      expect(job.workerId).toBe(handed.length > 0 ? "waiting-worker" : "claimer");
      expect(await getJobOrThrow(a, queue, job.id)).toEqual(job);
      expect(
        await a.settle(queue, [{ kind: "complete", id: job.id, token: job.leaseToken, result: 1 }]),
      ).toEqual(["ok"]);
      expect((await a.counts(queue)).completed).toBe(1);
    });

    it("hands over at most the request's limit; the rest stays claimable", async () => {
      const a = adapter();
      const queue = uniqueQueue("handoff-limit");
      const waiting = handedThenClaimed(a, queue, 1);
      await sleep(scaled(o, 100));
      const added = await a.enqueue([newJob(queue), newJob(queue), newJob(queue)]);
      const { handed, claimed } = await waiting;

      expect(handed.length).toBeLessThanOrEqual(1);
      expect([...handed, ...claimed].map((j) => j.id).sort()).toEqual(
        added.map((r) => r.job.id).sort(),
      );
    });

    it("hands nothing over for a paused queue, and wakes on resume", async () => {
      const a = adapter();
      const queue = uniqueQueue("handoff-paused");
      await a.updateSettings(queue, { paused: true });
      const first = await a.waitForJobs!(request(queue), scaled(o, 300), never());
      expect(first).toEqual([]);
      const waiting = a.waitForJobs!(request(queue), scaled(o, 10_000), never());
      await sleep(scaled(o, 100));
      const added = await enqueueOne(a, queue);
      await sleep(scaled(o, 100));
      const resumedAt = Date.now();
      await a.updateSettings(queue, { paused: false });
      expect(await waiting).toEqual([]);
      expect(Date.now() - resumedAt).toBeLessThan(prompt);
      expect((await getJobOrThrow(a, queue, added.id)).state).toBe("waiting");
    });

    it("resolves with no jobs at its timeout and when the signal aborts", async () => {
      const a = adapter();
      const queue = uniqueQueue("handoff-idle");
      const started = Date.now();
      expect(await a.waitForJobs!(request(queue), scaled(o, 300), never())).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(scaled(o, 150));
      const controller = new AbortController();
      const waiting = a.waitForJobs!(request(queue), scaled(o, 10_000), controller.signal);
      await sleep(scaled(o, 50));
      const abortedAt = Date.now();
      controller.abort();
      expect(await waiting).toEqual([]);
      expect(Date.now() - abortedAt).toBeLessThan(prompt);
      expect(await a.waitForJobs!(request(queue), scaled(o, 10_000), AbortSignal.abort())).toEqual(
        [],
      );
    });
  });
}
