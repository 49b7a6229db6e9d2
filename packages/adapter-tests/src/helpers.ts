import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type {
  AttemptError,
  ClaimedJob,
  ClaimRequest,
  JobCounts,
  JobRecord,
  JobState,
  Json,
  ListJobsRequest,
  NewJob,
  ScheduleRecord,
  Settlement,
  SettleOutcome,
  StorageAdapter,
} from "@queueflow/core";
import { afterAll, beforeAll, expect } from "vitest";
import type { AdapterFactory, ResolvedConformanceOptions } from "./factory.js";

/** The worker id the suite claims with unless a test needs several. */
export const WORKER_ID = "conformance-worker";

/** A lease long enough that it never runs out during a test. */
export const LONG_LEASE_MS = 60_000;

/** A duration of the suite, stretched by `timeScale` for slow stores. */
export function scaled(options: ResolvedConformanceOptions, ms: number): number {
  return Math.round(ms * options.timeScale);
}

/** Per-test and per-hook timeout: generous, so a loaded CI box never times out a passing test. */
export function testTimeout(options: ResolvedConformanceOptions): number {
  return scaled(options, 30_000);
}

/**
 * How long a race of many claimers may take to drain its queue: its pace is the store's round
 * trip times the rounds it needs, which on a loaded machine against a slow server (the MongoDB
 * test server) outgrew twice {@link deadline}. Bounded below the test timeout so a stuck
 * adapter still fails with the race's own message.
 */
export function raceDeadline(options: ResolvedConformanceOptions): number {
  return testTimeout(options) - scaled(options, 5_000);
}

/** How long `waitFor` waits for something that should happen within tens of milliseconds. */
export function deadline(options: ResolvedConformanceOptions): number {
  return scaled(options, 8_000);
}

let queueCounter = 0;

/**
 * A queue name no other test (or concurrent run against a shared store) uses: lowercase
 * letters, digits, `-` and `_`, at most 64 characters.
 */
