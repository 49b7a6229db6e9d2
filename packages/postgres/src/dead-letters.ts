import type * as qf from "@queueflow/core/adapter";
import {
  DEAD_LETTER_AGE_BUCKETS_MS,
  emptyAgeBuckets,
  invalidCursor,
  isTerminal,
  pickJobFilter,
  replacementPayload,
} from "@queueflow/core/adapter";
import type { QueryResultRow } from "pg";
import { type JobRow, jsonParam, num, numOrNull, toJobRecord } from "./codec.js";
import * as q from "./queries.js";
import type { Schema } from "./schema.js";

// Listing, purging, replay and stats: the adapter methods that take a JobFilter or work on
// dead letters, kept apart from adapter.ts. Each is one statement (retryJobs may re-run it).

/** Runs one statement on the adapter's pool, mapping driver errors (PostgresAdapter.run). */
export type Run = <R extends QueryResultRow = QueryResultRow>(
  statement: q.Statement,
  what: string,
) => Promise<R[]>;

/** retryJobs re-runs when a concurrent enqueue took a dedup key mid-statement. */
const MAX_RETRY_ROUNDS = 3;

/** Largest `max_attempts` the integer column holds: a bigger budget is as good as endless. */
const MAX_INT4 = 2_147_483_647;

const SEQ = /^[0-9a-z]{1,11}$/;
const TERMINAL_CURSOR = /^([0-9a-z]{1,11})\.([0-9a-z]{1,11})$/;

/** Base-36 digits back to a decimal string for a bigint parameter. */
function fromBase36(digits: string): string {
  return String(Number.parseInt(digits, 36));
}

/**
 * A cursor names the last job of a page: `<state_seq>` for live states, and
 * `<finished_at>.<state_seq>` for terminal states, which list in finish order (base 36).
 */
function decodeCursor(cursor: unknown, terminal: boolean): q.ListCursor | null {
  if (cursor == null) return null;
  if (typeof cursor !== "string") throw invalidCursor(cursor);
  if (terminal) {
    const match = TERMINAL_CURSOR.exec(cursor);
    if (match === null) throw invalidCursor(cursor);
    return { finishedAt: fromBase36(match[1]!), seq: fromBase36(match[2]!) };
  }
  if (!SEQ.test(cursor)) throw invalidCursor(cursor);
  return { finishedAt: null, seq: fromBase36(cursor) };
}

function encodeCursor(row: { state_seq: string; finished_at: string | null }, terminal: boolean) {
  const seq = num(row.state_seq).toString(36);
  return terminal ? `${num(row.finished_at ?? 0).toString(36)}.${seq}` : seq;
}

export async function listJobs(
  run: Run,
  s: Schema,
  request: qf.ListJobsRequest,
): Promise<qf.JobPage> {
  const filter = pickJobFilter(request);
  const terminal = isTerminal(request.state);
  const after = decodeCursor(request.cursor, terminal);
  const rows = await run<JobRow & { state_seq: string }>(
    q.listJobs(s, {
      queue: request.queue,
      state: request.state,
      filter,
      after,
      fetch: request.limit + 1,
    }),
    "listJobs",
  );
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  return {
    jobs: page.map(toJobRecord),
    nextCursor:
      rows.length > request.limit && last !== undefined ? encodeCursor(last, terminal) : null,
  };
}

export async function retryJobs(run: Run, s: Schema, request: qf.RetryRequest): Promise<string[]> {
  if (request.ids.length === 0) return [];
  const replacements: { [id: string]: qf.Json } = {};
  let replacing = false;
  for (const id of request.ids) {
    const payload = replacementPayload(request, id);
    if (payload === undefined) continue;
    replacements[id] = payload;
    replacing = true;
  }
  const params: q.RetryParams = {
    queue: request.queue,
    ids: request.ids,
    patch: request.payloadPatch === null ? null : jsonParam(request.payloadPatch),
    payloads: replacing ? jsonParam(replacements) : null,
    maxAttempts: request.maxAttempts === undefined ? null : Math.min(request.maxAttempts, MAX_INT4),
    asOf: request.asOf ?? null,
  };
  for (let round = 1; ; round++) {
    try {
      const rows = await run<{ id: string }>(q.retryJobs(s, params), "retryJobs");
      const moved = new Set(rows.map((r) => r.id));
      return request.ids.filter((id, i) => moved.has(id) && request.ids.indexOf(id) === i);
    } catch (err) {
      // A concurrent enqueue took a dedup key between the check and the update: the next
      // snapshot sees the new holder and skips that job.
      if ((err as { code?: unknown }).code !== "23505" || round >= MAX_RETRY_ROUNDS) throw err;
    }
  }
}

export async function clean(run: Run, s: Schema, request: qf.CleanRequest): Promise<number> {
  const filter = pickJobFilter(request);
  const [row] = await run<{ removed: number }>(
    q.cleanJobs(s, {
      queue: request.queue,
      state: request.state,
      filter: { ...filter, finishedBefore: request.finishedBefore },
      limit: request.limit,
    }),
    "clean",
  );
  return row!.removed;
}

export async function deadLetterStats(
  run: Run,
  s: Schema,
  queue: string,
): Promise<qf.DeadLetterStats> {
  const [row] = await run<{
    total: string;
    by_name: Record<string, number>;
    by_error: Record<string, number>;
    by_class: Record<string, number>;
    by_age: Record<string, number>;
    oldest: string | null;
    newest: string | null;
  }>(q.deadLetterStats(s, queue, DEAD_LETTER_AGE_BUCKETS_MS), "deadLetterStats");
  const byAge = emptyAgeBuckets();
  for (const [bucket, count] of Object.entries(row!.by_age)) {
    (byAge[Number(bucket)] as qf.AgeBucket).count = count;
  }
  return {
    total: num(row!.total),
    byName: row!.by_name,
    byError: row!.by_error,
    byErrorClass: row!.by_class,
    oldestFinishedAt: numOrNull(row!.oldest),
    newestFinishedAt: numOrNull(row!.newest),
    byAge,
  };
}
