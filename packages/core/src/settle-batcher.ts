import type { Settlement, SettleOutcome, StorageAdapter } from "./contract.js";

interface Pending {
  settlement: Settlement;
  resolve: (outcome: SettleOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the settlements of jobs that finish close together into one store call, so a batch
 * of no-op jobs costs about one round trip to settle instead of one each. While a call is in
 * flight, new settlements queue up for the next one.
 */
export class SettleBatcher {
  readonly #adapter: StorageAdapter;
  readonly #queue: string;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | undefined;

  constructor(adapter: StorageAdapter, queue: string, maxBatch = 500) {
    this.#adapter = adapter;
    this.#queue = queue;
    this.#maxBatch = maxBatch;
  }

  /** Queue a settlement; resolves with its outcome once stored. */
  settle(settlement: Settlement): Promise<SettleOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ settlement, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolve when everything queued so far is stored. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight) {
      if (this.#inFlight) await this.#inFlight;
      else await this.#flush();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: jobs finishing in the same I/O turn join one call.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  #flush(): Promise<void> {
    if (this.#inFlight || this.#pending.length === 0) return this.#inFlight ?? Promise.resolve();
    const batch = this.#pending.splice(0, this.#maxBatch);
    this.#inFlight = this.#adapter
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
        this.#inFlight = undefined;
        if (this.#pending.length > 0) this.#schedule();
      });
    return this.#inFlight;
  }
}
