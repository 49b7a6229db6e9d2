import type { JobFilter, RetryRequest } from "./contract.js";
import { QueueFlowError } from "./errors.js";
import type { AttemptError, Json } from "./job.js";

// Shared by every adapter, so a filter means the same thing on every store and a malformed
// one (an object smuggled in where a string belongs, a NaN time) gets the same typed error
// before it can reach a store query.

function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

const STRING_FIELDS = ["name", "errorName", "errorClass"] as const;
const TIME_FIELDS = ["finishedAfter", "finishedBefore"] as const;
const COUNT_FIELDS = ["minAttempts", "maxAttempts"] as const;

/**
 * Throws `QF_INVALID_ARGUMENT` unless every filter field set has its type: strings for
 * names and classes, finite times, non-negative integer attempt bounds.
 */
export function checkJobFilter(filter: JobFilter): void {
  for (const field of STRING_FIELDS) {
    const value = filter[field];
    if (value !== undefined && typeof value !== "string") {
      throw invalid(`Filter field ${field} must be a string, got ${typeof value}.`);
    }
  }
  for (const field of TIME_FIELDS) {
    const value = filter[field];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value))) {
      throw invalid(`Filter field ${field} must be a finite time in ms.`);
    }
  }
  for (const field of COUNT_FIELDS) {
    const value = filter[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
      throw invalid(`Filter field ${field} must be a non-negative integer.`);
    }
  }
}

/**
 * A copy of the {@link JobFilter} fields of `source`, checked (see {@link checkJobFilter}):
 * other keys a caller passed, such as store operators, are dropped.
 */
export function pickJobFilter(source: JobFilter): JobFilter {
  checkJobFilter(source);
  const filter: JobFilter = {};
  for (const field of STRING_FIELDS) {
    const value = source[field];
    if (value !== undefined) filter[field] = value;
  }
  for (const field of [...TIME_FIELDS, ...COUNT_FIELDS]) {
    const value = source[field];
    if (value !== undefined) filter[field] = value;
  }
  return filter;
}

/** Throws `QF_INVALID_ARGUMENT` for malformed ids, payloads, `maxAttempts` or `asOf`. */
export function checkRetryRequest(request: RetryRequest): void {
  if (!Array.isArray(request.ids) || request.ids.some((id) => typeof id !== "string")) {
    throw invalid("retryJobs ids must be an array of job id strings.");
  }
  const { payloads, payloadPatch, maxAttempts, asOf } = request;
  if (payloadPatch !== null && typeof payloadPatch !== "object") {
    throw invalid("retryJobs payloadPatch must be an object or null.");
  }
  if (payloads !== undefined && (typeof payloads !== "object" || payloads === null)) {
    throw invalid("retryJobs payloads must be an object of job id to payload.");
  }
  if (maxAttempts !== undefined && !(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1)) {
    throw invalid(`retryJobs maxAttempts must be a positive integer, got ${String(maxAttempts)}.`);
  }
  if (asOf !== undefined && !(typeof asOf === "number" && Number.isFinite(asOf))) {
    throw invalid("retryJobs asOf must be a finite time in ms.");
  }
}

/** The replacement payload `request` carries for job `id` (own keys only), or undefined. */
export function replacementPayload(request: RetryRequest, id: string): Json | undefined {
  const payloads = request.payloads;
  if (payloads === undefined || !Object.hasOwn(payloads, id)) return undefined;
  return payloads[id];
}

/** The class of the latest error in `errors`: what stores index; `unknown` when unclassed. */
export function latestErrorClass(errors: readonly AttemptError[]): string | null {
  if (errors.length === 0) return null;
  return (errors[errors.length - 1] as AttemptError).errorClass ?? "unknown";
}

/** The fields of a job that {@link matchesJobFilter} reads. */
export interface FilterableJob {
  name: string;
  attempts: number;
  finishedAt: number | null;
  errors: readonly AttemptError[];
}

/** Whether `job` matches every field set in `filter`: the reference semantics of {@link JobFilter}. */
export function matchesJobFilter(job: FilterableJob, filter: JobFilter): boolean {
  if (filter.name !== undefined && job.name !== filter.name) return false;
  if (filter.minAttempts !== undefined && job.attempts < filter.minAttempts) return false;
  if (filter.maxAttempts !== undefined && job.attempts > filter.maxAttempts) return false;
  if (filter.finishedAfter !== undefined || filter.finishedBefore !== undefined) {
    const at = job.finishedAt;
    if (at === null) return false;
    if (filter.finishedAfter !== undefined && at < filter.finishedAfter) return false;
    if (filter.finishedBefore !== undefined && !(at < filter.finishedBefore)) return false;
  }
  if (filter.errorName !== undefined || filter.errorClass !== undefined) {
    const last = job.errors[job.errors.length - 1];
    if (last === undefined) return false;
    if (filter.errorName !== undefined && last.name !== filter.errorName) return false;
    if (filter.errorClass !== undefined && (last.errorClass ?? "unknown") !== filter.errorClass) {
      return false;
    }
  }
  return true;
}
