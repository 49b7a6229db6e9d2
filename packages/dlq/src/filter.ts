import type { JobFilter } from "@queueflow/core";
import { pickJobFilter } from "@queueflow/core/adapter";
import { invalid, timeMs } from "./validate.js";

/**
 * Which dead jobs an operation applies to. Every field set must match; an empty filter
 * matches every dead job of every queue the {@link DeadLetters} instance was given.
 */
export interface DeadLetterFilter {
  /** Only these queues (each must be one of the instance's `queues`). Default: all of them. */
  queue?: string | readonly string[];
  /** Only jobs with this job name. */
  name?: string;
  /** Only jobs whose latest error has this class (`unknown` also matches an unclassed error). */
  errorClass?: string;
  /** Only jobs whose latest error has this `name` (e.g. `TimeoutError`). */
  errorName?: string;
  /** Only jobs that died at or after this time (store clock). */
  failedAfter?: number | Date;
  /** Only jobs that died before this time (store clock). */
  failedBefore?: number | Date;
  /** Only jobs that were started at least this many times. */
  minAttempts?: number;
  /** Only jobs that were started at most this many times. */
  maxAttempts?: number;
}

/** A {@link DeadLetterFilter} checked and split into the queues and the store's filter. */
export interface ResolvedFilter {
  queues: string[];
  jobFilter: JobFilter;
}

/**
 * Check `filter` against the configured queues and map it onto core's {@link JobFilter}.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a queue outside `configured`, a field of
 * the wrong type, or a time that is not finite.
 */
export function resolveFilter(
  filter: DeadLetterFilter | undefined,
  configured: readonly string[],
): ResolvedFilter {
  if (filter === undefined) return { queues: [...configured], jobFilter: {} };
  if (typeof filter !== "object" || filter === null) {
    throw invalid("A dead-letter filter must be an object of filter fields.");
  }
  const queues = selectQueues(filter.queue, configured);
  const jobFilter = pickJobFilter({
    name: filter.name,
    errorClass: filter.errorClass,
    errorName: filter.errorName,
    finishedAfter:
      filter.failedAfter === undefined ? undefined : timeMs(filter.failedAfter, "failedAfter"),
    finishedBefore:
      filter.failedBefore === undefined ? undefined : timeMs(filter.failedBefore, "failedBefore"),
    minAttempts: filter.minAttempts,
    maxAttempts: filter.maxAttempts,
  });
  return { queues, jobFilter };
}

function selectQueues(
  queue: string | readonly string[] | undefined,
  configured: readonly string[],
): string[] {
  if (queue === undefined) return [...configured];
  const wanted = typeof queue === "string" ? [queue] : queue;
  if (!Array.isArray(wanted) || wanted.length === 0) {
    throw invalid("Filter field queue must be a queue name or a non-empty array of them.");
  }
  for (const q of wanted) {
    if (typeof q !== "string" || !configured.includes(q)) {
      throw invalid(
        `Queue ${JSON.stringify(q)} is not one of this DeadLetters' queues (${configured.join(", ")}); add it to the queues option.`,
      );
    }
  }
  // Configured order, so paging and batch order do not depend on how the caller listed them.
  return configured.filter((q) => wanted.includes(q));
}

/** The filter's `finishedBefore` narrowed so nothing that died after `asOf` is included. */
export function boundedBy(jobFilter: JobFilter, asOf: number): number {
  // Store times are ms: "at or before asOf" is "before asOf + 1".
  return Math.min(jobFilter.finishedBefore ?? Number.POSITIVE_INFINITY, asOf + 1);
}
