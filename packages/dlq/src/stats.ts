import type { AgeBucket, DeadLetterStats, StorageAdapter } from "@queueflow/core";
import { emptyAgeBuckets } from "@queueflow/core/adapter";
import { mapBounded } from "./validate.js";

/**
 * Dead-letter statistics across queues, summed from each queue's
 * `StorageAdapter.deadLetterStats` (computed in the store: no dead job is read).
 */
export interface DeadLetterSummary {
  /** Store time when the stats were requested, ms. */
  at: number;
  total: number;
  byQueue: Record<string, number>;
  /** By job name, summed across queues. */
  byName: Record<string, number>;
  /** By the class of each job's latest error (`unknown` when it has none). */
  byErrorClass: Record<string, number>;
  /** By the `name` of each job's latest error. */
  byErrorName: Record<string, number>;
  oldestFinishedAt: number | null;
  newestFinishedAt: number | null;
  /** The age histogram (buckets of core's `DEAD_LETTER_AGE_BUCKETS_MS`), summed. */
  byAge: AgeBucket[];
  /** Each queue's stats as its adapter returned them. */
  queues: Record<string, DeadLetterStats>;
}

/** At most this many queues' stats are requested at once. */
const STATS_CONCURRENCY = 8;

/** Fetch and combine the stats of `queues`. */
export async function combinedStats(
  adapter: StorageAdapter,
  queues: readonly string[],
): Promise<DeadLetterSummary> {
  const at = await adapter.now();
  const perQueue = await mapBounded(queues, STATS_CONCURRENCY, (q) => adapter.deadLetterStats(q));
  return combineStats(at, queues, perQueue);
}

/** Sum per-queue stats (same order as `queues`) into one summary. */
export function combineStats(
  at: number,
  queues: readonly string[],
  perQueue: readonly DeadLetterStats[],
): DeadLetterSummary {
  // Maps, then Object.fromEntries: error names are arbitrary strings, and "__proto__" must
  // become a key, not a prototype.
  const byQueue = new Map<string, number>();
  const byName = new Map<string, number>();
  const byErrorClass = new Map<string, number>();
  const byErrorName = new Map<string, number>();
  const byAge = emptyAgeBuckets();
  const each = new Map<string, DeadLetterStats>();
  let total = 0;
  let oldest: number | null = null;
  let newest: number | null = null;
  queues.forEach((queue, i) => {
    const s = perQueue[i] as DeadLetterStats;
    each.set(queue, s);
    total += s.total;
    byQueue.set(queue, s.total);
    addAll(byName, s.byName);
    addAll(byErrorClass, s.byErrorClass);
    addAll(byErrorName, s.byError);
    s.byAge.forEach((bucket, b) => {
      const target = byAge.find((x) => x.maxAgeMs === bucket.maxAgeMs) ?? byAge[b];
      if (target !== undefined) target.count += bucket.count;
    });
    if (s.oldestFinishedAt !== null)
      oldest = Math.min(oldest ?? s.oldestFinishedAt, s.oldestFinishedAt);
    if (s.newestFinishedAt !== null)
      newest = Math.max(newest ?? s.newestFinishedAt, s.newestFinishedAt);
  });
  return {
    at,
    total,
    byQueue: Object.fromEntries(byQueue),
    byName: Object.fromEntries(byName),
    byErrorClass: Object.fromEntries(byErrorClass),
    byErrorName: Object.fromEntries(byErrorName),
    oldestFinishedAt: oldest,
    newestFinishedAt: newest,
    byAge,
    queues: Object.fromEntries(each),
  };
}

function addAll(into: Map<string, number>, counts: Record<string, number>): void {
  for (const [key, n] of Object.entries(counts)) into.set(key, (into.get(key) ?? 0) + n);
}
