import { describe, expect, it } from "vitest";
import { classifyError } from "./error-class.js";
import { QueueFlowError, UnrecoverableError } from "./errors.js";

function withFields(name: string, fields: Record<string, unknown>): Error {
  const error = new Error("failed");
  error.name = name;
  return Object.assign(error, fields);
}

describe("classifyError", () => {
  it.each([
    [new UnrecoverableError("bad"), "unrecoverable"],
    [new QueueFlowError("QF_TIMEOUT", "timed out"), "timeout"],
    [withFields("Error", { code: "ETIMEDOUT" }), "timeout"],
    [withFields("TimeoutError", {}), "timeout"],
    [withFields("Error", { code: "ECONNREFUSED" }), "connection"],
    [withFields("Error", { code: "ECONNRESET" }), "connection"],
    [new QueueFlowError("QF_STORE_UNAVAILABLE", "down"), "connection"],
    [withFields("ZodError", {}), "validation"],
    [new QueueFlowError("QF_INVALID_PAYLOAD", "bad"), "validation"],
    [withFields("HTTPError", { status: 429 }), "rate_limited"],
    [withFields("HTTPError", { statusCode: 429 }), "rate_limited"],
    [withFields("HTTPError", { status: 500 }), "unknown"],
    [new Error("plain"), "unknown"],
    ["a string was thrown", "unknown"],
    [null, "unknown"],
  ])("classes %s as %s", (error, expected) => {
    expect(classifyError(error)).toBe(expected);
  });

  it("follows the cause chain, and stops on a cycle", () => {
    const wrapped = new Error("request failed", {
      cause: withFields("Error", { code: "ECONNREFUSED" }),
    });
    expect(classifyError(wrapped)).toBe("connection");
    const cyclic = new Error("loop") as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(classifyError(cyclic)).toBe("unknown");
  });
});
