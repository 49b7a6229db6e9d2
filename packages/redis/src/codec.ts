import type {
  AttemptError,
  BackoffOptions,
  JobRecord,
  JobState,
  Json,
  NewJob,
  ScheduleRecord,
} from "@queueflow/core";
import { JOB_STATES } from "@queueflow/core";

// A job is one hash with short field names (listed in lua/includes/common.lua); fields at
// their default (null, 0, {}, []) are left out. Both keep a small job small: Redis stores a
// hash field by field, and every absent field is memory not spent.

const STATES = new Set<string>(JOB_STATES);

/** A flat HGETALL reply: field, value, field, value, … */
export type FlatHash = readonly string[];

function num(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : Number(value);
}

function numOrNull(value: string | undefined): number | null {
  return value === undefined ? null : Number(value);
}

function json<T extends Json | BackoffOptions | AttemptError[]>(
  value: string | undefined,
  fallback: T,
): T {
  return value === undefined ? fallback : (JSON.parse(value) as T);
}

/**
 * A job record from its hash. Every call parses afresh, so the caller owns the result (the
 * contract's copy semantics come for free).
 * @throws Error when the hash is not a QueueFlow job (a bug, or a key written by hand).
 */
export function decodeJob(queue: string, id: string, flat: FlatHash): JobRecord {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
  // o packs the fields no transition changes: "<priority> <maxAttempts> <createdAt> <seq> <name>".
  const packed = /^(\d+) (\d+) (\d+) \d+ ([\s\S]*)$/.exec(h.o ?? "");
  const state = h.s;
  if (packed === null || state === undefined || !STATES.has(state)) {
    throw new Error(
      `Redis hash of job ${id} in queue ${queue} lacks a valid state or packed fields; was it written outside QueueFlow?`,
    );
  }
  return {
    id,
    queue,
    name: packed[4] as string,
    payload: json<Json>(h.d, null),
    state: state as JobState,
    priority: Number(packed[1]),
    attempts: num(h.a, 0),
    maxAttempts: Number(packed[2]),
    backoff: json<BackoffOptions | null>(h.b, null),
    timeoutMs: numOrNull(h.t),
    dedupKey: h.k ?? null,
    metadata: json<{ [key: string]: Json }>(h.md, {}),
    createdAt: Number(packed[3]),
    runAt: num(h.r, 0),
    startedAt: numOrNull(h.sa),
    finishedAt: numOrNull(h.f),
    leaseToken: h.lt ?? null,
    leaseExpiresAt: numOrNull(h.le),
    workerId: h.w ?? null,
    progress: json<Json>(h.pg, null),
    result: json<Json>(h.rs, null),
    errors: json<AttemptError[]>(h.e, []),
    stalls: num(h.sl, 0),
  };
}

/** Append the add script's eleven ARGV slots for one job (see lua/add-8.lua). */
export function encodeNewJob(job: NewJob, argv: string[]): void {
  const metadata = job.metadata;
  const hasMetadata = metadata !== null && Object.keys(metadata).length > 0;
  argv.push(
    job.id,
    job.name,
    JSON.stringify(job.payload),
    String(job.priority),
    String(job.maxAttempts),
    job.backoff === null ? "" : JSON.stringify(job.backoff),
    job.timeoutMs === null ? "" : String(job.timeoutMs),
    job.dedupKey ?? "",
    hasMetadata ? JSON.stringify(metadata) : "",
    // Times are whole ms: the scripts compare and store integers.
    String(Math.max(0, Math.ceil(job.delayMs))),
    job.runAt === null ? "" : String(Math.round(job.runAt)),
  );
}

/** A schedule as stored: the record without `nextRunAt`, which lives apart (see keys.ts). */
export function encodeSchedule(schedule: ScheduleRecord): { record: string; next: string } {
  const { nextRunAt, ...rest } = schedule;
  return { record: JSON.stringify(rest), next: nextRunAt === null ? "null" : String(nextRunAt) };
}

/** The stored parts of a schedule back as a record. */
export function decodeSchedule(record: string, next: string | null): ScheduleRecord {
  const rest = JSON.parse(record) as Omit<ScheduleRecord, "nextRunAt">;
  const nextRunAt = next === null || next === "null" ? null : Number(next);
  return { ...rest, nextRunAt };
}
