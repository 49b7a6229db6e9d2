import type { ErrorClass, JobRecord } from "./job.js";

/**
 * Decides the class of a handler's failure with knowledge the core lacks: return a class
 * (one of {@link ErrorClass} or your own) or undefined to fall back to {@link classifyError}.
 */
export type ErrorClassifier = (error: unknown, job: JobRecord) => string | undefined;

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "QF_STORE_UNAVAILABLE",
]);
const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "QF_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
]);
const VALIDATION_CODES = new Set([
  "QF_INVALID_PAYLOAD",
  "QF_PAYLOAD_TOO_LARGE",
  "QF_INVALID_ARGUMENT",
]);
const VALIDATION_NAMES = new Set(["ValidationError", "ZodError", "ValiError", "SyntaxError"]);
const TIMEOUT_NAMES = new Set(["TimeoutError"]);
const CONNECTION_NAMES = new Set(["ConnectionError", "FetchError"]);
const RATE_LIMIT_NAMES = new Set(["RateLimitError", "TooManyRequestsError"]);

function field(error: unknown, key: string): unknown {
  return typeof error === "object" && error !== null
    ? (error as Record<string, unknown>)[key]
    : undefined;
}

/**
 * The default classification of a failure, from the error's `name`, `code` and HTTP
 * `status`, then its `cause` chain (a wrapped `ECONNRESET` is still a connection failure).
 * A job that ran past its timeout fails with code `QF_TIMEOUT`, so it classes as `timeout`.
 *
 * @example
 * classifyError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })); // "connection"
 */
export function classifyError(error: unknown): ErrorClass {
  let current: unknown = error;
  // A bounded walk: cause chains can be cyclic.
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const found = classifyOne(current);
    if (found !== undefined) return found;
    current = field(current, "cause");
  }
  return "unknown";
}

function classifyOne(error: unknown): ErrorClass | undefined {
  const name = field(error, "name");
  const code = field(error, "code");
  const status = field(error, "status") ?? field(error, "statusCode");
  if (name === "UnrecoverableError") return "unrecoverable";
  if (
    status === 429 ||
    code === "RATE_LIMITED" ||
    (typeof name === "string" && RATE_LIMIT_NAMES.has(name))
  ) {
    return "rate_limited";
  }
  if (typeof code === "string") {
    if (TIMEOUT_CODES.has(code)) return "timeout";
    if (CONNECTION_CODES.has(code)) return "connection";
    if (VALIDATION_CODES.has(code)) return "validation";
  }
  if (typeof name === "string") {
    if (TIMEOUT_NAMES.has(name)) return "timeout";
    if (CONNECTION_NAMES.has(name)) return "connection";
    if (VALIDATION_NAMES.has(name)) return "validation";
  }
  return undefined;
}
