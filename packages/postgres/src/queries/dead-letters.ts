import type { JobFilter } from "@queueflow/core";
import type { Schema } from "../schema.js";
import { filterSql, Params, STATE_SQL, wholeMs } from "./filter.js";
import { announceGroups } from "./groups.js";
import { CLOCK_CTE, LIVE_STATES, NOW_MS, type Statement, statementName } from "./statement.js";

/** Milliseconds per finish-hour bucket of `dead_letter_hours`. */
const HOUR_MS = 3_600_000;

/**
 * Dead-letter statistics from the counter tables the jobs triggers maintain (0002): totals by
 * job name, latest error name and class are sums over `dead_letter_counts` (O(distinct keys)),
 * the age histogram sums `dead_letter_hours` (O(hours with dead jobs)); oldest and newest are
 * one index probe each into `jobs_terminal`. Nothing here reads a dead job's row but those two.
 *
 * Ages: each hour bucket's jobs count as finished at the END of their hour (capped at now), so
 * a job counts as at most one hour younger than it is and a job that just died is in the first
 * bucket. `bounds` is core's DEAD_LETTER_AGE_BUCKETS_MS; a bucket's index is the number of
 * bounds its age reaches, as core's ageBucketIndex.
 */
export function deadLetterStats(s: Schema, queue: string, bounds: readonly number[]): Statement {
  return {
    name: statementName(s, "dlq_stats"),
    text: `
with clock as materialized (select ${NOW_MS} as now),
c as materialized (
  select name, error_name, error_class, count from ${s.deadLetterCounts}
  where queue = $1 and count > 0
),
h as (
  select x.count, (select count(*) from unnest($2::bigint[]) b
                   where k.now - least(k.now, (x.finished_hour + 1) * ${HOUR_MS}) >= b) as bucket
  from ${s.deadLetterHours} x cross join clock k
  where x.queue = $1 and x.count > 0
)
select
  (select coalesce(sum(count), 0) from c) as total,
  (select coalesce(jsonb_object_agg(name, n), '{}') from
     (select name, sum(count) as n from c group by name) x) as by_name,
  (select coalesce(jsonb_object_agg(error_name, n), '{}') from
     (select error_name, sum(count) as n from c group by error_name) y) as by_error,
  (select coalesce(jsonb_object_agg(error_class, n), '{}') from
     (select error_class, sum(count) as n from c group by error_class) z) as by_class,
  (select coalesce(jsonb_object_agg(bucket, n), '{}') from
     (select bucket, sum(count) as n from h group by bucket) a) as by_age,
  (select finished_at from ${s.jobs}
   where queue = $1 and state = 'dead' and finished_at is not null
   order by finished_at limit 1) as oldest,
  (select finished_at from ${s.jobs}
   where queue = $1 and state = 'dead' and finished_at is not null
   order by finished_at desc limit 1) as newest`,
    values: [queue, bounds],
  };
}

/** Input of {@link cleanJobs}. */
export interface CleanParams {
  queue: string;
  state: "completed" | "dead" | "cancelled";
  /** Checked filter fields; `finishedBefore` is the retention bound and is required. */
  filter: JobFilter & { finishedBefore: number };
  limit: number;
}

/**
 * Delete up to `limit` jobs of a terminal state that finished before a time and match the
 * filter, oldest first, in one statement: the ids are picked in a MATERIALIZED CTE in
 * `jobs_terminal` order (or `jobs_dead_class`/`jobs_dead_error` order for a purge by error),
 * with SKIP LOCKED so two cleaners never wait on each other, and deleted by key. The dead
 * triggers decrement the counters of each dead row deleted, in the same transaction.
 */
