import type { NewJob } from "../job.js";
import { MemoryAdapter } from "./memory-adapter.js";

/** Shared by the memory adapter's unit tests only; not exported from the package. */
export const T0 = 1_700_000_000_000;

/** An adapter on a clock the test moves by hand (`clock.t += ms`). */
export function setup(): { adapter: MemoryAdapter; clock: { t: number } } {
  const clock = { t: T0 };
  const adapter = new MemoryAdapter({ now: () => clock.t });
  return { adapter, clock };
}

let nextId = 0;

/** A valid job for queue "q" with a sequential id (`job-1`, `job-2`, …). */
export function job(overrides: Partial<NewJob> = {}): NewJob {
  nextId += 1;
  return {
    id: `job-${nextId}`,
    queue: "q",
    name: "task",
    payload: { n: nextId },
    priority: 5,
    maxAttempts: 3,
    backoff: null,
    timeoutMs: null,
    dedupKey: null,
    metadata: {},
    delayMs: 0,
    runAt: null,
    ...overrides,
  };
}
