import { QueueFlowError, type Settlement } from "@queueflow/core";
import { packId } from "./codec.js";

// Argument checks and reply shapes shared by the adapter's modules.

export function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

export function isNonNegativeInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function checkLimit(limit: number, what: string, min: 0 | 1): void {
  if (!isNonNegativeInt(limit) || limit < min) {
    throw invalid(
      `${what} limit must be ${min === 0 ? "a non-negative" : "a positive"} integer, got ${String(limit)}.`,
    );
  }
}

export function checkDelay(ms: number, what: string): string {
  if (!Number.isFinite(ms)) throw invalid(`${what} must be a finite number of ms, got ${ms}.`);
  return String(Math.ceil(ms));
}

/** The settle script's eight ARGV slots for one settlement (see lua/settle-21.lua). */
export function encodeSettlement(s: Settlement): (string | Buffer)[] {
  const slots = settlementSlots(s);
  slots.push(packId(s.id));
  slots.push(s.kind === "retry" || s.kind === "dead" ? (s.error.errorClass ?? "unknown") : "");
  return slots;
}

function settlementSlots(s: Settlement): (string | Buffer)[] {
  switch (s.kind) {
    case "complete":
      return s.remove === true
        ? ["remove", s.id, s.token, "", "", ""]
        : [s.kind, s.id, s.token, JSON.stringify(s.result ?? null), "", ""];
    case "retry":
      return [
        s.kind,
        s.id,
        s.token,
        JSON.stringify(s.error),
        checkDelay(s.delayMs, "retry delayMs"),
        s.error.name,
      ];
    case "dead":
      return [s.kind, s.id, s.token, JSON.stringify(s.error), "", s.error.name];
    case "snooze":
      return [s.kind, s.id, s.token, "", checkDelay(s.delayMs, "snooze delayMs"), ""];
    default: {
      const unknown = s as { kind: unknown; id: unknown };
      throw invalid(
        `Unknown settlement kind ${JSON.stringify(unknown.kind)} for job ${String(unknown.id)}: use complete, retry, dead or snooze.`,
      );
    }
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function asArray(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`Unexpected reply from the ${what} script.`);
  return reply;
}

export function asStrings(reply: unknown, what: string): string[] {
  return asArray(reply, what) as string[];
}

export function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
