import type { Actuator } from "./actuator.js";

/** The part of a `Worker` this actuator needs. */
export interface ResizableWorker {
  readonly concurrency: number;
  setConcurrency(n: number): void;
}

/**
 * Scale one Worker's concurrency live with `worker.setConcurrency(n)`: raising it claims more
 * at once, lowering it lets running jobs finish first, so no job is dropped or run twice.
 * A desired 0 parks the worker (it finishes what runs and claims nothing until raised).
 * @example
 * const actuator = concurrencyActuator(worker);
 */
export function concurrencyActuator(worker: ResizableWorker): Actuator {
  return {
    name: "concurrency",
    current: () => worker.concurrency,
    apply: async (desired) => {
      const n = Math.max(0, Math.round(desired));
      if (n !== worker.concurrency) worker.setConcurrency(n);
    },
  };
}
