import type { Settlement, SettleOutcome, StorageAdapter } from "./contract.js";

interface Pending {
  settlement: Settlement;
  resolve: (outcome: SettleOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * How long a store call may go unanswered before it stops holding back the next one. A call
 * on a connection that silently died can hang until the OS gives up on the socket (minutes):
 * one such settle used to hold every later settlement back, so the worker re-ran its jobs
 * until they went dead (found by the Mongo connection-loss test).
 */
export const STALLED_CALL_MS = 5_000;

/**
 * Gathers the settlements of jobs that finish close together into one store call, so a batch
 * of no-op jobs costs about one round trip to settle instead of one each. While a call is in
 * flight, new settlements queue up for the next one, unless the call has gone unanswered for
 * `stallMs`: then they go out in a call of their own (the stalled one still resolves its own
 * settlements if it ever returns).
 */
export class SettleBatcher {
  readonly #adapter: StorageAdapter;
  readonly #queue: string;
  readonly #maxBatch: number;
  readonly #stallMs: number;
  #pending: Pending[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | undefined;
  #inFlightSince = 0;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(adapter: StorageAdapter, queue: string, maxBatch = 500, stallMs = STALLED_CALL_MS) {
    this.#adapter = adapter;
    this.#queue = queue;
    this.#maxBatch = maxBatch;
    this.#stallMs = stallMs;
  }

  /** Queue a settlement; resolves with its outcome once stored. */
  settle(settlement: Settlement): Promise<SettleOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ settlement, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolve when everything queued so far is stored (a stalled call is not waited for). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight) {
      if (this.#inFlight && !this.#stalled()) await this.#inFlight;
      else if (this.#pending.length > 0) await this.#flush();
      else return;
    }
  }

  #stalled(): boolean {
    return performance.now() - this.#inFlightSince >= this.#stallMs;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    if (this.#inFlight && !this.#stalled()) {
      // The call's end schedules the next flush; this only fires if it never ends.
      this.#stallTimer ??= setTimeout(
        () => {
          this.#stallTimer = undefined;
          this.#schedule();
        },
        this.#inFlightSince + this.#stallMs - performance.now(),
      );
      this.#stallTimer.unref();
      return;
    }
    this.#scheduled = true;
    // setImmediate, not a microtask: jobs finishing in the same I/O turn join one call.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  #flush(): Promise<void> {
    if (this.#pending.length === 0 || (this.#inFlight && !this.#stalled())) {
      return this.#inFlight ?? Promise.resolve();
    }
    const batch = this.#pending.splice(0, this.#maxBatch);
    const call: Promise<void> = this.#adapter
      .settle(
        this.#queue,
        batch.map((p) => p.settlement),
      )
      .then(
        (outcomes) => {
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outcomes[i] ?? "lease_lost");
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        // A stalled call that returns late leaves the newer one in charge.
        if (this.#inFlight !== call) return;
        this.#inFlight = undefined;
        clearTimeout(this.#stallTimer);
        this.#stallTimer = undefined;
        if (this.#pending.length > 0) this.#schedule();
      });
    this.#inFlight = call;
    this.#inFlightSince = performance.now();
    return call;
  }
}
