import { assertJson, type JobRecord, type Json } from "@queueflow/core";
import { apply as applyMergePatch } from "json-merge-patch";
import { invalid } from "./validate.js";

/** A JSON object: what an RFC 7396 merge patch and a patchable payload are. */
export type JsonObject = { [key: string]: Json };

/**
 * How a replay changes a job's payload before it runs again:
 * - a function given the dead job (a copy) that returns the new payload, sync or async;
 * - an RFC 7396 JSON merge patch object: keys set to `null` are deleted, nested objects
 *   are merged, anything else replaces. It only applies to object payloads.
 */
export type PayloadPatch = ((job: JobRecord) => Json | Promise<Json>) | JsonObject;

/** Why a job was not replayed although nothing went wrong (see {@link ReplayResult}). */
export type ReplaySkipReason =
  /** It was no longer dead (replayed by another caller, or removed and re-added). */
  | "not_dead"
  /** It no longer exists (purged or removed). */
  | "not_found"
  /** It died again after `asOf`: an earlier replay already ran it. */
  | "failed_after_as_of"
  /** A live job of the queue holds its dedup key. */
  | "dedup_key_held"
  /** A merge patch was given and its payload is not a JSON object. */
  | "payload_not_object"
  /** The store did not move it and reading it back explains nothing above. */
  | "not_moved";

/** Why computing a job's new payload failed (see {@link ReplayResult}). */
export type ReplayFailReason =
  /** The patch function threw or rejected. */
  | "patch_threw"
  /** The new payload is not JSON, or is over `maxPayloadBytes`. */
  | "invalid_payload";

/** The outcome of patching one job's payload. */
export type PatchOutcome =
  | { kind: "ok"; payload: Json }
  | { kind: "skip"; reason: ReplaySkipReason }
  | { kind: "fail"; reason: ReplayFailReason; message: string };

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Check a patch before any job is touched.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a merge patch that is not a plain JSON
 * object, or that holds a `__proto__`, `constructor` or `prototype` key (json-merge-patch
 * stops applying at such a key, which would half-apply the patch).
 */
export function checkPayloadPatch(patch: unknown): asserts patch is PayloadPatch | undefined {
  if (patch === undefined || typeof patch === "function") return;
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw invalid(
      "patch must be a function (job) => payload or a JSON merge patch object (RFC 7396).",
    );
  }
  try {
    assertJson(patch, "patch", Number.MAX_SAFE_INTEGER);
  } catch (err) {
    throw invalid(`patch is not a JSON merge patch: ${(err as Error).message}`);
  }
  const bad = findForbiddenKey(patch as Json, "patch");
  if (bad !== null) {
    throw invalid(`patch must not contain the key ${bad}: it cannot be applied safely.`);
  }
}

function findForbiddenKey(value: Json, path: string): string | null {
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) return null; // arrays replace wholesale; their contents are data
  for (const [key, v] of Object.entries(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `${path}.${key}`;
    const bad = findForbiddenKey(v, `${path}.${key}`);
    if (bad !== null) return bad;
  }
  return null;
}

function isJsonObject(value: Json): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The payload `job` runs with after `patch`, or why it cannot be replayed. */
export async function patchPayload(
  job: JobRecord,
  patch: PayloadPatch,
  maxPayloadBytes: number,
): Promise<PatchOutcome> {
  let next: unknown;
  if (typeof patch === "function") {
    try {
      // A copy: the function may mutate what it is given without touching our listing.
      next = await patch(structuredClone(job));
    } catch (err) {
      return { kind: "fail", reason: "patch_threw", message: errorMessage(err) };
    }
  } else {
    if (!isJsonObject(job.payload)) return { kind: "skip", reason: "payload_not_object" };
    // json-merge-patch mutates its target in place: give it a deep clone.
    next = applyMergePatch(structuredClone(job.payload), patch);
  }
  try {
    assertJson(next, `new payload of job ${job.id}`, maxPayloadBytes);
  } catch (err) {
    return { kind: "fail", reason: "invalid_payload", message: errorMessage(err) };
  }
  return { kind: "ok", payload: next };
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
