import type {
  AttemptError,
  BackoffOptions,
  ClaimedJob,
  JobRecord,
  JobState,
  Json,
  NewJob,
  QueueSettings,
  ScheduleRecord,
} from "@queueflow/core";
import type { ObjectId } from "mongodb";
import { jobKey } from "./collections.js";

/**
 * A job document. JSON values the caller owns (payload, result, progress, metadata, backoff)
 * are stored as JSON text: field names like `$where` or `a.b` inside a payload can then never
 * be read as operators or paths, and every JSON value round-trips exactly.
 */
export interface JobDoc {
  /** `queue:id` (see {@link jobKey}): ids are unique per queue through `_id` alone. */
  _id: string;
  queue: string;
  id: string;
  name: string;
  payload: string;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  backoff: string;
  timeoutMs: number | null;
  dedupKey: string | null;
  /** The job's group, or null (also read for a missing field) when it has none. */
  group?: string | null;
  metadata: string;
  createdAt: number;
  runAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  progress: string;
  result: string;
  errors: AttemptError[];
  /** Name of the latest error, kept for filters and stats without reading `errors`. */
  lastErrorName: string | null;
  /**
   * Class of the latest error (`unknown` when it carried none), indexed for dead-letter
   * filters and stats. Absent on documents written before classes existed: read as
   * `unknown` when `lastErrorName` is set.
   */
  lastErrorClass?: string | null;
  stalls: number;
  /** Insertion order: the last tie-breaker of claim order. */
  seq: ObjectId;
  /** Order of entry into the current state: listing order and the listing cursor. */
  stateSeq: ObjectId;
  /**
   * Stamp of the last fenced write that matched, so a bulk write (whose result only counts
   * matches) can tell which of its operations applied.
   */
  op: string | null;
}

/** Queue settings plus the limit bookkeeping claim updates (see operations.ts). */
export interface SettingsDoc {
  _id: string;
  paused: boolean;
  concurrency: number | null;
  rateMax: number | null;
  rateWindowMs: number | null;
  /** Concurrency permits: one per active job of a capped queue, keyed by its lease token. */
  permits: Permit[];
  /** Start times inside the rate window, oldest first, at most `rateMax`. */
  starts: Start[];
  /** Bumped by every write, so claim's read-compute-write is a compare-and-set. */
  v: number;
  /** Per-group cap and sliding rate limit (see groups.ts); absent or null: none. */
  groupConcurrency?: number | null;
  groupRateMax?: number | null;
  groupRateWindowMs?: number | null;
  /** Set once the queue holds grouped jobs: its claims then take turns (see groups.ts). */
  grouped?: boolean;
}

/**
 * One group of a queue (`_id: queue:group`), or the queue's ungrouped jobs as one more turn
 * (`_id: queue:`, `group: null`). See groups.ts for the protocol.
 */
export interface GroupDoc {
  _id: string;
  queue: string;
  group: string | null;
  /**
   * The group's place in the rotation: it may take a turn when `turn <= now`, smallest
   * first. Served groups move to the back (now + 1); a group with only future jobs waits
   * at their due time, a rate-limited one until its window frees; {@link IDLE_TURN} when
   * it has nothing pending.
   */
  turn: number;
  /** At its concurrency cap: out of the rotation until a slot frees. */
  parked: boolean;
  /** Concurrency slots, one per active job (lease token), while `groupConcurrency` is set. */
  slots: Permit[];
  /** The last `groupRateLimit.max` starts, oldest first. */
  starts: Start[];
  /** Bumped by every write that may add pending work: fences the idle correction. */
  v: number;
  /**
   * Which incarnation of the group's document this is (set when an announce creates it;
   * absent on documents from before pruning existed). An idle group's document is pruned and
   * made again by its next job, with `v` starting over: compare-and-sets match `gen` too, so
   * one read from the old document never applies to the new one.
   */
  gen?: string;
}

/** `turn` of a group with nothing pending (above any time). */
export const IDLE_TURN = Number.MAX_SAFE_INTEGER;

export interface Permit {
  id: string;
  at: number;
}

export interface Start {
  id: string;
  t: number;
}

export interface DedupDoc {
  /** `queue:key`. */
  _id: string;
  queue: string;
  jobId: string;
  /** When the key was taken (server clock): a holder still being inserted is this young. */
  at: number;
  /** Throttle: the key holds until this time even once its job finished (see dedup.ts). */
  until?: number | null;
}

export interface ScheduleDoc {
  _id: string;
  queue: string;
  id: string;
  spec: string;
  job: string;
  nextRunAt: number | null;
}

export function toJson(value: Json): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T = Json>(text: string | null | undefined): T {
  return (text === null || text === undefined ? null : JSON.parse(text)) as T;
}

