import {
  type JobRecord,
  type Json,
  MemoryAdapter,
  type NewJob,
  type Settlement,
  type StorageAdapter,
} from "@queueflow/core";
import { expect } from "vitest";

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** A hand-driven store clock: time moves only when a test says so. */
export class Clock {
  t = Date.UTC(2025, 0, 1);
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A connected MemoryAdapter on `clock` (pass `Date.now` to follow vitest's fake timers). */
export async function memory(clock: Clock | (() => number) = new Clock()): Promise<MemoryAdapter> {
  const adapter = new MemoryAdapter({ now: typeof clock === "function" ? clock : clock.now });
  await adapter.connect();
  return adapter;
}

/** One dead job to create. */
export interface DeadSpec {
  id: string;
  name?: string;
  errorName?: string;
  errorClass?: string;
  payload?: Json;
  dedupKey?: string;
}

export function newJob(queue: string, spec: DeadSpec): NewJob {
  return {
    id: spec.id,
    queue,
    name: spec.name ?? "job",
    payload: spec.payload ?? {},
    priority: 5,
    maxAttempts: 1,
    backoff: null,
    timeoutMs: null,
    dedupKey: spec.dedupKey ?? null,
    metadata: {},
    delayMs: 0,
    runAt: null,
  };
}

/**
 * Make every spec a dead job of `queue`, fast: one bulk enqueue, then claims and dead
 * settlements of up to `batch` jobs per call, each with an error carrying its class.
 */
export async function killMany(
  adapter: StorageAdapter,
  queue: string,
  specs: readonly DeadSpec[],
  batch = 500,
): Promise<void> {
  const byId = new Map(specs.map((s) => [s.id, s]));
  const added = await adapter.enqueue(specs.map((s) => newJob(queue, s)));
  expect(added.every((r) => r.created)).toBe(true);
  let left = specs.length;
  while (left > 0) {
    const { jobs } = await adapter.claim({
      queue,
      workerId: "test",
      limit: Math.min(batch, left),
      leaseMs: 60_000,
      priorityRange: null,
    });
    expect(jobs.length).toBeGreaterThan(0);
    const at = await adapter.now();
    const settlements: Settlement[] = jobs.map((job) => {
      const spec = byId.get(job.id)!;
      return {
        kind: "dead",
        id: job.id,
        token: job.leaseToken,
        error: {
          attempt: job.attempts,
          name: spec.errorName ?? "Error",
          message: "boom",
          at,
          ...(spec.errorClass === undefined ? {} : { errorClass: spec.errorClass }),
        },
      };
    });
    const outcomes = await adapter.settle(queue, settlements);
    expect(outcomes.every((o) => o === "ok")).toBe(true);
    left -= jobs.length;
  }
}

/** Claim every due job of `queue` and kill it again (a replayed job that failed anew). */
export async function killAgain(adapter: StorageAdapter, queue: string): Promise<string[]> {
  const { jobs } = await adapter.claim({
    queue,
    workerId: "test",
    limit: 1000,
    leaseMs: 60_000,
    priorityRange: null,
  });
  const at = await adapter.now();
  await adapter.settle(
    queue,
    jobs.map((job) => ({
      kind: "dead" as const,
      id: job.id,
      token: job.leaseToken,
      error: { attempt: job.attempts, name: "Error", message: "again", at, errorClass: "unknown" },
    })),
  );
  return jobs.map((j) => j.id);
}

/** Ids of the jobs of `queue` in `state`. */
export async function idsIn(
  adapter: StorageAdapter,
  queue: string,
  state: JobRecord["state"],
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await adapter.listJobs({ queue, state, cursor, limit: 500 });
    ids.push(...page.jobs.map((j) => j.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return ids;
}

/** The typed bad-input error, for `rejects.toMatchObject` / `toThrow` checks. */
export const INVALID = { name: "QueueFlowError", code: "QF_INVALID_ARGUMENT" };

export function specs(prefix: string, n: number, make: (i: number) => Omit<DeadSpec, "id">) {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, ...make(i) }));
}
