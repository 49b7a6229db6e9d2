/**
 * Stable error codes. Codes are API: they are never renamed, only added.
 *
 * - `QF_INVALID_ARGUMENT`: a caller passed something malformed (name, id, option, size).
 * - `QF_INVALID_PAYLOAD`: a payload failed its job's schema or is not JSON-serialisable.
 * - `QF_PAYLOAD_TOO_LARGE`: a payload is over the queue's `maxPayloadBytes`.
 * - `QF_LEASE_LOST`: a settle/extend/progress call carried a stale lease token.
 * - `QF_JOB_NOT_FOUND`: the job does not exist in that queue.
 * - `QF_INVALID_STATE`: the job is not in a state that allows the operation.
 * - `QF_NO_HANDLER`: a worker claimed a job whose name it has no handler for.
 * - `QF_TIMEOUT`: a handler ran past its job's timeout.
 * - `QF_STORE_UNAVAILABLE`: the storage backend could not be reached.
 * - `QF_CLOSED`: the queue, worker or adapter was already closed.
 * - `QF_NOT_SUPPORTED`: the adapter lacks the capability the call needs.
 * - `QF_STORE_CONFLICT`: the store aborted the call to resolve a conflict with a concurrent
 *   one (a deadlock or serialization failure) inside the caller's transaction; nothing of it
 *   was applied: retry the transaction.
 */
export type ErrorCode =
  | "QF_INVALID_ARGUMENT"
  | "QF_INVALID_PAYLOAD"
  | "QF_PAYLOAD_TOO_LARGE"
  | "QF_LEASE_LOST"
  | "QF_JOB_NOT_FOUND"
  | "QF_INVALID_STATE"
  | "QF_NO_HANDLER"
  | "QF_TIMEOUT"
  | "QF_STORE_UNAVAILABLE"
  | "QF_CLOSED"
  | "QF_NOT_SUPPORTED"
  | "QF_STORE_CONFLICT";

/**
 * The one error class QueueFlow throws. Match it by `name` and `code` (see
 * {@link isQueueFlowError}), not `instanceof`, which fails across duplicate installs.
 */
export class QueueFlowError extends Error {
  override name = "QueueFlowError";
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.details = opts?.details;
  }
}

/**
 * True when `err` is a QueueFlow error, optionally with the given code.
 * @example
 * if (isQueueFlowError(err, "QF_LEASE_LOST")) return;
 */
export function isQueueFlowError(err: unknown, code?: ErrorCode): err is QueueFlowError {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === "QueueFlowError" && (code === undefined || e.code === code);
}

/**
 * Throw from a handler to send the job straight to `dead`, skipping remaining attempts
 * (a malformed request will not get better by retrying).
 */
export class UnrecoverableError extends Error {
  override name = "UnrecoverableError";
}

/** True for an {@link UnrecoverableError}, matched by name across duplicate installs. */
export function isUnrecoverableError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as Error).name === "UnrecoverableError";
}
