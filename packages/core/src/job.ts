/** The states of the job lifecycle (see DESIGN.md). */
export type JobState = "waiting" | "delayed" | "active" | "completed" | "dead" | "cancelled";

/** Every state, in lifecycle order. */
export const JOB_STATES: readonly JobState[] = [
  "waiting",
  "delayed",
  "active",
  "completed",
  "dead",
  "cancelled",
];

/** States a job never leaves on its own. */
export const TERMINAL_STATES: readonly JobState[] = ["completed", "dead", "cancelled"];

/** True for `completed`, `dead` and `cancelled`. */
export function isTerminal(state: JobState): boolean {
  return state === "completed" || state === "dead" || state === "cancelled";
}

/** A JSON value: what payloads, results, progress and metadata are made of. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One failed attempt, kept on the job as its audit trail. */
export interface AttemptError {
  /** The attempt number (1-based) that failed. */
  attempt: number;
  name: string;
  message: string;
  stack?: string;
  /** When it failed, ms since the epoch on the store's clock. */
  at: number;
  /**
   * What kind of failure it was (see {@link ErrorClass}), decided when it was recorded.
   * Stores index the class of a job's latest error for dead-letter filters and stats, and
   * treat a missing class as `unknown`.
   */
  errorClass?: string;
}

/**
 * The classes a failure is sorted into when it is recorded. A worker's `classifyError`
 * option may return any other string as well.
 *
 * - `timeout`: the handler ran past the job's timeout, or an operation it awaited timed out;
 * - `connection`: a network or store connection failed (refused, reset, unreachable);
 * - `validation`: the input was malformed (schema, parse or validation errors);
 * - `unrecoverable`: the handler threw an `UnrecoverableError`;
 * - `rate_limited`: a dependency refused the call for being over its rate limit (429);
 * - `stalled`: the job's lease expired too often (a crashed or blocked worker);
 * - `unknown`: anything else.
 */
export type ErrorClass =
  | "timeout"
  | "connection"
  | "validation"
  | "unrecoverable"
  | "rate_limited"
  | "stalled"
  | "unknown";

/** How the delay before a retry grows. `jitter` spreads retries of many jobs apart. */
export type BackoffOptions =
  | { type: "fixed"; delayMs: number; maxDelayMs?: number }
  | { type: "exponential"; delayMs: number; maxDelayMs?: number; jitter?: boolean }
  | { type: "custom"; name: string; maxDelayMs?: number };

/**
 * A job as the store keeps it. Times are ms since the epoch on the store's clock.
 * Adapters store every field and hand it back unchanged unless a transition sets it.
 */
export interface JobRecord {
  id: string;
  queue: string;
  name: string;
  payload: Json;
  state: JobState;
  /** 0–20, higher runs first. */
  priority: number;
  /** How many times the job has been claimed (started). */
  attempts: number;
  maxAttempts: number;
  /** The job's own backoff; null when it set none, and `DEFAULT_BACKOFF` applies. */
  backoff: BackoffOptions | null;
  timeoutMs: number | null;
  dedupKey: string | null;
  metadata: { [key: string]: Json };
  createdAt: number;
  /** When the job is (or was) due. */
  runAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Set while active: the token that fences settle calls. */
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  progress: Json;
  result: Json;
  errors: AttemptError[];
  /** How many times its lease expired while active. */
  stalls: number;
  /** The group (tenant, account, document) the job belongs to; absent when none. */
  group?: string;
}

/**
 * How a `dedupKey` collapses adds (see the core README for the full semantics):
 * - `live` (default): an add returns the job that holds the key while it is not finished;
 * - `throttle`: as `live`, and also for `dedupTtlMs` after the add that created the job,
 *   even once it finished (as long as that job still exists);
 * - `debounce`: an add whose key is held by a job that has not started yet replaces that
 *   job's payload and pushes its due time to now + the add's `delayMs` (trailing edge); when
 *   no job with the key waits (none, or it is already running or finished), it creates one.
 */
export type DedupMode = "live" | "throttle" | "debounce";

/**
 * A job as handed to the store at enqueue. The store sets state, times and counters
 * (attempts and stalls 0, errors empty, progress and result null, lease fields null).
 */
export interface NewJob {
  id: string;
  queue: string;
  name: string;
  payload: Json;
  priority: number;
  maxAttempts: number;
  /**
   * null when the job set none: the Worker applies `DEFAULT_BACKOFF` at retry time, and
   * stores keep no copy of the default in every row.
   */
  backoff: BackoffOptions | null;
  timeoutMs: number | null;
  dedupKey: string | null;
  metadata: { [key: string]: Json };
  /** Run no earlier than this many ms after the store's now (0: now). */
  delayMs: number;
  /** Absolute due time, ms since the epoch; wins over `delayMs` when set. */
  runAt: number | null;
  /** The job's group (capability `groups`); absent or undefined for none. */
  group?: string;
  /** How `dedupKey` collapses adds; default `live`. Other modes need capability `groups`. */
  dedupMode?: DedupMode;
  /** The throttle window in ms, for `dedupMode: "throttle"`. */
  dedupTtlMs?: number;
}
