import type { Settlement } from "@queueflow/core/adapter";
import { packId } from "./codec.js";

// Script arguments and reply shapes shared by the adapter's modules. Input reaches them
// checked by core's edge (CheckedAdapter): kinds are known and delays finite.

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
        String(Math.ceil(s.delayMs)),
        s.error.name,
      ];
    case "dead":
      return [s.kind, s.id, s.token, JSON.stringify(s.error), "", s.error.name];
    case "snooze":
      return [s.kind, s.id, s.token, "", String(Math.ceil(s.delayMs)), ""];
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
