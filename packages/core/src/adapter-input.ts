import type { ClaimRequest, EnqueueOptions, QueueSettings, Settlement } from "./contract.js";
import { QueueFlowError } from "./errors.js";
import { JOB_STATES, type JobState, type NewJob } from "./job.js";
import { MAX_PRIORITY, MIN_PRIORITY } from "./priority.js";
import { assertGroupName } from "./validate.js";

const DEDUP_MODES = new Set(["live", "throttle", "debounce"]);

// Guards for adapter authors. The core validates user input before it reaches an adapter;
// these checks cover what a direct caller of an adapter could pass that would corrupt stored
// jobs or the claim order (a priority outside 0–20, a NaN time, an unknown settlement kind),
// so every adapter answers with the same typed error instead of a store-specific one.

function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Throws `QF_INVALID_ARGUMENT` for a priority outside 0–20 or a non-finite time. */
export function checkNewJob(job: NewJob): void {
  const p = job.priority;
  if (!Number.isInteger(p) || p < MIN_PRIORITY || p > MAX_PRIORITY) {
    throw invalid(
      `Job ${job.id}: priority must be an integer ${MIN_PRIORITY}–${MAX_PRIORITY}, got ${String(p)}.`,
    );
  }
  if (job.runAt !== null && !Number.isFinite(job.runAt)) {
    throw invalid(`Job ${job.id}: runAt must be a finite time in ms or null.`);
  }
  if (!Number.isFinite(job.delayMs)) {
    throw invalid(`Job ${job.id}: delayMs must be a finite number of ms.`);
  }
  if (job.group !== undefined) assertGroupName(job.group);
  const mode = job.dedupMode;
  if (mode === undefined || mode === "live") return;
  if (!DEDUP_MODES.has(mode) || job.dedupKey === null) {
    throw invalid(
      `Job ${job.id}: dedupMode must be live, throttle or debounce, with a dedupKey, got ${JSON.stringify(mode)}.`,
    );
  }
  const ttl = job.dedupTtlMs;
  if (mode === "throttle" && !(typeof ttl === "number" && Number.isSafeInteger(ttl) && ttl > 0)) {
    throw invalid(`Job ${job.id}: throttle needs dedupTtlMs, a positive integer of ms.`);
  }
}

/**
 * For adapters without the `transactions` capability: throws `QF_NOT_SUPPORTED` with
 * `message` when the caller passed a transaction handle, so nothing is stored outside it.
 */
export function refuseTransaction(options: EnqueueOptions | undefined, message: string): void {
  if (options?.tx !== undefined && options.tx !== null) {
    throw new QueueFlowError("QF_NOT_SUPPORTED", message);
  }
}

/** Throws `QF_INVALID_ARGUMENT` for a negative or fractional limit or a non-positive lease. */
export function checkClaim(request: ClaimRequest): void {
  if (!isNonNegativeInt(request.limit)) {
    throw invalid(`claim limit must be a non-negative integer, got ${String(request.limit)}.`);
  }
  if (!(Number.isFinite(request.leaseMs) && request.leaseMs > 0)) {
    throw invalid(`leaseMs must be a positive number of ms, got ${String(request.leaseMs)}.`);
  }
}

/** Throws `QF_INVALID_ARGUMENT` unless `limit` is an integer of at least `min`. */
export function checkLimit(limit: number, what: string, min: 0 | 1): void {
  if (!isNonNegativeInt(limit) || limit < min) {
    throw invalid(
      `${what} limit must be ${min === 0 ? "a non-negative" : "a positive"} integer, got ${String(limit)}.`,
    );
  }
}

/** Throws `QF_INVALID_ARGUMENT` for a state that is not one of {@link JOB_STATES}. */
export function checkState(state: JobState): void {
  if (!JOB_STATES.includes(state)) throw invalid(`Unknown job state ${JSON.stringify(state)}.`);
}

/** Throws `QF_INVALID_ARGUMENT` unless `leaseMs` is a positive number. */
export function checkLeaseMs(leaseMs: number): void {
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) {
    throw invalid(`leaseMs must be a positive number of ms, got ${String(leaseMs)}.`);
  }
}

const SETTLE_KINDS = new Set(["complete", "retry", "dead", "snooze"]);

/** Throws `QF_INVALID_ARGUMENT` for an unknown kind or a non-finite delay in any settlement. */
export function checkSettlements(settlements: readonly Settlement[]): void {
  for (const s of settlements) {
    if (!SETTLE_KINDS.has(s.kind)) {
      throw invalid(
        `Unknown settlement kind ${JSON.stringify(s.kind)} for job ${s.id}: use complete, retry, dead or snooze.`,
      );
    }
    if ((s.kind === "retry" || s.kind === "snooze") && !Number.isFinite(s.delayMs)) {
      throw invalid(`Settlement of job ${s.id}: delayMs must be a finite number of ms.`);
    }
  }
}

/** Throws `QF_INVALID_ARGUMENT` for a malformed concurrency or rate limit (queue or group). */
export function checkSettingsPatch(patch: Partial<QueueSettings>): void {
  for (const field of ["concurrency", "groupConcurrency"] as const) {
    const value = patch[field];
    if (value !== undefined && value !== null && !isNonNegativeInt(value)) {
      throw invalid(`${field} must be a non-negative integer or null, got ${String(value)}.`);
    }
  }
  for (const field of ["rateLimit", "groupRateLimit"] as const) {
    const limit = patch[field];
    if (limit === undefined || limit === null) continue;
    if (
      typeof limit !== "object" ||
      !isNonNegativeInt(limit.max) ||
      !(Number.isFinite(limit.windowMs) && limit.windowMs > 0)
    ) {
      throw invalid(`${field} needs an integer max >= 0 and a positive windowMs.`);
    }
  }
}
