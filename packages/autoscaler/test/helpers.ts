import type { Signals, StrategyInput } from "../src/index.js";

/** Signals with everything quiet, overridden by `patch`. */
export function signals(patch: Partial<Signals> = {}): Signals {
  return {
    at: 1_700_000_000_000,
    depth: 0,
    delayed: 0,
    active: 0,
    arrivalRate: 0,
    completionRate: 0,
    errorRate: 0,
    oldestWaitMs: 0,
    workers: 5,
    serviceTimeMs: null,
    ...patch,
  };
}

/** A strategy input with bounds 1–20 and the given history. */
export function input(now: Partial<Signals>, history: Partial<Signals>[] = []): StrategyInput {
  return {
    signals: signals(now),
    history: history.map((h) => signals(h)),
    bounds: { minWorkers: 1, maxWorkers: 20 },
  };
}

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