export function cleanJobs(s: Schema, p: CleanParams): Statement {
  const params = new Params();
  const queue = params.add(p.queue, "text");
  const filter = filterSql(p.filter, params);
  const limit = params.add(p.limit, "bigint");
  return {
    name: statementName(s, `clean_${p.state}_${filter.shape}`),
    text: `
with doomed as materialized (
  select j.queue, j.id from ${s.jobs} j
  where j.queue = ${queue} and j.state = ${STATE_SQL[p.state]}
    and ${filter.conditions.join("\n    and ")}
  order by j.finished_at, j.state_seq
  limit ${limit}
  for update skip locked
),
deleted as (
  delete from ${s.jobs} j using doomed d where j.queue = d.queue and j.id = d.id returning 1
)
select count(*)::int as removed from deleted`,
    values: params.values,
  };
}

/** Input of {@link retryJobs}. */
export interface RetryParams {
  queue: string;
  ids: string[];
  /** JSON object to shallow-merge into each job's object payload, or null. */
  patch: string | null;
  /** JSON object of job id → replacement payload (wins over `patch`), or null. */
  payloads: string | null;
  maxAttempts: number | null;
  /** Only jobs that finished at or before this time move; null: no bound. */
  asOf: number | null;
}

/**
 * Move dead or cancelled jobs back to waiting, due now (behind jobs already due), attempts
 * and stalls reset, errors kept. The payload becomes the job's replacement from `payloads`
 * when it has one, else is shallow-merged with `patch` (`||` on jsonb objects; a job whose
 * payload is not an object is then skipped). `maxAttempts` replaces each job's own; `asOf`
 * skips jobs that finished after it, so a repeated request is a no-op.
 *
 * Atomic per job: candidates are locked FOR UPDATE (in index order, whatever the order of
 * `ids`), and a caller that waited on a row re-checks it (state, asOf) once it is free, so of
 * concurrent calls naming one job exactly one moves it. A job whose dedup key a live job
 * holds is skipped, and of several given jobs sharing a key only the first moves; a
 * concurrent enqueue taking the key can still raise 23505, and the adapter re-runs then.
 * The dead triggers decrement the counters of every dead job moved.
 */
export function retryJobs(s: Schema, p: RetryParams): Statement {
  return {
    name: statementName(s, "retry"),
    text: `
with ${CLOCK_CTE},
locked as materialized (
  select j.queue, j.id, j.dedup_key from ${s.jobs} j
  where j.queue = $1 and j.id = any($2::text[]) and j.state in ('dead', 'cancelled')
    and ($6::bigint is null or j.finished_at <= $6::bigint)
    and ($3::jsonb is null or coalesce($4::jsonb ? j.id, false)
         or jsonb_typeof(j.payload) = 'object')
    and (j.dedup_key is null or not exists (
      select 1 from ${s.jobs} h
      where h.queue = j.queue and h.dedup_key = j.dedup_key and h.state in ${LIVE_STATES}))
  order by j.id
  for update of j
),
candidates as materialized (
  select l.*,
    row_number() over (partition by l.dedup_key order by array_position($2::text[], l.id)) as rn
  from locked l
),
revived as (
  update ${s.jobs} j set state = 'waiting', attempts = 0, stalls = 0, finished_at = null,
    result = null, lease_token = null, lease_expires_at = null, run_at = c.now,
    payload = case
      when coalesce($4::jsonb ? j.id, false) then $4::jsonb -> j.id
      when $3::jsonb is null then j.payload
      else j.payload || $3::jsonb end,
    max_attempts = coalesce($5::int, j.max_attempts),
    state_seq = nextval(${s.stateSeq})
  from candidates k cross join clock c
  where j.queue = k.queue and j.id = k.id and (k.dedup_key is null or k.rn = 1)
  returning j.id, j.queue, j.grp, j.run_at
),
${announceGroups(s, "revived")},
notified as (
  select pg_notify(${s.channelLiteral}, $1) where exists (select 1 from revived)
)
select r.id, (select count(*) from notified) as notified from revived r`,
    values: [
      p.queue,
      p.ids,
      p.patch,
      p.payloads,
      p.maxAttempts,
      p.asOf === null ? null : wholeMs(p.asOf, "floor"),
    ],
  };
}
