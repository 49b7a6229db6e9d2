import type { Strategy } from "../types.js";
import { clampWorkers, named } from "./bounds.js";

/** Options of {@link conservative}. */
export interface ConservativeOptions {
  /** Depth that must be exceeded in every sample of the history before adding one; default 200. */
  scaleUpThreshold?: number;
  /** Depth below which one worker is removed; default 20. */
  scaleDownThreshold?: number;
  /** Samples (including the newest) that must all agree; default 3. */
  sustainedSamples?: number;
}

/**
 * Cost first: adds one worker only when depth has stayed above a high threshold for several
 * samples in a row, and removes one as soon as depth falls below the down threshold.
 */
export function conservative(options: ConservativeOptions = {}): Strategy {
  const up = options.scaleUpThreshold ?? 200;
  const down = options.scaleDownThreshold ?? 20;
  const sustained = options.sustainedSamples ?? 3;
  return named("conservative", ({ signals, history, bounds }) => {
    const { depth, workers } = signals;
    const recent = [...history.slice(-(sustained - 1)), signals];
    const above = recent.length >= sustained && recent.every((s) => s.depth > up);
    const numbers = { depth, workers, scaleUpThreshold: up, scaleDownThreshold: down, sustained };
    if (above) {
      return {
        desired: clampWorkers(workers + 1, bounds),
        reason: `Queue depth above ${up} for ${sustained} samples`,
        numbers,
      };
    }
    if (depth < down && workers > bounds.minWorkers) {
      return {
        desired: clampWorkers(workers - 1, bounds),
        reason: `Queue depth (${depth}) below ${down}`,
        numbers,
      };
    }
    return { desired: clampWorkers(workers, bounds), reason: "Holding", numbers };
  });
}
