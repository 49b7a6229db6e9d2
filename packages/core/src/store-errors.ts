import type { StorageDriver } from "./driver.js";
import { isQueueFlowError, QueueFlowError } from "./errors.js";

/**
 * Node socket error codes that mean a server cannot be reached now (refused, reset, timed out,
 * name lookup failed), not that it refused the request: an adapter maps them to
 * `QF_STORE_UNAVAILABLE`, so workers back off and retry.
 */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * The error an adapter throws when its server cannot be reached, worded the same for every
 * store: what failed, the driver's own message, where to look, and that workers recover by
 * themselves. The driver error stays available as `cause`.
 * @param store the server's name as users know it, e.g. `"Redis"`.
 * @param what the operation that failed, e.g. `"claim"`.
 * @param settings what a user should check besides the server, e.g. `"the connection string"`.
 * @example
 * throw storeUnavailable("PostgreSQL", "claim", err, "the connection settings");
 */
export function storeUnavailable(
  store: string,
  what: string,
  cause: unknown,
  settings: string,
): QueueFlowError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new QueueFlowError(
    "QF_STORE_UNAVAILABLE",
    `${store} could not be reached (${what}: ${detail}); check the server and ${settings} — workers back off and resume on their own.`,
    { cause },
  );
}

/** What {@link mapStoreError} needs to know of a store: see {@link StorageDriver}. */
export type StoreErrorSource = Pick<StorageDriver, "storeInfo" | "isUnavailable" | "refineError">;

/**
 * Map anything a store call threw to what an adapter throws: the one place a driver error
 * becomes a code. QueueFlow errors pass through; an error the store's `isUnavailable` claims
 * becomes `QF_STORE_UNAVAILABLE` (see {@link storeUnavailable}), so workers back off and
 * resume; the store's `refineError` may type the rest; anything left (a bug, a permission
 * problem) is returned as it is, so the driver's own code stays visible.
 * @param what the operation that failed, e.g. `"claim"`.
 * @example
 * try { return await pool.query(statement); }
 * catch (err) { throw mapStoreError(this, err, "claim"); }
 */
export function mapStoreError(source: StoreErrorSource, error: unknown, what: string): unknown {
  if (isQueueFlowError(error)) return error;
  if (source.isUnavailable(error)) {
    return storeUnavailable(source.storeInfo.server, what, error, source.storeInfo.settings);
  }
  return source.refineError === undefined ? error : source.refineError(error, what);
}
