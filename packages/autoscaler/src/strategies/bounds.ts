import type { Recommendation, Strategy, StrategyBounds, StrategyInput } from "../types.js";

/** Clamp a worker count into the bounds, rounding up (a fraction of a worker is a worker). */
export function clampWorkers(n: number, bounds: StrategyBounds): number {
  const whole = Number.isFinite(n) ? Math.ceil(n - 1e-9) : bounds.maxWorkers;
  return Math.min(bounds.maxWorkers, Math.max(bounds.minWorkers, whole));
}

/** Attach a name to a strategy function, used in decisions and reports. */
export function named(
  name: string,
  fn: (input: StrategyInput) => Recommendation,
): Strategy & { readonly strategyName: string } {
  return Object.assign(fn, { strategyName: name });
}
