import type { Actuator } from "./actuator.js";

/** The part of a `Worker` this actuator needs. */
export interface ResizableWorker {
  readonly concurrency: number;
  setConcurrency(n: number): void;
}

/**
 * Scale one Worker's concurrency live with `worker.setConcurrency(n)`: raising it claims more
 * at once, lowering it lets running jobs finish first, so no job is dropped or run twice.
 * A Worker cannot run at concurrency 0, so a desired 0 becomes 1 (use `minWorkers: 1`).
 * @example
 * const actuator = concurrencyActuator(worker);
 */
export function concurrencyActuator(worker: ResizableWorker): Actuator {
  return {
    name: "concurrency",
    current: () => worker.concurrency,
    apply: async (desired) => {
      const n = Math.max(1, Math.round(desired));
      if (n !== worker.concurrency) worker.setConcurrency(n);
    },
  };
}
