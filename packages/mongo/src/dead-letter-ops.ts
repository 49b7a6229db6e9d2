// Inspection and dead-letter operations: typed filters, listing, retention and purge,
// replay, and dead-letter statistics computed in the server.
import {
  type AgeBucket,
  DEAD_LETTER_AGE_BUCKETS_MS,
  type DeadLetterStats,
  emptyDeadLetterStats,
  type JobFilter,
  type JobState,
  type RetryRequest,
  replacementPayload,
} from "@queueflow/core";
import { type Filter, ObjectId } from "mongodb";
import { type DedupDoc, fromJson, type JobDoc, toJson } from "./codec.js";
import { type Collections, jobKey } from "./collections.js";

/** The filter of one state as the contract sees it (a due delayed job is waiting). */
export function stateFilter(queue: string, state: JobState, now: number): Filter<JobDoc> {
  if (state === "waiting") {
    return {
      queue,
      $or: [{ state: "waiting" }, { state: "delayed", runAt: { $lte: now } }],
    };
  }
  if (state === "delayed") return { queue, state: "delayed", runAt: { $gt: now } };
  return { queue, state };
}

/**
 * The query clauses of a {@link JobFilter} that the caller already checked and picked
 * (`pickJobFilter`): each value is a string or a finite number, wrapped in an explicit
 * operator, so nothing a caller passes can act as a query operator. The class of the latest
 * error is the indexed `lastErrorClass` (`state_error_class`); a document written before
 * classes existed has none and counts as `unknown` when it has an error.
 */
export function jobFilterQuery(filter: JobFilter): Filter<JobDoc> {
  const q: Filter<JobDoc> = {};
  if (filter.name !== undefined) q.name = { $eq: String(filter.name) };
  if (filter.errorName !== undefined) q.lastErrorName = { $eq: String(filter.errorName) };
  if (filter.errorClass !== undefined) {
    const errorClass = String(filter.errorClass);
    if (errorClass === "unknown") {
      q.$or = [
        { lastErrorClass: { $eq: "unknown" } },
        { lastErrorClass: { $exists: false }, lastErrorName: { $type: "string" } },
      ];
    } else {
      q.lastErrorClass = { $eq: errorClass };
    }
  }
  const finished: { $gte?: number; $lt?: number } = {};
  if (filter.finishedAfter !== undefined) finished.$gte = Number(filter.finishedAfter);
  if (filter.finishedBefore !== undefined) finished.$lt = Number(filter.finishedBefore);
  // A number comparison never matches a null finishedAt (type bracketing).
  if (Object.keys(finished).length > 0) q.finishedAt = finished;
  const attempts: { $gte?: number; $lte?: number } = {};
  if (filter.minAttempts !== undefined) attempts.$gte = Number(filter.minAttempts);
  if (filter.maxAttempts !== undefined) attempts.$lte = Number(filter.maxAttempts);
  if (Object.keys(attempts).length > 0) q.attempts = attempts;
  return q;
}

/** `a` and `b` both (their `$or`s may not be merged into one key). */
function both(a: Filter<JobDoc>, b: Filter<JobDoc>): Filter<JobDoc> {
  if (a.$or !== undefined && b.$or !== undefined) return { $and: [a, b] };
  return { ...a, ...b };
}

/**
 * One page of a state in order of entry (`stateSeq`), after `after`, matching `filter`.
 * Terminal jobs enter their state when they finish, so this is also finish order.
 */
export async function listJobs(
  c: Collections,
  p: {
    queue: string;
    state: JobState;
    filter: JobFilter;
    after: ObjectId | null;
    fetch: number;
    now: number;
  },
): Promise<JobDoc[]> {
  const query = both(stateFilter(p.queue, p.state, p.now), jobFilterQuery(p.filter));
  if (p.after !== null) query.stateSeq = { $gt: p.after };
  return c.jobs.find(query, { sort: { stateSeq: 1 }, limit: p.fetch }).toArray();
}

/**
 * Delete up to `limit` terminal jobs finished before `finishedBefore` and matching
 * `filter`, oldest finished first: ids from the `state_finished` index (or a filter index),
 * then one deleteMany re-checking the whole filter (a job retried meanwhile is kept), then
 * their dedup keys.
 */
export async function cleanJobs(
  c: Collections,
  p: { queue: string; state: JobState; finishedBefore: number; filter: JobFilter; limit: number },
): Promise<number> {
  const query: Filter<JobDoc> = {
    ...jobFilterQuery({ ...p.filter, finishedBefore: p.finishedBefore }),
    queue: p.queue,
    state: p.state,
  };
  const victims = await c.jobs
    .find(query, { sort: { finishedAt: 1 }, limit: p.limit, projection: { dedupKey: 1, id: 1 } })
    .toArray();
  if (victims.length === 0) return 0;
  const res = await c.jobs.deleteMany({ ...query, _id: { $in: victims.map((v) => v._id) } });
  const keyed = victims.filter((v) => v.dedupKey !== null);
  if (keyed.length > 0) {
    await c.dedup.deleteMany({
      _id: { $in: keyed.map((v) => jobKey(p.queue, v.dedupKey!)) },
      jobId: { $in: keyed.map((v) => v.id) },
    } satisfies Filter<DedupDoc>);
  }
  return res.deletedCount;
}

