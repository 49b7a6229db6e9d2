import { ERROR_TYPE_VALUE_OTHER } from "@opentelemetry/semantic-conventions";

/**
 * A low-cardinality `error.type`: the error's string `code` when it has one (`QF_TIMEOUT`,
 * `ECONNREFUSED`), which says more than a class name like `QueueFlowError`; else its name.
 */
export function errorType(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === "string" && code !== "") return code;
    if (typeof name === "string" && name !== "") return name;
  }
  return ERROR_TYPE_VALUE_OTHER;
}

/** A message for span status: the error's own, never the payload or result. */
export function errorMessage(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const { message } = err as { message?: unknown };
    if (typeof message === "string") return message;
  }
  return String(err);
}
