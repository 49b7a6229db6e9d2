import { createHash } from "node:crypto";
import type { JobFilter } from "@queueflow/core";
import { invalid } from "./validate.js";

// A listing cursor spans queues: it names the queue the walk is in and that queue's own
// adapter cursor. It also carries a fingerprint of the query, so a cursor is only accepted
// back with the filter that produced it (a changed filter restarts the walk instead of
// silently skipping or repeating jobs).

const MAX_CURSOR_LENGTH = 2048;

interface CursorBody {
  v: 1;
  /** Queue the walk continues in. */
  q: string;
  /** That queue's adapter cursor; null to start the queue from its oldest job. */
  c: string | null;
  /** Fingerprint of the queues and filter the cursor belongs to. */
  f: string;
}

/** A short, stable digest of the queues and filter of a listing. */
export function queryFingerprint(queues: readonly string[], filter: JobFilter): string {
  const keys = Object.keys(filter).sort() as (keyof JobFilter)[];
  const canonical = JSON.stringify([queues, keys.map((k) => [k, filter[k]])]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

/** Encode a position in a cross-queue walk as an opaque string. */
export function encodeCursor(queue: string, adapterCursor: string | null, fp: string): string {
  const body: CursorBody = { v: 1, q: queue, c: adapterCursor, f: fp };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/**
 * Decode a cursor this package produced for the same query.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for anything else: not a string, malformed,
 * another query's cursor, or a queue outside `queues`.
 */
export function decodeCursor(
  cursor: unknown,
  queues: readonly string[],
  fp: string,
): { queue: string; adapterCursor: string | null } {
  const reject = (why: string) =>
    invalid(`Invalid dead-letter cursor (${why}): pass back the nextCursor of a previous page.`);
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH) {
    throw reject("not a cursor string");
  }
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw reject("not base64url");
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw reject("not a cursor this package produced");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw reject("not a cursor this package produced");
  }
  const { v, q, c, f } = body as Record<string, unknown>;
  if (v !== 1 || typeof q !== "string" || typeof f !== "string") {
    throw reject("not a cursor this package produced");
  }
  if (c !== null && typeof c !== "string") throw reject("not a cursor this package produced");
  if (f !== fp) throw reject("it belongs to a different filter; start again without a cursor");
  if (!queues.includes(q)) throw reject(`queue ${JSON.stringify(q)} is not part of this listing`);
  return { queue: q, adapterCursor: c };
}
