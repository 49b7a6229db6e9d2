import { isQueueFlowError } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { isUnavailable, toStoreError } from "./errors.js";

function named(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const e = new Error(message);
  e.name = name;
  return Object.assign(e, extra);
}

describe("toStoreError", () => {
  it("maps every shape of connection loss seen under a cut connection", () => {
    const cases = [
      named("MongoNetworkError", "connection 3 to 127.0.0.1:27117 closed"),
      named("MongoServerSelectionError", "Server selection timed out after 1000 ms"),
      named("MongoPoolClearedError", "Connection pool for 127.0.0.1:27117 was cleared"),
      named("Error", "write ECONNRESET", { code: "ECONNRESET" }),
      named("MongoBulkWriteError", "connection <monitor> to 127.0.0.1:43327 closed"),
      named("MongoBulkWriteError", "read ECONNRESET"),
      named("MongoServerError", "not primary", { code: 10107 }),
    ];
    for (const err of cases) {
      expect(isUnavailable(err), err.message).toBe(true);
      expect(isQueueFlowError(toStoreError(err, "claim"), "QF_STORE_UNAVAILABLE")).toBe(true);
    }
  });

  it("passes other errors through unchanged", () => {
    const dup = named("MongoServerError", "E11000 duplicate key", { code: 11000 });
    expect(toStoreError(dup, "enqueue")).toBe(dup);
    const bug = new TypeError("x is undefined");
    expect(toStoreError(bug, "claim")).toBe(bug);
  });
});