/**
 * Revive one dead or cancelled job (see `StorageAdapter.retryJobs`): read it, skip it when
 * it finished after `asOf` or a patch cannot merge, take its dedup key back (skip when a
 * live job holds it), then one compare-and-set on its `stateSeq` (unique per transition):
 * of concurrent replays one moves the job, and a job that moved meanwhile is left alone.
 */
export async function retryJob(
  c: Collections,
  now: () => number,
  request: RetryRequest,
  id: string,
  takeKey: (doc: JobDoc) => Promise<boolean>,
  announce: (doc: JobDoc) => Promise<void>,
): Promise<boolean> {
  const doc = await c.jobs.findOne({ _id: jobKey(request.queue, id) });
  if (doc === null || (doc.state !== "dead" && doc.state !== "cancelled")) return false;
  const asOf = request.asOf;
  if (asOf !== undefined && !(doc.finishedAt !== null && doc.finishedAt <= asOf)) return false;
  let payload = doc.payload;
  const replacement = replacementPayload(request, id);
  if (replacement !== undefined) {
    payload = toJson(replacement);
  } else if (request.payloadPatch !== null) {
    const current = fromJson(doc.payload);
    if (typeof current !== "object" || current === null || Array.isArray(current)) return false;
    payload = toJson({ ...current, ...request.payloadPatch });
  }
  if (doc.dedupKey !== null && !(await takeKey(doc))) return false;
  // A grouped job announces its group before the move (a crash after it costs one wasted
  // turn) and after it (see groups.ts).
  if (doc.group != null) await announce(doc);
  const set: Partial<JobDoc> = {
    state: "waiting",
    payload,
    attempts: 0,
    stalls: 0,
    finishedAt: null,
    result: "null",
    leaseToken: null,
    leaseExpiresAt: null,
    // Due now: a replay joins the line behind jobs already due.
    runAt: now(),
    stateSeq: new ObjectId(),
  };
  if (request.maxAttempts !== undefined) set.maxAttempts = request.maxAttempts;
  const res = await c.jobs.updateOne(
    { _id: doc._id, state: doc.state, stateSeq: doc.stateSeq },
    { $set: set },
  );
  if (res.matchedCount !== 1) return false;
  if (doc.group != null) await announce(doc);
  return true;
}

/**
 * Dead-letter statistics, computed in the server: `$group` pipelines by job name, error
 * name and error class, one for the totals and finish-time bounds, and one count per age
 * bucket (a `finishedAt` range on the `state_finished` index). Linear in dead jobs on the
 * server; the jobs are never loaded into this process.
 */
export async function deadLetterStats(
  c: Collections,
  queue: string,
  now: number,
): Promise<DeadLetterStats> {
  const match = { $match: { queue, state: "dead" } };
  const groupBy = (field: string) =>
    c.jobs
      .aggregate<{ _id: string | null; n: number }>([
        match,
        { $group: { _id: field, n: { $sum: 1 } } },
      ])
      .toArray();
  const bounds = DEAD_LETTER_AGE_BUCKETS_MS;
  // Bucket i holds ages in [bounds[i-1], bounds[i]): finishedAt in (now - bounds[i], now - bounds[i-1]].
  const ageCounts = [...bounds, null].map((upper, i) => {
    const range: { $gt?: number; $lte?: number } = {};
    if (upper !== null) range.$gt = now - upper;
    if (i > 0) range.$lte = now - (bounds[i - 1] as number);
    return c.jobs.countDocuments({ queue, state: "dead", finishedAt: range });
  });
  const [[byName, byError, byClass, totals], ages] = await Promise.all([
    Promise.all([
      groupBy("$name"),
      groupBy("$lastErrorName"),
      groupBy("$lastErrorClass"),
      c.jobs
        .aggregate<{ n: number; oldest: number | null; newest: number | null }>([
          match,
          {
            $group: {
              _id: null,
              n: { $sum: 1 },
              oldest: { $min: "$finishedAt" },
              newest: { $max: "$finishedAt" },
            },
          },
        ])
        .toArray(),
    ]),
    Promise.all(ageCounts),
  ]);
  const stats = emptyDeadLetterStats();
  stats.total = totals[0]?.n ?? 0;
  stats.oldestFinishedAt = totals[0]?.oldest ?? null;
  stats.newestFinishedAt = totals[0]?.newest ?? null;
  for (const g of byName) if (g._id !== null) stats.byName[g._id] = g.n;
  for (const g of byError) if (g._id !== null) stats.byError[g._id] = g.n;
  // Every dead job has an error; one stored before classes existed counts as unknown.
  for (const g of byClass) {
    const key = g._id ?? "unknown";
    stats.byErrorClass[key] = (stats.byErrorClass[key] ?? 0) + g.n;
  }
  ages.forEach((n, i) => {
    (stats.byAge[i] as AgeBucket).count = n;
  });
  return stats;
}
