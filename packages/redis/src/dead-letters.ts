import type * as qf from "@queueflow/core/adapter";
import {
  DEAD_LETTER_AGE_BUCKETS_MS,
  invalidCursor,
  pickJobFilter,
  replacementPayload,
} from "@queueflow/core/adapter";
import { asArray, numberOrNull } from "./args.js";
import { decodeJob, type FlatHash } from "./codec.js";
import type { ScriptName } from "./scripts.generated.js";

/** Runs one script on a queue's keys (RedisAdapter.run). */
export type RunScript = (
  queue: string,
  name: ScriptName,
  argv: readonly (string | Buffer)[],
) => Promise<unknown>;

/** Index entries one clean script call examines; the adapter continues from its cursor. */
const CLEAN_SCAN = 1_000;
/** Jobs one clean script call removes at most. */
const CLEAN_BATCH = 1_000;

function text(value: string | number | undefined): string {
  return value === undefined ? "" : String(value);
}

/**
 * The seven ARGV slots of a {@link JobFilter} (lua/includes/filter.lua), '' for a field not
 * set. Checked by core's edge first, so a non-string can never reach a script.
 */
export function filterArgs(source: qf.JobFilter): string[] {
  const f = pickJobFilter(source);
  return [
    text(f.name),
    text(f.errorName),
    text(f.errorClass),
    text(f.finishedAfter),
    text(f.finishedBefore),
    text(f.minAttempts),
    text(f.maxAttempts),
  ];
}

function isPlainObject(value: unknown): value is { [key: string]: qf.Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Delete up to `limit` terminal jobs matching the request, oldest first. Each script call
 * examines at most {@link CLEAN_SCAN} entries; this continues from its cursor until `limit`
 * jobs are gone or the range is walked, so a call that finds nothing in one stretch still
 * reaches matches further on (a caller looping until 0 purges them all).
 */
export async function cleanJobs(run: RunScript, request: qf.CleanRequest): Promise<number> {
  const filter = filterArgs(request);
  let removed = 0;
  let cursor = "";
  while (removed < request.limit) {
    const ask = Math.min(request.limit - removed, CLEAN_BATCH);
    const [got, next] = asArray(
      await run(request.queue, "clean", [
        request.state,
        cursor,
        String(ask),
        String(CLEAN_SCAN),
        ...filter,
      ]),
      "clean",
    );
    removed += Number(got);
    if (next === null || next === undefined) break;
    cursor = String(next);
  }
  return removed;
}

/** Move dead or cancelled jobs back to waiting (see lua/retry-jobs-14.lua). */
export async function retryJobs(run: RunScript, request: qf.RetryRequest): Promise<string[]> {
  const { queue, ids, payloadPatch } = request;
  if (ids.length === 0) return [];
  // The patch is merged here, not in Lua: cjson would re-encode the payload (empty arrays
  // become objects, big numbers lose digits). retry-jobs applies it only if the job has not
  // changed state since this read, which keeps each job's step atomic in effect.
  const slots: (string[] | null)[] = [];
  const toPeek: number[] = [];
  for (const [i, id] of ids.entries()) {
    const replacement = replacementPayload(request, id);
    if (replacement !== undefined) slots.push([id, "", JSON.stringify(replacement) ?? "null"]);
    else if (payloadPatch === null) slots.push([id, "", ""]);
    else {
      slots.push(null);
      toPeek.push(i);
    }
  }
  if (toPeek.length > 0) {
    const peekIds = toPeek.map((i) => ids[i] as string);
    const peeked = asArray(await run(queue, "peekRetry", peekIds), "peekRetry");
    for (const [j, i] of toPeek.entries()) {
      const [seq, payload] = asArray(peeked[j], "peekRetry") as [string | null, string | null];
      if (seq === null || payload === null) continue;
      const current: unknown = JSON.parse(payload);
      if (!isPlainObject(current)) continue;
      slots[i] = [ids[i] as string, seq, JSON.stringify({ ...current, ...payloadPatch })];
    }
  }
  const argv = slots.flatMap((slot) => slot ?? []);
  if (argv.length === 0) return [];
  const reply = await run(queue, "retryJobs", [
    String(argv.length / 3),
    text(request.maxAttempts),
    text(request.asOf),
    ...argv,
  ]);
  return asArray(reply, "retryJobs") as string[];
}

/** Most jobs one listJobs page returns, whatever `limit` asks: one call stays bounded. */
const MAX_PAGE = 1_000;
const CURSOR = /^[0-9a-z]{1,11}$/;

/** One page of a state's jobs matching the filter (see lua/list-jobs-13.lua). */
export async function listJobs(run: RunScript, request: qf.ListJobsRequest): Promise<qf.JobPage> {
  const filter = filterArgs(request);
  const cursor = request.cursor ?? null;
  if (cursor !== null && (typeof cursor !== "string" || !CURSOR.test(cursor))) {
    throw invalidCursor(cursor);
  }
  const reply = asArray(
    await run(request.queue, "listJobs", [
      request.state,
      cursor === null ? "" : String(Number.parseInt(cursor, 36)),
      String(Math.min(request.limit, MAX_PAGE)),
      ...filter,
    ]),
    "listJobs",
  );
  const flat = asArray(reply[0], "listJobs");
  const jobs: qf.JobRecord[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    jobs.push(decodeJob(request.queue, flat[i] as string, flat[i + 1] as FlatHash));
  }
  const next = reply[1];
  return {
    jobs,
    nextCursor: next === null || next === undefined ? null : Number(next).toString(36),
  };
}

function pairsToCounts(flat: unknown): Record<string, number> {
  const list = asArray(flat, "deadLetterStats") as string[];
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i] as string] = Number(list[i + 1]);
  return out;
}

/** Dead-letter stats from counters and the finish-time index: no walk over dead jobs. */
export async function deadLetterStats(run: RunScript, queue: string): Promise<qf.DeadLetterStats> {
  const [total, byName, byError, byClass, oldest, newest, ages] = asArray(
    await run(queue, "deadLetterStats", DEAD_LETTER_AGE_BUCKETS_MS.map(String)),
    "deadLetterStats",
  );
  const counts = asArray(ages, "deadLetterStats").map(Number);
  return {
    total: Number(total),
    byName: pairsToCounts(byName),
    byError: pairsToCounts(byError),
    byErrorClass: pairsToCounts(byClass),
    oldestFinishedAt: numberOrNull(oldest),
    newestFinishedAt: numberOrNull(newest),
    byAge: [...DEAD_LETTER_AGE_BUCKETS_MS, null].map((maxAgeMs, i) => ({
      maxAgeMs,
      count: counts[i] ?? 0,
    })),
  };
}
