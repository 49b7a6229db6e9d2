/** The most jobs `prefetch: "auto"` holds ahead of a worker's slots. */
export const AUTO_PREFETCH_MAX = 500;

/** Weight of the newest sample in the running averages. */
const SMOOTHING = 0.2;

/** A handler shorter than this counts as this long, so the ratio below stays finite. */
const MIN_RUN_MS = 0.001;

function smooth(average: number | undefined, sample: number): number {
  return average === undefined ? sample : average + SMOOTHING * (sample - average);
}

/**
 * How many jobs a worker holds ahead of its slots. A number is fixed. `"auto"` holds about one
 * claim round trip's worth of work: with handlers of `run` ms each and claims answered in
 * `claim` ms, `concurrency` slots finish `concurrency × claim / run` jobs while a claim is in
 * flight, and that many are buffered (at most {@link AUTO_PREFETCH_MAX}), so no slot waits for
 * a claim. Handlers longer than a claim round trip get no buffer at all: the buffer's costs
 * (jobs other workers cannot take, a later higher-priority job waiting behind them) are then
 * bounded by one round trip's worth of work. Until both have been measured, nothing is held.
 */
export class PrefetchSize {
  readonly #fixed: number | undefined;
  #claimMs: number | undefined;
  #runMs: number | undefined;

  constructor(prefetch: number | "auto") {
    this.#fixed = prefetch === "auto" ? undefined : prefetch;
  }

  /** A claim round trip took `ms`. */
  claimed(ms: number): void {
    this.#claimMs = smooth(this.#claimMs, ms);
  }

  /** A handler ran for `ms`. */
  ran(ms: number): void {
    this.#runMs = smooth(this.#runMs, ms);
  }

  /** Jobs to hold ahead of `concurrency` slots now. */
  size(concurrency: number): number {
    if (this.#fixed !== undefined) return this.#fixed;
    if (this.#claimMs === undefined || this.#runMs === undefined) return 0;
    const ahead = Math.floor((concurrency * this.#claimMs) / Math.max(this.#runMs, MIN_RUN_MS));
    return Math.min(AUTO_PREFETCH_MAX, ahead);
  }
}
