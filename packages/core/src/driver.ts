import type { SettleOutcome, StorageAdapter } from "./contract.js";

/** How a store is named to users in the errors the checked edge words for it. */
export interface StoreInfo {
  /** The adapter as users construct it, e.g. `"RedisAdapter"` (in `QF_CLOSED` and health). */
  adapter: string;
  /** The store as users know it, e.g. `"Redis"` (in `QF_STORE_UNAVAILABLE`). */
  server: string;
  /** What a user should check besides the server when it cannot be reached, e.g. `"the URL"`. */
  settings: string;
  /** What became of the jobs when the adapter closed, e.g. `"its jobs stay in Redis"`. */
  afterClose: string;
}

/**
 * What a storage adapter implements: the {@link StorageAdapter} operations, minus what
 * {@link CheckedAdapter} does once for every store. Wrapped in a `CheckedAdapter`, a driver
 * is called:
 * - only with requests that passed core's guards (`checkNewJob`, `checkClaim`,
 *   `checkSettlements`, `checkCleanRequest`…): strings where strings belong, priorities in
 *   0–20, finite times, known states and settlement kinds, well-formed limits and filters;
 * - only while open, and after one `connect()` succeeded (concurrent first calls share it; a
 *   failed one is retried by the next call); `close()` at most once;
 * - never with an empty batch of jobs, settlements or leases, nor with a limit of 0 for
 *   `clean` and `recoverStalled`;
 * - with `tx` in `enqueue` only when `capabilities.transactions` is true.
 *
 * `health()` is derived from {@link ping}. Errors: the edge maps what `connect` and `ping`
 * throw; an operation maps what its store call throws with `mapStoreError(this, err, what)`,
 * at the one place the driver calls its store, which keeps the claim and settle path free of
 * a second await per call.
 *
 * @example
 * class MapDriver implements StorageDriver { … }
 * export class MapAdapter extends CheckedAdapter<MapDriver> {
 *   constructor() { super(new MapDriver()); }
 * }
 */
export interface StorageDriver extends Omit<StorageAdapter, "health" | "connect"> {
  /**
   * Open connections and prepare storage (migrations, indexes). Optional: a store with
   * nothing to open (one in this process) leaves it out, and every call goes straight to
   * the driver.
   */
  connect?(): Promise<void>;
  /** Names for the errors the edge words (closed, unavailable, no transactions). */
  readonly storeInfo: StoreInfo;
  /** One round trip to the store; rejects when it cannot be reached. */
  ping(): Promise<void>;
  /**
   * True when `error` means the store cannot be reached now (a refused or reset connection,
   * a server shutting down or failing over): a caller should back off and retry.
   */
  isUnavailable(error: unknown): boolean;
  /**
   * Types a store error that is not an outage (a conflict, an unstorable value), or returns
   * it unchanged. Optional: without it such errors pass through as the driver threw them.
   */
  refineError?(error: unknown, what: string): unknown;
}

/**
 * A fenced write's answer: `ok` when it matched the job under the caller's lease token, else
 * `lease_lost` (the job moved on, or never had that lease). The one place a store's "zero
 * rows or documents matched" becomes a contract outcome.
 */
export function fencedOutcome(matched: boolean): SettleOutcome {
  return matched ? "ok" : "lease_lost";
}
