import { computeBackoff, DEFAULT_BACKOFF } from "../backoff.js";
import type { ClaimedJob, Settlement } from "../contract.js";
import { classifyError } from "../error-class.js";
import { isQueueFlowError, isUnrecoverableError } from "../errors.js";
import type { AttemptError } from "../job.js";
import { isSnooze } from "../job-context.js";
import type { JobMap } from "../types.js";
import type { WorkerContext } from "./context.js";

const MAX_STACK = 8 * 1024;

function toAttemptError(err: unknown, attempt: number, errorClass: string): AttemptError {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    attempt,
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack.slice(0, MAX_STACK) } : {}),
    at: Date.now(),
    errorClass,
  };
}

/**
 * How an attempt that threw `err` settles: a snooze (asked for, or the worker closing), dead
 * (unrecoverable, no handler, a bad payload or result, attempts used up, or a backoff that
 * threw), or a retry after the job's backoff.
 */
export function failureSettlement<M extends JobMap>(
  ctx: WorkerContext<M>,
  job: ClaimedJob,
  err: unknown,
): Settlement {
  const base = { id: job.id, token: job.leaseToken };
  if (isSnooze(err)) return { kind: "snooze", ...base, delayMs: err.delayMs };
  // Closing hands an unfinished job back without spending its attempt.
  if (isQueueFlowError(err, "QF_CLOSED")) return { kind: "snooze", ...base, delayMs: 0 };
  const error = toAttemptError(err, job.attempts, classify(ctx, err, job));
  if (
    isUnrecoverableError(err) ||
    isQueueFlowError(err, "QF_NO_HANDLER") ||
    isQueueFlowError(err, "QF_INVALID_PAYLOAD") ||
    isQueueFlowError(err, "QF_PAYLOAD_TOO_LARGE") ||
    job.attempts >= job.maxAttempts
  ) {
    return { kind: "dead", ...base, error };
  }
  try {
    const delayMs = computeBackoff(
      job.backoff ?? DEFAULT_BACKOFF,
      job.attempts,
      err,
      job,
      ctx.options.backoffStrategies,
    );
    return { kind: "retry", ...base, error, delayMs };
  } catch (strategyError) {
    const error = toAttemptError(strategyError, job.attempts, classify(ctx, strategyError, job));
    return { kind: "dead", ...base, error };
  }
}

/** The user's classifier wins; a classifier that throws must not lose the failure. */
function classify<M extends JobMap>(ctx: WorkerContext<M>, err: unknown, job: ClaimedJob): string {
  const custom = ctx.options.classifyError;
  if (custom !== undefined) {
    try {
      const errorClass = custom(err, job);
      if (typeof errorClass === "string" && errorClass !== "") return errorClass;
    } catch (classifierError) {
      ctx.emit("error", classifierError);
    }
  }
  return classifyError(err);
}
