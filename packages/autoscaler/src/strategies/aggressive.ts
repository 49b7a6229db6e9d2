import type { Strategy } from "../types.js";
import { clampWorkers, named } from "./bounds.js";

/** Options of {@link aggressive}. */
export interface AggressiveOptions {
  /** Depth above which the pool grows; default 20. */
  scaleUpThreshold?: number;
  /** Jobs waiting per added worker; default 20 (one worker per 20 waiting jobs). */
  jobsPerWorker?: number;
  /** Error rate (percent) that triggers a scale-up; default 10. */
  errorRateThreshold?: number;
}

/**
 * Latency first: at least doubles the pool whenever depth passes a low threshold (or adds one
 * worker per `jobsPerWorker` waiting jobs, whichever is more), and gives a worker back only
 * when nothing waits at all. Fast to react, expensive to run.
 */
export function aggressive(options: AggressiveOptions = {}): Strategy {
  const up = options.scaleUpThreshold ?? 20;
  const perWorker = options.jobsPerWorker ?? 20;
  const errorThreshold = options.errorRateThreshold ?? 10;
  return named("aggressive", ({ signals, bounds }) => {
    const { depth, workers, errorRate } = signals;
    const numbers = { depth, workers, errorRate, scaleUpThreshold: up, jobsPerWorker: perWorker };
    if (depth > up || errorRate > errorThreshold) {
      const increment = Math.max(workers, Math.ceil(depth / perWorker), 1);
      return {
        desired: clampWorkers(workers + increment, bounds),
        reason:
          depth > up
            ? `Queue depth (${depth}) exceeds ${up}: grow by ${increment}`
            : `Error rate ${errorRate.toFixed(1)}% exceeds ${errorThreshold}%: grow by ${increment}`,
        numbers: { ...numbers, increment },
      };
    }
    if (depth === 0 && signals.active < workers) {
      return {
        desired: clampWorkers(workers - 1, bounds),
        reason: "Nothing waiting and workers idle",
        numbers,
      };
    }
    return { desired: clampWorkers(workers, bounds), reason: "Holding", numbers };
  });
}
