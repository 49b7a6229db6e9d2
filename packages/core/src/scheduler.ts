import type { StorageAdapter } from "./contract.js";
import { firingJobId, followingRun } from "./schedule.js";

/** What one {@link fireDueSchedules} pass did. */
export interface FiringReport {
  /** Jobs this pass added (a firing another scheduler already added is not counted). */
  added: number;
  /** Earliest next run among the queue's schedules, to sleep until. */
  nextRunAt: number | null;
}

/**
 * Fire every due schedule of a queue once. Safe with any number of schedulers at once: the
 * firing's job id is derived from the run time, so the store adds it once, and the advance is
 * a compare-and-set. Adding before advancing means a crash in between re-fires the same id
 * (a no-op) instead of losing the run.
 */
export async function fireDueSchedules(
  adapter: StorageAdapter,
  queue: string,
): Promise<FiringReport> {
  const [now, schedules] = await Promise.all([adapter.now(), adapter.listSchedules(queue)]);
  let added = 0;
  let nextRunAt: number | null = null;
  for (const s of schedules) {
    let runAt = s.nextRunAt;
    if (runAt !== null && runAt <= now) {
      const [result] = await adapter.enqueue([
        {
          ...s.job,
          id: firingJobId(s.id, runAt),
          queue,
          metadata: { ...s.job.metadata, scheduleId: s.id, scheduledFor: runAt },
          dedupKey: null,
          delayMs: 0,
          runAt: null,
        },
      ]);
      if (result?.created) added++;
      const following = followingRun(s.spec, runAt, now);
      await adapter.advanceSchedule({
        queue,
        id: s.id,
        expectedRunAt: runAt,
        nextRunAt: following,
      });
      runAt = following;
    }
    if (runAt !== null && (nextRunAt === null || runAt < nextRunAt)) nextRunAt = runAt;
  }
  return { added, nextRunAt };
}
