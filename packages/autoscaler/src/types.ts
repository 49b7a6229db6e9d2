/**
 * One reading of a queue, taken on the store's clock. Totals are cumulative counters kept by
 * whoever takes the sample; rates are derived from successive samples (see `deriveSignals`).
 */
export interface Sample {
  /** Store clock, ms since the epoch. */
  at: number;
  /** Jobs that can run now: waiting plus delayed jobs already due. */
  depth: number;
  /** Delayed jobs not yet due (retries in backoff, scheduled jobs). */
  delayed: number;
  /** Jobs running now. */
  active: number;
  /** Cumulative jobs that reached a final state (completed, dead or cancelled). */
  finishedTotal: number;
  /** Cumulative failed attempts (retried or dead). */
  failedTotal: number;
  /** Cumulative successful attempts. */
  completedTotal: number;
  /** Age of the oldest waiting job in ms, 0 when none waits. */
  oldestWaitMs: number;
  /** Workers (concurrency slots, processes or replicas) provisioned now. */
  workers: number;
}

/** What strategies read: the latest sample plus rates over the signal window. */
export interface Signals {
  at: number;
  depth: number;
  delayed: number;
  active: number;
  /** Jobs per second entering the queue over the window. */
  arrivalRate: number;
  /** Jobs per second reaching a final state over the window. */
  completionRate: number;
  /** Failed attempts as a percentage (0–100) of attempts that ended in the window. */
  errorRate: number;
  oldestWaitMs: number;
  workers: number;
  /**
   * Mean time one job holds a worker, in ms, by Little's law on the service stage (mean
   * active ÷ completion rate over the window); null until something has completed.
   */
  serviceTimeMs: number | null;
}

/** Bounds every strategy respects; the guards enforce them again. */
export interface StrategyBounds {
  minWorkers: number;
  maxWorkers: number;
}

/** Input of a {@link Strategy}: the newest signals and those before them, oldest first. */
export interface StrategyInput {
  signals: Signals;
  /** Earlier signals within the history window, oldest first, not including `signals`. */
  history: readonly Signals[];
  bounds: StrategyBounds;
}

/** A strategy's answer: how many workers, and why (a sentence plus the numbers it used). */
export interface Recommendation {
  desired: number;
  reason: string;
  numbers: Record<string, number>;
}

/** A pure function from signals to a desired worker count. */
export type Strategy = ((input: StrategyInput) => Recommendation) & {
  readonly strategyName?: string;
};

/** What the guards did to a recommendation before it was applied. */
export interface Decision {
  at: number;
  strategy: string;
  /** Workers provisioned when the decision was taken. */
  current: number;
  /** The strategy's raw answer. */
  recommended: number;
  /** After stabilization, rate policies, cooldown and bounds: what is applied. */
  desired: number;
  reason: string;
  numbers: Record<string, number>;
  /** Which guards changed the answer, e.g. `["stabilization:down", "policy:up"]`. */
  limitedBy: string[];
}
