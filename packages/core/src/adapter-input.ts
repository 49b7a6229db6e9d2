import type {
  ClaimRequest,
  CleanRequest,
  EnqueueOptions,
  QueueSettings,
  Settlement,
} from "./contract.js";
import { QueueFlowError } from "./errors.js";
import { isTerminal, JOB_STATES, type JobState, type NewJob } from "./job.js";
import { checkJobFilter } from "./job-filter.js";
import { MAX_PRIORITY, MIN_PRIORITY } from "./priority.js";
import { assertGroupName } from "./validate.js";

const DEDUP_MODES = new Set(["live", "throttle", "debounce"]);

// The guards of the checked edge (CheckedAdapter). The core validates user input before it
// reaches an adapter; these checks cover what a direct caller of an adapter could pass that
// would corrupt stored jobs or the claim order (a priority outside 0–20, a NaN time, an
// unknown settlement kind, an object where a store expects a string), so every adapter
// answers with the same typed error instead of a store-specific one.

/** The `QF_INVALID_ARGUMENT` error for `message`: what every guard throws. */
export function invalidArgument(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

const invalid = invalidArgument;

/**
 * Throws `QF_INVALID_ARGUMENT` unless `value` is a string: a store that puts it into a query
 * as an equality (MongoDB) must never receive an object such as `{ $gt: "" }`.
 */
export function checkString(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw invalid(`${what} must be a string, got ${value === null ? "null" : typeof value}.`);
  }
  return value;
}

/** The `QF_INVALID_ARGUMENT` error for a list cursor this store never handed out. */
export function invalidCursor(cursor: unknown): QueueFlowError {
  return invalid(
    `Invalid cursor ${JSON.stringify(cursor)}: pass back the nextCursor of a previous page of the same state.`,
  );
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Throws `QF_INVALID_ARGUMENT` for a priority outside 0–20 or a non-finite time. */
export function checkNewJob(job: NewJob): void {
  checkString(job.queue, "job.queue");
  checkString(job.id, "job.id");
  if (job.id.length === 0) throw invalid("Every job needs a non-empty string id.");
  checkString(job.name, "job.name");
  if (job.dedupKey !== null) checkString(job.dedupKey, "job.dedupKey");
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

/**
 * Throws `QF_INVALID_ARGUMENT` for a non-string queue or worker id, a negative or fractional
 * limit or a non-positive lease.
 */
export function checkClaim(request: ClaimRequest): void {
  checkString(request.queue, "queue");
  checkString(request.workerId, "workerId");
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

/**
 * Throws `QF_INVALID_ARGUMENT` for an unknown kind, a non-string id or token, or a
 * non-finite delay in any settlement.
 */
export function checkSettlements(settlements: readonly Settlement[]): void {
  for (const s of settlements) {
    checkString(s.id, "settlement id");
    checkString(s.token, "settlement token");
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

/** Throws `QF_INVALID_ARGUMENT` unless every lease names its job and token by string. */
export function checkLeases(leases: readonly { id: string; token: string }[]): void {
  for (const l of leases) {
    checkString(l.id, "lease id");
    checkString(l.token, "lease token");
  }
}

/**
 * Throws `QF_INVALID_ARGUMENT` for a clean of a state that is not terminal, a negative or
 * fractional limit, a missing or non-finite `finishedBefore`, or a malformed filter.
 */
export function checkCleanRequest(request: CleanRequest): void {
  checkString(request.queue, "queue");
  if (!isTerminal(request.state)) {
    throw invalid(
      `clean only removes terminal jobs (completed, dead, cancelled), not ${JSON.stringify(request.state)}.`,
    );
  }
  checkLimit(request.limit, "clean", 0);
  if (!(typeof request.finishedBefore === "number" && Number.isFinite(request.finishedBefore))) {
    throw invalid("clean needs finishedBefore, a finite time in ms.");
  }
  checkJobFilter(request);
}

/**
 * Throws `QF_INVALID_ARGUMENT` for a malformed concurrency or rate limit (queue or group),
 * or a `paused` that is not a boolean.
 */
export function checkSettingsPatch(patch: Partial<QueueSettings>): void {
  if (patch.paused !== undefined && typeof patch.paused !== "boolean") {
    throw invalid("paused must be a boolean.");
  }
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
