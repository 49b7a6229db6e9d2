import { mapStoreError, SOCKET_ERROR_CODES, type StoreInfo } from "@queueflow/core/adapter";

/**
 * Driver error classes (matched by `name`: `instanceof` fails across duplicate installs of
 * the driver) that mean the server cannot be reached or is going away.
 */
const UNAVAILABLE_NAMES = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongoPoolClearedError",
  "MongoTopologyClosedError",
  "MongoServerClosedError",
  "MongoNotConnectedError",
  "MongoWaitQueueTimeoutError",
]);

/** Server error codes of a node that is stepping down, shutting down or unreachable. */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Messages of a connection that died, on errors that wrap it (a bulk write's error). */
const NETWORK_MESSAGES = [
  /\bECONN(RESET|REFUSED)\b/,
  /\bEPIPE\b/,
  /\bETIMEDOUT\b/,
  /^connection .* (closed|timed out)/i,
];

/**
 * True when `err` means "the store is unreachable now, back off and retry": a driver
 * network error, a server going away, a raw socket error, or an error (a MongoBulkWriteError)
 * wrapping one of those.
 */
export function isUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 4) return false;
  const e = err as {
    name?: unknown;
    code?: unknown;
    hasErrorLabel?: (label: string) => boolean;
    cause?: unknown;
  };
  if (typeof e.name === "string" && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === "number" && UNAVAILABLE_CODES.has(e.code)) return true;
  if (typeof e.hasErrorLabel === "function") {
    if (e.hasErrorLabel("ResetPool") || e.hasErrorLabel("RetryableWriteError")) return true;
  }
  // Raw socket errors surface when a socket dies mid-write.
  if (typeof e.code === "string" && SOCKET_ERROR_CODES.has(e.code)) return true;
  if (e.cause !== undefined && isUnavailable(e.cause, depth + 1)) return true;
  const name = typeof e.name === "string" ? e.name : "";
  const message = (err as { message?: unknown }).message;
  if ((name.startsWith("Mongo") || name === "Error") && typeof message === "string") {
    return NETWORK_MESSAGES.some((re) => re.test(message));
  }
  return false;
}

/** Duplicate key (a unique `_id` taken): the store's answer "it exists already". */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

/** How MongoDB is named in the errors core's edge words for it. */
export const MONGO: StoreInfo = {
  adapter: "MongoAdapter",
  server: "MongoDB",
  settings: "the connection string",
  afterClose: "jobs stay in the database",
};

/**
 * Map anything a driver call threw to what the adapter throws (see `mapStoreError`):
 * unreachable server → `QF_STORE_UNAVAILABLE`; anything else (a bug, a permission problem)
 * is returned as it is, so its server code stays visible.
 */
export function toStoreError(err: unknown, what: string): unknown {
  return mapStoreError({ storeInfo: MONGO, isUnavailable }, err, what);
}

/** What `remove` answers from the deleted document (or, when none, the one still there). */
export function removeOutcome(
  deleted: boolean,
  remaining: { state: string } | null,
): "removed" | "active" | "not_found" {
  if (deleted) return "removed";
  return remaining?.state === "active" ? "active" : "not_found";
}
