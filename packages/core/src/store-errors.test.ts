import { describe, expect, it } from "vitest";
import { isQueueFlowError } from "./errors.js";
import { SOCKET_ERROR_CODES, storeUnavailable } from "./store-errors.js";

describe("storeUnavailable", () => {
  it("is QF_STORE_UNAVAILABLE naming the store, the operation, the driver message and the cause", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), {
      code: "ECONNREFUSED",
    });
    const err = storeUnavailable("Redis", "claim", cause, "the URL and options");
    expect(isQueueFlowError(err, "QF_STORE_UNAVAILABLE")).toBe(true);
    expect(err.message).toBe(
      "Redis could not be reached (claim: connect ECONNREFUSED 127.0.0.1:6379); check the server and the URL and options — workers back off and resume on their own.",
    );
    expect(err.cause).toBe(cause);
  });

  it("words a thrown non-Error by its string form", () => {
    expect(storeUnavailable("MongoDB", "add", "socket hang up", "x").message).toContain(
      "(add: socket hang up)",
    );
  });

  it("lists the socket codes of an unreachable server, not of a refused request", () => {
    expect(SOCKET_ERROR_CODES.has("ECONNREFUSED")).toBe(true);
    expect(SOCKET_ERROR_CODES.has("EACCES")).toBe(false);
  });
});
