import type { JobFilter, StorageAdapter } from "@queueflow/core";

/** What a purge or retention sweep deleted. */
export interface PurgeResult {
  /** The store time the purge was bounded by: nothing that died after it was touched. */
  asOf: number;
  deleted: number;
  byQueue: Record<string, number>;
  /** `done` when a `clean` call of every queue returned 0. */
  stoppedBy: "done" | "max_jobs" | "aborted";
}

/** The settled inputs of one purge. */
export interface PurgePlan {
  adapter: StorageAdapter;
  queues: readonly string[];
  jobFilter: JobFilter;
  /** Delete only jobs that died before this time. */
  finishedBefore: number;
  asOf: number;
  batchSize: number;
  maxJobs: number;
  signal: AbortSignal | undefined;
}

/**
 * Delete matching dead jobs with `clean`, at most `batchSize` per call, queue by queue,
 * until a call deletes none. Idempotent: a job deleted by another process is simply not
 * counted here, so several processes may purge the same queues at once.
 */
export async function purgeMatching(plan: PurgePlan): Promise<PurgeResult> {
  const byQueue = new Map<string, number>();
  let deleted = 0;
  const result = (stoppedBy: PurgeResult["stoppedBy"]): PurgeResult => ({
    asOf: plan.asOf,
    deleted,
    byQueue: Object.fromEntries(byQueue),
    stoppedBy,
  });
  const { finishedBefore: _ignored, ...filter } = plan.jobFilter;
  for (const queue of plan.queues) {
    byQueue.set(queue, 0);
    for (;;) {
      if (plan.signal?.aborted) return result("aborted");
      const room = plan.maxJobs - deleted;
      if (room <= 0) return result("max_jobs");
      const n = await plan.adapter.clean({
        ...filter,
        queue,
        state: "dead",
        finishedBefore: plan.finishedBefore,
        limit: Math.min(plan.batchSize, room),
      });
      if (n === 0) break;
      deleted += n;
      byQueue.set(queue, (byQueue.get(queue) ?? 0) + n);
    }
  }
  return result("done");
}
