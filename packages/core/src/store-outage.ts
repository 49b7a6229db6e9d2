import { isQueueFlowError } from "./errors.js";
import { sleep, Trigger } from "./wait.js";

/** First wait after a failed store call; each further failure doubles it up to the cap. */
const RETRY_MIN_MS = 50;
/**
 * Longest wait between retries while the store is down. Small, because a worker resumes at
 * the next retry after the store answers again: a 10 s cap made workers resume up to 10 s
 * late after an outage. One failed call every half second per worker costs the store nothing.
 */
export const RETRY_MAX_MS = 500;

/** The retry wait after `previousMs` (0 for the first failure). */
export function nextRetryDelay(previousMs: number): number {
  return previousMs === 0 ? RETRY_MIN_MS : Math.min(previousMs * 2, RETRY_MAX_MS);
}

/** What an outage transition tells its owner. */
export interface OutageListener {
  /** The first failed call after the store had answered (or before it ever did). */
  down(error: unknown): void;
  /** The first answered call after a failure; `downMs` is how long calls failed. */
  up(downMs: number): void;
}

/**
 * Whether the store answers, judged from the outcome of one owner's own calls: a call that
 * fails with `QF_STORE_UNAVAILABLE` marks it down, the next call that succeeds marks it up and
 * ends every retry wait at once, so work resumes as soon as the store answers instead of at
 * the end of a back-off.
 */
export class StoreOutage {
  readonly #listener: OutageListener;
  readonly #answered = new Trigger();
  #downSince: number | null = null;

  constructor(listener: OutageListener) {
    this.#listener = listener;
  }

  /** True between a failed call and the next answered one. */
  get down(): boolean {
    return this.#downSince !== null;
  }

  /**
   * Record a failed call. Returns false when the failure only repeats an outage already
   * reported (the caller need not report it again).
   */
  failed(error: unknown): boolean {
    if (!isQueueFlowError(error, "QF_STORE_UNAVAILABLE")) return true;
    if (this.#downSince !== null) return false;
    this.#downSince = performance.now();
    this.#listener.down(error);
    return true;
  }

  /** Record an answered call (cheap when the store was up: one comparison). */
  answered(): void {
    if (this.#downSince === null) return;
    const downMs = performance.now() - this.#downSince;
    this.#downSince = null;
    this.#answered.fire();
    this.#listener.up(downMs);
  }

  /** Wait `ms`, or less: until the store is seen answering again or `signal` aborts. */
  async retryWait(ms: number, signal: AbortSignal): Promise<void> {
    const wait = new AbortController();
    const stop = () => wait.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await Promise.race([sleep(ms, wait.signal), this.#answered.wait()]);
    } finally {
      signal.removeEventListener("abort", stop);
      wait.abort();
    }
  }
}
