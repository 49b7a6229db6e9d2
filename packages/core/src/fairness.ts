import { PRIORITY_BANDS, type PriorityLevel } from "./priority.js";

/** Share of claims per priority band in weighted mode, e.g. `{ high: 60, normal: 30, low: 10 }`. */
export type BandWeights = Partial<Record<PriorityLevel, number>>;

/** A claim slice: how many jobs to ask for from one priority range. */
export interface BandSlice {
  min: number;
  max: number;
  count: number;
}

/**
 * Splits each claim across priority bands in proportion to their weights (smooth weighted
 * round robin, with credit carried across claims), so low bands keep moving while high bands
 * are busy. Bands without a weight are only served by the strict-order top-up a worker does
 * when the weighted slices come back short.
 */
export class WeightedBands {
  readonly #bands: { level: PriorityLevel; weight: number; credit: number }[];
  readonly #total: number;

  constructor(weights: BandWeights) {
    this.#bands = (Object.keys(PRIORITY_BANDS) as PriorityLevel[])
      .filter((level) => (weights[level] ?? 0) > 0)
      .map((level) => ({ level, weight: weights[level]!, credit: 0 }));
    this.#total = this.#bands.reduce((sum, b) => sum + b.weight, 0);
  }

  /** Split `limit` slots into per-band slices (slices with no slots are left out). */
  allocate(limit: number): BandSlice[] {
    const counts = new Map<PriorityLevel, number>();
    for (let i = 0; i < limit && this.#bands.length > 0; i++) {
      let best = this.#bands[0]!;
      for (const b of this.#bands) {
        b.credit += b.weight;
        if (b.credit > best.credit) best = b;
      }
      best.credit -= this.#total;
      counts.set(best.level, (counts.get(best.level) ?? 0) + 1);
    }
    return this.#bands
      .filter((b) => counts.has(b.level))
      .map((b) => ({ ...bandRange(b.level), count: counts.get(b.level)! }));
  }
}

function bandRange(level: PriorityLevel): { min: number; max: number } {
  const { min, max } = PRIORITY_BANDS[level];
  return { min, max };
}
