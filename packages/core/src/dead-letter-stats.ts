import { type AgeBucket, DEAD_LETTER_AGE_BUCKETS_MS, type DeadLetterStats } from "./contract.js";

/** Stats of a queue with no dead jobs: what every adapter starts from. */
export function emptyDeadLetterStats(): DeadLetterStats {
  return {
    total: 0,
    byName: {},
    byError: {},
    byErrorClass: {},
    oldestFinishedAt: null,
    newestFinishedAt: null,
    byAge: emptyAgeBuckets(),
  };
}

/** One zero-count bucket per bound of {@link DEAD_LETTER_AGE_BUCKETS_MS}, then the open one. */
export function emptyAgeBuckets(): AgeBucket[] {
  return [
    ...DEAD_LETTER_AGE_BUCKETS_MS.map((maxAgeMs) => ({ maxAgeMs, count: 0 })),
    { maxAgeMs: null, count: 0 },
  ];
}

/** Index into {@link DeadLetterStats.byAge} of a job dead for `ageMs`. */
export function ageBucketIndex(ageMs: number): number {
  const bounds = DEAD_LETTER_AGE_BUCKETS_MS;
  for (let i = 0; i < bounds.length; i++) {
    if (ageMs < (bounds[i] as number)) return i;
  }
  return bounds.length;
}