export function uniqueQueue(prefix = "q"): string {
  queueCounter += 1;
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^[^a-z0-9]+/, "")
      .slice(0, 32) || "q";
  const suffix = `${queueCounter.toString(36)}-${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  return `${clean}-${suffix}`.slice(0, 64);
}

/** A fresh job id. */
export function jobId(): string {
  return `job-${randomUUID()}`;
}

/** A valid {@link NewJob} for `queue`: due now, priority 5, three attempts. */
export function newJob(queue: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: jobId(),
    queue,
    name: "conformance",
    payload: {},
    priority: 5,
    maxAttempts: 3,
    backoff: null,
    timeoutMs: null,
    dedupKey: null,
    metadata: {},
    delayMs: 0,
    runAt: null,
    ...overrides,
  };
}

/** Enqueue one job and return the stored record. */
export async function enqueueOne(
  adapter: StorageAdapter,
  queue: string,
  overrides: Partial<NewJob> = {},
): Promise<JobRecord> {
  const [result] = await adapter.enqueue([newJob(queue, overrides)]);
  if (!result) throw new Error("enqueue returned no result for one job");
  return result.job;
}

/** Enqueue `count` jobs in one call; `overrides(i)` customises the i-th. */
export async function enqueueMany(
  adapter: StorageAdapter,
  queue: string,
  count: number,
  overrides: (index: number) => Partial<NewJob> = () => ({}),
): Promise<JobRecord[]> {
  const jobs = Array.from({ length: count }, (_, i) => newJob(queue, overrides(i)));
  const results = await adapter.enqueue(jobs);
  return results.map((r) => r.job);
}

/** Claim with the suite's defaults: one job, a long lease, any priority. */
export async function claim(
  adapter: StorageAdapter,
  queue: string,
  request: Partial<Omit<ClaimRequest, "queue">> = {},
): Promise<ClaimedJob[]> {
  const result = await adapter.claim({
    queue,
    workerId: WORKER_ID,
    limit: 1,
    leaseMs: LONG_LEASE_MS,
    priorityRange: null,
    ...request,
  });
  return result.jobs;
}

/** Claim exactly one job, or throw: for tests where the job must be claimable. */
export async function claimOne(
  adapter: StorageAdapter,
  queue: string,
  request: Partial<Omit<ClaimRequest, "queue" | "limit">> = {},
): Promise<ClaimedJob> {
  const jobs = await claim(adapter, queue, { ...request, limit: 1 });
  const [job] = jobs;
  if (!job || jobs.length !== 1) {
    throw new Error(`expected to claim one job of ${queue}, claimed ${jobs.length}`);
  }
  return job;
}

/** More jobs than any test of the suite adds to one queue. */
const CLAIM_ALL_MAX = 100_000;

/** Claim until a claim comes back empty; returns every job claimed, in claim order. */
export async function claimAll(
  adapter: StorageAdapter,
  queue: string,
  request: Partial<Omit<ClaimRequest, "queue">> = {},
): Promise<ClaimedJob[]> {
  const all: ClaimedJob[] = [];
  const seen = new Set<string>();
  for (;;) {
    const jobs = await claim(adapter, queue, { limit: 10, ...request });
    if (jobs.length === 0) return all;
    for (const job of jobs) {
      // An adapter whose claim hands out a leased job again would loop here forever.
      if (seen.has(job.id)) {
        throw new Error(
          `claimAll: claim returned job ${job.id} again while its lease holds: a claim must lease what it returns.`,
        );
      }
      seen.add(job.id);
    }
    all.push(...jobs);
    if (all.length > CLAIM_ALL_MAX) {
      throw new Error(
        `claimAll: more than ${CLAIM_ALL_MAX} jobs claimed from ${queue}, more than any test adds: does claim ever come back empty?`,
      );
    }
  }
}

/** Apply one settlement and return its outcome. */
export async function settleOne(
  adapter: StorageAdapter,
  queue: string,
  settlement: Settlement,
): Promise<SettleOutcome> {
  const outcomes = await adapter.settle(queue, [settlement]);
  expect(outcomes).toHaveLength(1);
  return outcomes[0] as SettleOutcome;
}

/** Complete a claimed job with `result`. */
export function completeJob(
  adapter: StorageAdapter,
  job: ClaimedJob,
  result: JobRecord["result"] = null,
): Promise<SettleOutcome> {
  return settleOne(adapter, job.queue, {
    kind: "complete",
    id: job.id,
    token: job.leaseToken,
    result,
  });
}

/** An {@link AttemptError} for the attempt of `job`, stamped with the store clock. */
export async function attemptError(
  adapter: StorageAdapter,
  job: ClaimedJob,
  name = "Error",
  message = "attempt failed",
  errorClass?: string,
): Promise<AttemptError> {
  return {
    attempt: job.attempts,
    name,
    message,
    stack: `${name}: ${message}\n    at handler (conformance.ts:1:1)`,
    at: await adapter.now(),
    ...(errorClass === undefined ? {} : { errorClass }),
  };
}

/** Fail a claimed job for good: it goes to `dead` with one error. */
export async function killJob(
  adapter: StorageAdapter,
  job: ClaimedJob,
  errorName = "Error",
  message = "attempt failed",
  errorClass?: string,
): Promise<SettleOutcome> {
  return settleOne(adapter, job.queue, {
    kind: "dead",
    id: job.id,
    token: job.leaseToken,
    error: await attemptError(adapter, job, errorName, message, errorClass),
  });
}

/** Read a job that must exist. */
export async function getJobOrThrow(
  adapter: StorageAdapter,
  queue: string,
  id: string,
): Promise<JobRecord> {
  const job = await adapter.getJob(queue, id);
  if (!job) throw new Error(`job ${id} of ${queue} not found`);
  return job;
}

/**
 * A loopback port that was free a moment ago: bind an ephemeral port, then release it. For
 * a server a test starts itself (and restarts on the same port), or a port nothing answers.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("freePort: no port");
  return address.port;
}

/** Resolve after `ms`. Only for pacing; never assert on the state after a fixed sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitForOptions {
  /** Give up (and throw) after this long. */
  timeoutMs: number;
  /** Pause between polls. Default 10 ms. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  message?: string;
}

/**
 * Poll `fn` until it returns a truthy value (returned) or the deadline passes (throws, with
 * the last error `fn` threw, if any). Waits on a condition, never a fixed sleep.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<NonNullable<T>> {
  const { timeoutMs, intervalMs = 10, message = "condition" } = options;
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= end) {
      throw new Error(`waitFor: ${message} not reached within ${timeoutMs} ms`, {
        cause: lastError,
      });
    }
    await sleep(intervalMs);
  }
}

/** Wait until the store clock is past `time` (a lease expiry, a due time). */
export async function waitForClock(
  adapter: StorageAdapter,
  time: number,
  timeoutMs: number,
): Promise<void> {
  await waitFor(async () => (await adapter.now()) > time, {
    timeoutMs,
    message: `store clock past ${time}`,
  });
}

/**
 * Claim a job with a short lease and wait until that lease has expired on the store clock.
 * Returns the claim, whose token is about to go stale.
 */
export async function claimAndExpire(
  adapter: StorageAdapter,
  queue: string,
  options: ResolvedConformanceOptions,
): Promise<ClaimedJob> {
  const job = await claimOne(adapter, queue, { leaseMs: scaled(options, 50) });
  await waitForClock(adapter, job.leaseExpiresAt, deadline(options));
  return job;
}

/**
 * Make `job`'s token stale the way production does: its lease expires, recovery returns it
 * to waiting, and another worker claims it. Returns the new owner's claim.
 */
export async function reclaimAfterStall(
  adapter: StorageAdapter,
  stale: ClaimedJob,
  options: ResolvedConformanceOptions,
): Promise<ClaimedJob> {
  await waitForClock(adapter, stale.leaseExpiresAt, deadline(options));
  const recovered = await waitFor(
    async () => {
      const r = await adapter.recoverStalled({ queue: stale.queue, maxStalls: 10, limit: 100 });
      return r.recovered.includes(stale.id) ? r : null;
    },
    { timeoutMs: deadline(options), message: `recovery of ${stale.id}` },
  );
  expect(recovered.recovered).toContain(stale.id);
  return claimOne(adapter, stale.queue, { workerId: "conformance-worker-2" });
}

/**
 * Put a fresh job of `queue` into `state` through the contract's own transitions and return
 * its stored record. `delayed` is due in a minute; `dead` carries one error.
 */
export async function jobInState(
  adapter: StorageAdapter,
  queue: string,
  state: JobState,
  overrides: Partial<NewJob> = {},
): Promise<JobRecord> {
  const job = await enqueueOne(adapter, queue, {
    ...overrides,
    ...(state === "delayed" ? { delayMs: 60_000 } : {}),
  });
  if (state === "cancelled") {
    expect(await adapter.cancel(queue, job.id)).toBe("cancelled");
  } else if (state === "active" || state === "completed" || state === "dead") {
    const claimed = await claimOne(adapter, queue);
    expect(claimed.id).toBe(job.id);
    if (state === "completed") expect(await completeJob(adapter, claimed)).toBe("ok");
    if (state === "dead") expect(await killJob(adapter, claimed)).toBe("ok");
  }
  const stored = await getJobOrThrow(adapter, queue, job.id);
  expect(stored.state).toBe(state);
  return stored;
}

/** Assert the exact counts of `queue`; states left out must be zero. */
export async function expectCounts(
  adapter: StorageAdapter,
  queue: string,
  expected: Partial<JobCounts>,
): Promise<void> {
  expect(await adapter.counts(queue)).toEqual({
    waiting: 0,
    delayed: 0,
    active: 0,
    completed: 0,
    dead: 0,
    cancelled: 0,
    ...expected,
  });
}

/** A valid schedule of `queue` firing every minute, next run in a minute. */
export function newSchedule(
  queue: string,
  overrides: Partial<ScheduleRecord> = {},
): ScheduleRecord {
  return {
    queue,
    id: `schedule-${randomUUID()}`,
    spec: { kind: "every", intervalMs: 60_000 },
    job: {
      name: "scheduled",
      payload: { from: "schedule" },
      priority: 5,
      maxAttempts: 3,
      backoff: null,
      timeoutMs: null,
      metadata: {},
    },
    nextRunAt: Date.now() + 60_000,
    ...overrides,
  };
}

/**
 * JSON values with the shapes stores tend to mangle: unicode, escapes, nesting, empty
 * containers, null, floats, the largest safe integer.
 */
export const TRICKY_JSON: { [key: string]: Json } = {
  text: 'héllo wörld — 日本語 🚀 "quoted" \\ back\nslash\ttab',
  empty: "",
  zero: 0,
  negative: -42,
  float: -1234.5678,
  tiny: 1e-7,
  maxSafe: Number.MAX_SAFE_INTEGER,
  yes: true,
  no: false,
  nothing: null,
  list: [1, "two", null, [3, [4, []]], { five: 5 }],
  emptyList: [],
  emptyObject: {},
  nested: { a: { b: { c: { d: ["deep", { e: null }] } } } },
  "key with spaces": 1,
  ключ: "значение",
  "emoji-🔑": "👍🏽",
};

/** Follow `nextCursor` to the end; returns every job and the page sizes. */
export async function listAllJobs(
  adapter: StorageAdapter,
  request: Omit<ListJobsRequest, "cursor">,
): Promise<{ jobs: JobRecord[]; pageSizes: number[] }> {
  const jobs: JobRecord[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1_000; page++) {
    const result = await adapter.listJobs({ ...request, cursor });
    expect(result.jobs.length).toBeLessThanOrEqual(request.limit);
    jobs.push(...result.jobs);
    pageSizes.push(result.jobs.length);
    if (result.nextCursor === null) return { jobs, pageSizes };
    cursor = result.nextCursor;
  }
  throw new Error("listJobs never returned a null cursor");
}

/** Assert `lo <= actual <= hi`, naming the value on failure. */
export function expectBetween(actual: number | null, lo: number, hi: number, what: string): void {
  expect(actual, `${what} should be a number`).toEqual(expect.any(Number));
  expect(actual, `${what} >= ${lo}`).toBeGreaterThanOrEqual(lo);
  expect(actual, `${what} <= ${hi}`).toBeLessThanOrEqual(hi);
}

/**
 * Create one adapter for the enclosing `describe`: `create()` and `connect()` before its
 * tests, `close()` and the factory's `cleanup()` after. Returns a getter for the tests.
 */
export function useAdapter(
  factory: AdapterFactory,
  options: ResolvedConformanceOptions,
): () => StorageAdapter {
  let adapter: StorageAdapter | undefined;
  beforeAll(async () => {
    adapter = await factory.create();
    await adapter.connect();
  }, testTimeout(options));
  afterAll(async () => {
    if (!adapter) return;
    const a = adapter;
    adapter = undefined;
    try {
      await a.close();
    } finally {
      await factory.cleanup?.(a);
    }
  }, testTimeout(options));
  return () => {
    if (!adapter) throw new Error(`${factory.name}: adapter not created (did beforeAll fail?)`);
    return adapter;
  };
}
