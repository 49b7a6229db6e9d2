// The update documents of settlements: each is applied by one updateOne fenced by
// `{_id, state: "active", leaseToken}` (see Operations.settle).
import type { Settlement } from "@queueflow/core";
import { ObjectId } from "mongodb";
import { attemptErrorDoc, toJson } from "./codec.js";

/** Settlement stamps: `${call}:${index}`, unique per operation of a bulk write. */
export function stamp(call: string, i: number): string {
  return `${call}:${i}`;
}

/** The update of one settlement (fenced by the caller's filter). */
export function settleUpdate(s: Settlement, now: number, op: string) {
  const base = { leaseToken: null, leaseExpiresAt: null, op, stateSeq: new ObjectId() };
  switch (s.kind) {
    case "complete":
      return {
        $set: { ...base, state: "completed" as const, result: toJson(s.result), finishedAt: now },
      };
    case "dead": {
      const error = attemptErrorDoc(s.error);
      return {
        $set: {
          ...base,
          state: "dead" as const,
          finishedAt: now,
          lastErrorName: error.name,
          lastErrorClass: error.errorClass ?? "unknown",
        },
        $push: { errors: error },
      };
    }
    case "retry": {
      const error = attemptErrorDoc(s.error);
      const runAt = now + Math.ceil(s.delayMs);
      const due = !(runAt > now);
      return {
        $set: {
          ...base,
          state: due ? ("waiting" as const) : ("delayed" as const),
          runAt: due ? now : runAt,
          lastErrorName: error.name,
          lastErrorClass: error.errorClass ?? "unknown",
        },
        $push: { errors: error },
      };
    }
    case "snooze": {
      const runAt = now + Math.ceil(s.delayMs);
      const due = !(runAt > now);
      // Claiming counted an attempt; a snooze gives it back.
      return {
        $set: {
          ...base,
          state: due ? ("waiting" as const) : ("delayed" as const),
          runAt: due ? now : runAt,
        },
        $inc: { attempts: -1 },
      };
    }
  }
}
