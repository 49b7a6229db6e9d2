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
// their default (null, 0, {}, []) are left out, the payload is cut into chunks of at most
// 64 bytes and the backoff is stored as compact text when it can be. All of it keeps a small
// job small: Redis stores a hash whose values are all short as one compact listpack.

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

/** The payload JSON of a hash: its chunks d, d1, d2, … joined (see lua/includes/common.lua). */
function payloadJson(h: Record<string, string>): string | undefined {
  let json = h.d;
  if (json === undefined) return undefined;
  for (let i = 1; ; i++) {
    const chunk = h[`d${i}`];
    if (chunk === undefined) return json;
    json += chunk;
  }
}

/**
 * A backoff as stored: compact text for the usual shapes (`e 1000 j` is core's default,
 * exponential from 1 s with jitter), else JSON. Compact text never starts with `{`, and it
 * is used only when it decodes to exactly the same JSON, so every backoff round-trips.
 */
export function encodeBackoff(backoff: BackoffOptions): string {
  const json = JSON.stringify(backoff);
  let text: string | null = null;
  if (backoff.type === "fixed") {
    text = `f ${backoff.delayMs}`;
  } else if (backoff.type === "exponential") {
    const jitter = backoff.jitter === undefined ? "-" : backoff.jitter ? "j" : "n";
    text = `e ${backoff.delayMs} ${jitter}`;
  }
  if (text !== null && backoff.maxDelayMs !== undefined) text += ` ${backoff.maxDelayMs}`;
  return text !== null && JSON.stringify(decodeBackoff(text)) === json ? text : json;
}

/** The backoff of a stored `b` field, compact text or JSON. */
export function decodeBackoff(stored: string): BackoffOptions {
  if (stored.startsWith("{")) return JSON.parse(stored) as BackoffOptions;
  const [kind, delay, third, fourth] = stored.split(" ");
  if (kind === "f") {
    return third === undefined
      ? { type: "fixed", delayMs: Number(delay) }
      : { type: "fixed", delayMs: Number(delay), maxDelayMs: Number(third) };
  }
  const backoff: Extract<BackoffOptions, { type: "exponential" }> = {
    type: "exponential",
    delayMs: Number(delay),
  };
  if (third !== "-") backoff.jitter = third === "j";
  if (fourth !== undefined) backoff.maxDelayMs = Number(fourth);
  return backoff;
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
    payload: json<Json>(payloadJson(h), null),
    state: state as JobState,
    priority: Number(packed[1]),
    attempts: num(h.a, 0),
    maxAttempts: Number(packed[2]),
    backoff: h.b === undefined ? null : decodeBackoff(h.b),
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
    job.backoff === null ? "" : encodeBackoff(job.backoff),
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
