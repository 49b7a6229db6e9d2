import type { ClaimRequest, QueueSettings, Settlement } from "@queueflow/core";
import {
  JOB_STATES,
  type JobState,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type NewJob,
  QueueFlowError,
} from "@queueflow/core";

// The core validates user input before it reaches an adapter; these checks guard what would
// corrupt stored documents or the claim order (a priority outside 0–20, a NaN time), and
// every value that reaches a MongoDB filter is checked to be the primitive it claims to be,
// so an object such as `{ $gt: "" }` can never act as a query operator.

function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

function isNonNegativeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

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
}

export function checkClaim(request: ClaimRequest): void {
  if (!isNonNegativeInt(request.limit)) {
    throw invalid(`claim limit must be a non-negative integer, got ${String(request.limit)}.`);
  }
  if (!(Number.isFinite(request.leaseMs) && request.leaseMs > 0)) {
    throw invalid(`leaseMs must be a positive number of ms, got ${String(request.leaseMs)}.`);
  }
}

export function checkLimit(limit: number, what: string, min: 0 | 1): void {
  if (!isNonNegativeInt(limit) || limit < min) {
    throw invalid(
      `${what} limit must be ${min === 0 ? "a non-negative" : "a positive"} integer, got ${String(limit)}.`,
    );
  }
}

export function checkState(state: JobState): void {
  if (!JOB_STATES.includes(state)) throw invalid(`Unknown job state ${JSON.stringify(state)}.`);
}

export function checkLeaseMs(leaseMs: number): void {
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) {
    throw invalid(`leaseMs must be a positive number of ms, got ${String(leaseMs)}.`);
  }
}

const SETTLE_KINDS = new Set(["complete", "retry", "dead", "snooze"]);

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

export function checkSettingsPatch(patch: Partial<QueueSettings>): void {
  const { concurrency, rateLimit } = patch;
  if (concurrency !== undefined && concurrency !== null && !isNonNegativeInt(concurrency)) {
    throw invalid(
      `concurrency must be a non-negative integer or null, got ${String(concurrency)}.`,
    );
  }
  if (rateLimit !== undefined && rateLimit !== null) {
    if (
      !isNonNegativeInt(rateLimit.max) ||
      !(Number.isFinite(rateLimit.windowMs) && rateLimit.windowMs > 0)
    ) {
      throw invalid("rateLimit needs an integer max >= 0 and a positive windowMs.");
    }
  }
}

/** A value that goes into a filter as an equality: must be a string, never an object. */
export function checkString(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw invalid(`${what} must be a string, got ${value === null ? "null" : typeof value}.`);
  }
  return value;
}

/** An optional string filter (listJobs name / errorName). */
export function checkOptionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  return checkString(value, what);
}

export function checkFiniteNumber(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw invalid(`${what} must be a finite number, got ${String(value)}.`);
  }
  return value;
}
