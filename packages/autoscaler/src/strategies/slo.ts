import type { Recommendation, Strategy } from "../types.js";
import { clampWorkers, named } from "./bounds.js";

/** Options of {@link slo}. */
export interface SloOptions {
  /** The wait (enqueue to start) to hold, in ms. */
  targetWaitMs: number;
  /** Spare capacity over the offered load, as a fraction; default 0.2 (run at ≤ 83 % busy). */
  headroom?: number;
  /**
   * Service time to assume until one is measured (ms per job). Default: none, so the pool
   * only grows by one while nothing has completed yet.
   */
  serviceTimeMs?: number;
  /** Drain the current backlog within this fraction of the target; default 0.5. */
  drainFraction?: number;
  /**
   * Keep the current count when the answer is within this fraction of it (the HPA's
   * tolerance, 0.1 by default), so noise in the rates does not move the pool.
   */
  tolerance?: number;
}

/**
 * Size the pool for a wait-time target. By Little's law, serving λ jobs/s that each hold a
 * worker for S seconds keeps λ·S workers busy; `headroom` adds spare capacity so queueing
 * delay stays small. The backlog already waiting (depth D) must also go within
 * `drainFraction × target`, which takes D·S ÷ (drainFraction × target) more workers:
 *
 *   desired = ⌈λ·S·(1 + headroom) + D·S ÷ (drainFraction · targetWait)⌉
 * @example
 * const strategy = slo({ targetWaitMs: 30_000, headroom: 0.2 });
 */
export function slo(options: SloOptions): Strategy {
  const target = options.targetWaitMs;
  if (!(target > 0)) throw new RangeError("slo: targetWaitMs must be a positive number of ms");
  const headroom = options.headroom ?? 0.2;
  const drainFraction = options.drainFraction ?? 0.5;
  const tolerance = options.tolerance ?? 0.1;
  return named("slo", ({ signals, bounds }): Recommendation => {
    const { depth, workers, arrivalRate } = signals;
    const measured = signals.serviceTimeMs;
    const serviceMs = measured ?? options.serviceTimeMs;
    if (serviceMs === undefined) {
      const grow = depth > 0 || signals.active >= workers;
      return {
        desired: clampWorkers(grow ? workers + 1 : workers, bounds),
        reason: grow ? "No service time measured yet: grow by one" : "No service time yet",
        numbers: { depth, workers, arrivalRate, targetWaitMs: target },
      };
    }
    const serviceS = serviceMs / 1000;
    const offered = arrivalRate * serviceS;
    const serve = offered * (1 + headroom);
    const drain = (depth * serviceS) / ((drainFraction * target) / 1000);
    const wanted = serve + drain;
    const within = workers > 0 && Math.abs(wanted - workers) <= tolerance * workers;
    return {
      desired: clampWorkers(within ? workers : wanted, bounds),
      reason: `${within ? "Within tolerance: " : ""}λ=${arrivalRate.toFixed(2)}/s × S=${serviceS.toFixed(3)}s needs ${offered.toFixed(1)} busy (+${headroom * 100}% headroom), backlog ${depth} needs ${drain.toFixed(1)} more to drain in ${((drainFraction * target) / 1000).toFixed(1)}s`,
      numbers: {
        depth,
        workers,
        arrivalRate,
        serviceTimeMs: serviceMs,
        offeredLoad: offered,
        serveWorkers: serve,
        drainWorkers: drain,
        targetWaitMs: target,
        headroom,
        wanted,
      },
    };
  });
}