/** A stored attempt error with exactly the contract's fields (never a caller's extra keys). */
export function attemptErrorDoc(error: AttemptError): AttemptError {
  const copy: AttemptError = {
    attempt: Number(error.attempt),
    name: String(error.name),
    message: String(error.message),
    at: Number(error.at),
  };
  if (error.stack !== undefined) copy.stack = String(error.stack);
  if (error.errorClass !== undefined) copy.errorClass = String(error.errorClass);
  return copy;
}

/** The document for a new job at server time `now`. */
export function newJobDoc(job: NewJob, now: number, seq: ObjectId): JobDoc {
  const runAt = job.runAt ?? now + Math.max(0, Math.ceil(job.delayMs));
  return {
    _id: jobKey(job.queue, job.id),
    queue: job.queue,
    id: job.id,
    name: job.name,
    payload: toJson(job.payload),
    state: runAt > now ? "delayed" : "waiting",
    priority: job.priority,
    attempts: 0,
    maxAttempts: job.maxAttempts,
    backoff: JSON.stringify(job.backoff ?? null),
    timeoutMs: job.timeoutMs,
    dedupKey: job.dedupKey,
    group: job.group ?? null,
    metadata: toJson(job.metadata),
    createdAt: now,
    runAt: Math.round(runAt),
    startedAt: null,
    finishedAt: null,
    leaseToken: null,
    leaseExpiresAt: null,
    workerId: null,
    progress: "null",
    result: "null",
    errors: [],
    lastErrorName: null,
    lastErrorClass: null,
    stalls: 0,
    seq,
    stateSeq: seq,
    op: null,
  };
}

/**
 * A document as the contract's record. A delayed job whose time has come is reported as
 * waiting (claim takes it without a promotion write), as the contract's counts do.
 */
export function toJobRecord(doc: JobDoc, now: number): JobRecord {
  const state: JobState = doc.state === "delayed" && doc.runAt <= now ? "waiting" : doc.state;
  return {
    id: doc.id,
    queue: doc.queue,
    name: doc.name,
    payload: fromJson(doc.payload),
    state,
    priority: doc.priority,
    attempts: doc.attempts,
    maxAttempts: doc.maxAttempts,
    backoff: fromJson<BackoffOptions | null>(doc.backoff),
    timeoutMs: doc.timeoutMs,
    dedupKey: doc.dedupKey,
    metadata: fromJson<{ [key: string]: Json }>(doc.metadata),
    createdAt: doc.createdAt,
    runAt: doc.runAt,
    startedAt: doc.startedAt,
    finishedAt: doc.finishedAt,
    leaseToken: doc.leaseToken,
    leaseExpiresAt: doc.leaseExpiresAt,
    workerId: doc.workerId,
    progress: fromJson(doc.progress),
    result: fromJson(doc.result),
    errors: (doc.errors ?? []).map(attemptErrorDoc),
    stalls: doc.stalls,
    ...(doc.group == null ? {} : { group: doc.group }),
  };
}

export function toClaimedJob(doc: JobDoc, now: number): ClaimedJob {
  return toJobRecord(doc, now) as ClaimedJob;
}

export const DEFAULT_SETTINGS: Readonly<QueueSettings> = {
  paused: false,
  concurrency: null,
  rateLimit: null,
};

/** Settings as the contract reads them; group fields appear only when set (absent = null). */
export function toQueueSettings(doc: SettingsDoc | null): QueueSettings {
  if (doc === null) return { ...DEFAULT_SETTINGS };
  const settings: QueueSettings = {
    paused: doc.paused === true,
    concurrency: doc.concurrency ?? null,
    rateLimit:
      doc.rateMax == null || doc.rateWindowMs == null
        ? null
        : { max: doc.rateMax, windowMs: doc.rateWindowMs },
  };
  if (doc.groupConcurrency != null) settings.groupConcurrency = doc.groupConcurrency;
  if (doc.groupRateMax != null && doc.groupRateWindowMs != null) {
    settings.groupRateLimit = { max: doc.groupRateMax, windowMs: doc.groupRateWindowMs };
  }
  return settings;
}

export function scheduleDoc(s: ScheduleRecord): ScheduleDoc {
  return {
    _id: jobKey(s.queue, s.id),
    queue: s.queue,
    id: s.id,
    spec: JSON.stringify(s.spec),
    job: JSON.stringify(s.job),
    nextRunAt: s.nextRunAt,
  };
}

export function toScheduleRecord(doc: ScheduleDoc): ScheduleRecord {
  return {
    queue: doc.queue,
    id: doc.id,
    spec: JSON.parse(doc.spec) as ScheduleRecord["spec"],
    job: JSON.parse(doc.job) as ScheduleRecord["job"],
    nextRunAt: doc.nextRunAt,
  };
}
