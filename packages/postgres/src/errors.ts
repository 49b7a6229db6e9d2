import {
  mapStoreError,
  QueueFlowError,
  SOCKET_ERROR_CODES,
  type StoreErrorSource,
} from "@queueflow/core/adapter";

/** SQLSTATEs of a server that is going away, starting up or full. */
const UNAVAILABLE_STATES = new Set([
  "57P01", // admin_shutdown (pg_ctl stop, a failover)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "53300", // too_many_connections
  "58030", // io_error
]);

/** Messages node-postgres uses for a connection that died or never came up. */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /connection timeout/i,
  /the database system is (shutting down|starting up|in recovery mode)/i,
  /client was closed and is not queryable/i,
];

/**
 * True when `err` means the server is unreachable or going away (rather than refusing the
 * statement), i.e. a caller should back off and retry.
 */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  if (SOCKET_ERROR_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith("08")) {
    return true;
  }
  // `connect ECONNREFUSED` to several addresses arrives as an AggregateError.
  if (Array.isArray(e.errors) && e.errors.some(isConnectionError)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  return UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/** SQLSTATEs of a statement the server aborted, undone, to settle a clash with another. */
const CONFLICT_STATES = new Set([
  "40P01", // deadlock_detected
  "40001", // serialization_failure
]);

/** True when the server rolled the statement back to resolve a conflict: safe to run again. */
export function isConflictError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONFLICT_STATES.has(code);
}

/**
 * Type a statement's failure that is not an outage: a statement the server rolled back to
 * resolve a conflict becomes `QF_STORE_CONFLICT` (retry the transaction), a JSON value
 * PostgreSQL cannot store `QF_INVALID_PAYLOAD`; anything else is a bug or a
 * misconfiguration and is returned as it is, so its SQLSTATE stays visible.
 */
export function refineError(err: unknown, what: string): unknown {
  if (isConflictError(err)) {
    const detail = err instanceof Error ? err.message : String(err);
    return new QueueFlowError(
      "QF_STORE_CONFLICT",
      `PostgreSQL aborted ${what} to resolve a conflict with a concurrent statement (${detail}); nothing of it was applied: retry the transaction.`,
      { cause: err },
    );
  }
  const code = (err as { code?: unknown } | null)?.code;
  // jsonb refuses \u0000 and invalid escapes: the payload itself is unstorable.
  if (code === "22P05" || code === "22025") {
    const detail = err instanceof Error ? err.message : String(err);
    return new QueueFlowError(
      "QF_INVALID_PAYLOAD",
      `PostgreSQL cannot store this value (${what}: ${detail}); remove \\u0000 characters from strings.`,
      { cause: err },
    );
  }
  return err;
}

/** How the store's errors are told apart and named (see `mapStoreError`). */
export const POSTGRES_ERRORS: StoreErrorSource = {
  storeInfo: {
    adapter: "PostgresAdapter",
    server: "PostgreSQL",
    settings: "the connection settings",
    afterClose: "jobs stay in the database",
  },
  isUnavailable: isConnectionError,
  refineError,
};

/** Map a driver error to QueueFlow's codes: the one place store failures become typed errors. */
export function toStoreError(err: unknown, what: string): unknown {
  return mapStoreError(POSTGRES_ERRORS, err, what);
}
