import type { Strategy } from "../types.js";
import { clampWorkers, named } from "./bounds.js";

/** Options of {@link thresholds}. */
export interface ThresholdsOptions {
  /** Depth above which workers are added; default 100. */
  scaleUpThreshold?: number;
  /** Depth below which one worker is removed; default 10. */
  scaleDownThreshold?: number;
  /** Error rate (percent) that triggers an emergency scale-up; default 20. */
  errorRateThreshold?: number;
  /** Workers added on a high error rate; default 2. */
  errorStep?: number;
}

/**
 * The seed's default strategy: +2 workers when the error rate passes 20 %, +⌈(depth − up) ÷
 * up⌉ when depth passes the up threshold, −1 below the down threshold, otherwise hold.
 * @example
 * const strategy = thresholds({ scaleUpThreshold: 50, scaleDownThreshold: 5 });
 */
export function thresholds(options: ThresholdsOptions = {}): Strategy {
  const up = options.scaleUpThreshold ?? 100;
  const down = options.scaleDownThreshold ?? 10;
  const errorThreshold = options.errorRateThreshold ?? 20;
  const errorStep = options.errorStep ?? 2;
  return named("thresholds", ({ signals, bounds }) => {
    const { depth, workers, errorRate } = signals;
    const numbers = { depth, workers, errorRate, scaleUpThreshold: up, scaleDownThreshold: down };
    if (errorRate > errorThreshold) {
      return {
        desired: clampWorkers(workers + errorStep, bounds),
        reason: `High error rate: ${errorRate.toFixed(1)}% > ${errorThreshold}%`,
        numbers: { ...numbers, increment: errorStep },
      };
    }
    if (depth > up) {
      const increment = Math.ceil((depth - up) / up);
      return {
        desired: clampWorkers(workers + increment, bounds),
        reason: `Queue depth (${depth}) exceeds threshold (${up})`,
        numbers: { ...numbers, increment },
      };
    }
    if (depth < down && workers > bounds.minWorkers) {
      return {
        desired: clampWorkers(workers - 1, bounds),
        reason: `Queue depth (${depth}) below threshold (${down})`,
        numbers,
      };
    }
    return { desired: clampWorkers(workers, bounds), reason: "Within thresholds", numbers };
  });
}
