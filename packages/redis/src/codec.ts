import type {
  AttemptError,
  BackoffOptions,
  ClaimedJob,
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
  const record: JobRecord = {
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
  if (h.g !== undefined) record.group = h.g;
  return record;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * An id as the index members hold it (packId in lua/includes/common.lua, the same encoding):
 * a canonical lowercase UUID as "\0" and its 16 bytes, any other id as it is. Scripts on hot
 * paths take it ready-made, so Redis' single thread does no per-job string work for it.
 */
export function packId(id: string): string | Buffer {
  if (id.length !== 36 || !UUID.test(id)) return id;
  const packed = Buffer.alloc(17);
  packed.write(
    id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24),
    1,
    "hex",
  );
  return packed;
}

/** The inverse of packId, for a member read back as bytes. */
export function unpackId(member: Buffer): string {
  if (member[0] !== 0 || member.length !== 17) return member.toString("utf8");
  const hex = member.toString("hex", 1);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Payload chunks hold at most CHUNK bytes; payloads over CHUNKED_MAX bytes stay whole. */
const CHUNK = 64;
const CHUNKED_MAX = 1024;

/**
 * A payload JSON as the job hash's fields d, d1, d2, … (see lua/includes/common.lua): chunks
 * of at most 64 UTF-8 bytes, never ending inside a character, so the hash stays a listpack.
 * Pushes field, value pairs onto `out`.
 */
export function chunkPayload(json: string, out: string[]): void {
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= CHUNK || bytes > CHUNKED_MAX) {
    out.push("d", json);
    return;
  }
  let field = 0;
  if (bytes === json.length) {
    // ASCII only: one byte a character.
    for (let from = 0; from < json.length; from += CHUNK, field++) {
      out.push(field === 0 ? "d" : `d${field}`, json.slice(from, from + CHUNK));
    }
    return;
  }
  let from = 0;
  let size = 0;
  for (let i = 0; i < json.length; ) {
    const code = json.charCodeAt(i);
    // A surrogate pair is one 4-byte character; JSON.stringify never leaves one unpaired.
    const units = code >= 0xd800 && code <= 0xdbff ? 2 : 1;
    const width = units === 2 ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    if (size + width > CHUNK) {
      out.push(field === 0 ? "d" : `d${field}`, json.slice(from, i));
      field++;
      from = i;
      size = 0;
    }
    size += width;
    i += units;
  }
  out.push(field === 0 ? "d" : `d${field}`, json.slice(from));
}

/**
 * Append the add script's ARGV for one job (see lua/add-15.lua). Returns the hash fields it
 * passes besides `o`, `r` and `s`, for createdJob.
 */
export function encodeNewJob(job: NewJob, argv: (string | Buffer)[]): string[] {
  const metadata = job.metadata;
  const fields: string[] = [];
  chunkPayload(JSON.stringify(job.payload), fields);
  if (job.backoff !== null) fields.push("b", encodeBackoff(job.backoff));
  if (job.timeoutMs !== null) fields.push("t", String(job.timeoutMs));
  // An empty key is no key, as before: the script skips dedup for it.
  if (job.dedupKey) fields.push("k", job.dedupKey);
  if (metadata !== null && Object.keys(metadata).length > 0) {
    fields.push("md", JSON.stringify(metadata));
  }
  if (job.group !== undefined) fields.push("g", job.group);
  const mode = job.dedupKey ? job.dedupMode : undefined;
  argv.push(
    job.id,
    packId(job.id),
    job.name,
    String(job.priority),
    String(job.maxAttempts),
    job.dedupKey ?? "",
    // Times are whole ms: the scripts compare and store integers.
    String(Math.max(0, Math.ceil(job.delayMs))),
    job.runAt === null ? "" : String(Math.round(job.runAt)),
    job.group ?? "",
    mode === "throttle" ? `t${job.dedupTtlMs}` : mode === "debounce" ? "d" : "",
    String(fields.length),
  );
  for (const f of fields) argv.push(f);
  return fields;
}

/**
 * The record of a job the add script created, from what the client sent (`fields`, from
 * encodeNewJob) and the times the script chose: the hash it stored, decoded as any other.
 */
export function createdJob(
  queue: string,
  job: NewJob,
  fields: readonly string[],
  createdAt: string,
  runAt: string,
): JobRecord {
  const state = Number(runAt) > Number(createdAt) ? "delayed" : "waiting";
  // The seq in `o` (0 here) is not part of the record.
  const o = `${job.priority} ${job.maxAttempts} ${createdAt} 0 ${job.name}`;
  return decodeJob(queue, job.id, ["o", o, "r", runAt, "s", state, ...fields]);
}

/** What a claim call changed on every job it leased (see lua/claim-19.lua). */
export interface LeaseGrant {
  /** The server time of the claim, ms. */
  now: number;
  leaseMs: number;
  /** Tokens are `<tokenPrefix>.<i>` for the i-th job returned, from 1. */
  tokenPrefix: string;
  workerId: string;
}

/**
 * A claimed job from its hash as it was before the claim (the script returns it unchanged, so
 * it reads each hash once) and what the claim changed, the same as the script wrote.
 */
export function claimedJob(
  queue: string,
  id: string,
  flat: FlatHash,
  lease: LeaseGrant,
  index: number,
): ClaimedJob {
  const job = decodeJob(queue, id, flat);
  job.state = "active";
  job.attempts += 1;
  job.startedAt = lease.now;
  job.leaseToken = `${lease.tokenPrefix}.${index}`;
  job.leaseExpiresAt = lease.now + lease.leaseMs;
  job.workerId = lease.workerId;
  return job as ClaimedJob;
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
