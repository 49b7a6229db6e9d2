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
}

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
}

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
  backoff: BackoffOptions | null;
  timeoutMs: number | null;
  dedupKey: string | null;
  metadata: { [key: string]: Json };
  /** Run no earlier than this many ms after the store's now (0: now). */
  delayMs: number;
  /** Absolute due time, ms since the epoch; wins over `delayMs` when set. */
  runAt: number | null;
}
