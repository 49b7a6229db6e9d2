import { QueueFlowError } from "./errors.js";
import type { BackoffOptions, JobRecord } from "./job.js";

/** A user-supplied backoff: the delay in ms before the next attempt. */
export type BackoffFunction = (attempt: number, error: unknown, job: JobRecord) => number;

/** Ceiling applied when a backoff sets no `maxDelayMs`: one hour. */
export const DEFAULT_MAX_BACKOFF_MS = 3_600_000;

/** Backoff used when a job sets none. */
export const DEFAULT_BACKOFF: BackoffOptions = { type: "exponential", delayMs: 1000, jitter: true };

/**
 * The delay before retrying after `attempt` (1-based) failed, capped by `maxDelayMs`.
 * Exponential doubles from `delayMs`; with jitter it draws uniformly from [delay/2, delay]
 * so a burst of failures does not retry in lockstep.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` when a custom strategy is not registered.
 */
export function computeBackoff(
  backoff: BackoffOptions,
  attempt: number,
  error: unknown,
  job: JobRecord,
  strategies: Readonly<Record<string, BackoffFunction>> = {},
  random: () => number = Math.random,
): number {
  const cap = backoff.maxDelayMs ?? DEFAULT_MAX_BACKOFF_MS;
  let delay: number;
  switch (backoff.type) {
    case "fixed":
      delay = backoff.delayMs;
      break;
    case "exponential": {
      delay = Math.min(cap, backoff.delayMs * 2 ** Math.max(0, attempt - 1));
      if (backoff.jitter) delay = delay / 2 + random() * (delay / 2);
      break;
    }
    case "custom": {
      const strategy = strategies[backoff.name];
      if (strategy === undefined) {
        throw new QueueFlowError(
          "QF_INVALID_ARGUMENT",
          `Backoff strategy "${backoff.name}" is not registered; pass it in the worker's backoffStrategies option.`,
        );
      }
      delay = strategy(attempt, error, job);
      break;
    }
  }
  if (!Number.isFinite(delay) || delay < 0) delay = 0;
  return Math.round(Math.min(cap, delay));
}
