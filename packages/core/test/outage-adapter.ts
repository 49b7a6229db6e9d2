import { storeUnavailable } from "../src/adapter.js";
import { MemoryAdapter, type StorageAdapter } from "../src/index.js";

/**
 * A memory store behind a switch: while `down`, every call fails as an unreachable server's
 * would (`QF_STORE_UNAVAILABLE`), and the jobs stored before stay as they were.
 * `holdNextClaimMs` holds the next claim answer that carries jobs back, as a process paused
 * while the answer waited in its socket.
 */
export class OutageAdapter {
  down = false;
  /** Milliseconds the next claim answer with jobs is held after the store answered it. */
  holdNextClaimMs = 0;
  /** Milliseconds every claim answer takes, as from a store across a network. */
  claimLatencyMs = 0;
  /** Jobs handed out by claims so far (counted once their answer is released). */
  claimed = 0;
  /** Claim calls answered so far. */
  claims = 0;
  /** While set, every call waits for it before it reaches the store (a black-holed network). */
  #held: Promise<void> | null = null;
  readonly store: MemoryAdapter;
  readonly adapter: StorageAdapter;

  constructor(store = new MemoryAdapter()) {
    this.store = store;
    this.adapter = new Proxy(store, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        const method = value as (...args: unknown[]) => Promise<unknown>;
        return async (...args: unknown[]) => {
          if (this.#held) await this.#held;
          if (this.down)
            throw storeUnavailable("The test store", String(prop), "switched off", "the switch");
          const result = await method.apply(target, args);
          if (prop === "claim") {
            if (this.claimLatencyMs > 0) {
              await new Promise((resolve) => setTimeout(resolve, this.claimLatencyMs));
            }
            const jobs = (result as { jobs: unknown[] }).jobs.length;
            const holdMs = jobs > 0 ? this.holdNextClaimMs : 0;
            if (holdMs > 0) {
              this.holdNextClaimMs = 0;
              await new Promise((resolve) => setTimeout(resolve, holdMs));
            }
            this.claimed += jobs;
            this.claims += 1;
          }
          return result;
        };
      },
    });
  }

  /**
   * Black-hole the network: calls from now on neither fail nor reach the store until the
   * returned function is called; then they all go through, in the order they were made.
   */
  hold(): () => void {
    let release!: () => void;
    this.#held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.#held = null;
      release();
    };
  }
}
