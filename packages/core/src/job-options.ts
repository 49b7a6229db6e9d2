import { checkNewJob } from "./adapter-input.js";
import { QueueFlowError } from "./errors.js";
import type { BackoffOptions, DedupMode, Json, NewJob } from "./job.js";
import { newJobId } from "./job-id.js";
import { defaultAttemptsFor, type Priority, resolvePriority } from "./priority.js";
import {
  assertGroupName,
  assertJobId,
  assertJobName,
  assertJson,
  assertNonNegativeInt,
  assertPositiveInt,
} from "./validate.js";

/** Options of one job at `add`. */
export interface JobOptions {
  /** 0–20 (higher first) or a named level; default `normal` (5). */
  priority?: Priority;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Run no earlier than this time; wins over `delayMs`. */
  runAt?: Date | number;
  /** Total attempts including the first; default by priority band (critical 5 … background 1). */
  attempts?: number;
  /** Delay between attempts; default exponential from 1 s with jitter, capped at 1 h. */
  backoff?: BackoffOptions;
  /** Abort the handler (through its signal) and count a failed attempt after this many ms. */
  timeoutMs?: number;
  /** While a job with this key is not finished, adding another returns the existing one. */
  dedupKey?: string;
  /**
   * How `dedupKey` collapses adds: `live` (default, as above), `throttle` (also for
   * `dedupTtlMs` after the first add, even once that job finished) or `debounce` (a job
   * with the key that has not started takes the new payload and is pushed back to now +
   * `delayMs`). See the README's "Deduplication" section. Needs an adapter with groups.
   */
  dedupMode?: DedupMode;
  /** The throttle window for `dedupMode: "throttle"`, in ms. */
  dedupTtlMs?: number;
  /**
   * The job's group (tenant, account, document): groups take turns in claims and can be
   * limited per group (`Queue.setLimits({ groupConcurrency, groupRateLimit })`).
   */
  group?: string;
  /**
   * Your own id: adding a job with an id that exists returns the existing job. Default: a new
   * UUID version 7, so ids sort by creation time.
   */
  jobId?: string;
  /** JSON metadata kept with the job (trace ids, tenant, …). */
  metadata?: { [key: string]: Json };
}

function assertBackoff(backoff: BackoffOptions): void {
  const ok =
    typeof backoff === "object" &&
    backoff !== null &&
    (backoff.type === "custom"
      ? typeof backoff.name === "string" && backoff.name.length > 0
      : (backoff.type === "fixed" || backoff.type === "exponential") &&
        Number.isSafeInteger(backoff.delayMs) &&
        backoff.delayMs >= 0) &&
    (backoff.maxDelayMs === undefined ||
      (Number.isSafeInteger(backoff.maxDelayMs) && backoff.maxDelayMs >= 0));
  if (!ok) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      `Invalid backoff ${JSON.stringify(backoff)}: use { type: "fixed" | "exponential", delayMs, maxDelayMs? } or { type: "custom", name }.`,
    );
  }
}

/**
 * Validate one job's name, payload and options and build what the store receives.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT`, `QF_INVALID_PAYLOAD` or `QF_PAYLOAD_TOO_LARGE`.
 */
export function buildNewJob(
  queue: string,
  name: string,
  payload: unknown,
  options: JobOptions,
  maxPayloadBytes: number,
): NewJob {
  assertJobName(name);
  assertJson(payload, `Payload of "${name}"`, maxPayloadBytes);
  const priority = resolvePriority(options.priority);
  if (options.jobId !== undefined) assertJobId(options.jobId);
  if (options.delayMs !== undefined) assertNonNegativeInt(options.delayMs, "delayMs");
  if (options.attempts !== undefined) assertPositiveInt(options.attempts, "attempts");
  if (options.timeoutMs !== undefined) assertPositiveInt(options.timeoutMs, "timeoutMs");
  if (options.backoff !== undefined) assertBackoff(options.backoff);
  if (
    options.dedupKey !== undefined &&
    (typeof options.dedupKey !== "string" ||
      options.dedupKey.length === 0 ||
      options.dedupKey.length > 256)
  ) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      "dedupKey must be a string of 1–256 characters.",
    );
  }
  if (options.group !== undefined) assertGroupName(options.group);
  if (options.dedupTtlMs !== undefined) assertPositiveInt(options.dedupTtlMs, "dedupTtlMs");
  let runAt: number | null = null;
  if (options.runAt !== undefined) {
    runAt = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
    if (!Number.isFinite(runAt)) {
      throw new QueueFlowError("QF_INVALID_ARGUMENT", "runAt must be a valid Date or epoch ms.");
    }
  }
  // A copy: defaults are shared by every job, and middleware writes trace context into it.
  const metadata = { ...options.metadata };
  assertJson(metadata, `Metadata of "${name}"`, maxPayloadBytes);
  const job: NewJob = {
    id: options.jobId ?? newJobId(),
    queue,
    name,
    payload,
    priority,
    maxAttempts: options.attempts ?? defaultAttemptsFor(priority),
    backoff: options.backoff ?? null,
    timeoutMs: options.timeoutMs ?? null,
    dedupKey: options.dedupKey ?? null,
    metadata,
    delayMs: options.delayMs ?? 0,
    runAt,
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.dedupMode === undefined ? {} : { dedupMode: options.dedupMode }),
    ...(options.dedupTtlMs === undefined ? {} : { dedupTtlMs: options.dedupTtlMs }),
  };
  // The same checks every adapter makes: a bad mode fails at add, not in the store.
  checkNewJob(job);
  return job;
}
