import { QueueFlowError } from "@queueflow/core";

// Every value that reaches a MongoDB filter is checked to be the primitive it claims to be, so
// an object such as `{ $gt: "" }` can never act as a query operator. (The checks shared by
// every adapter come from @queueflow/core's adapter-input guards.)

function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

/** A value that goes into a filter as an equality: must be a string, never an object. */
export function checkString(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw invalid(`${what} must be a string, got ${value === null ? "null" : typeof value}.`);
  }
  return value;
}
