import type { Schema } from "../schema.js";
import { LIVE_STATES, NOW_MS, type Statement, statementName } from "./statement.js";

/** A queue's settings row, if it has one. */
export function getSettings(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "get_settings"),
    text: `select paused, concurrency, rate_max, rate_window_ms from ${s.queues} where queue = $1`,
    values: [queue],
  };
}

/** Input of {@link updateSettings}: null `paused` and false `set*` flags keep a field. */
export interface SettingsPatchParams {
  queue: string;
  paused: boolean | null;
  setConcurrency: boolean;
  concurrency: number | null;
  setRateLimit: boolean;
  rateMax: number | null;
  rateWindowMs: number | null;
}

/**
 * Upsert a queue's settings, keeping fields the patch leaves out. Turning the rate limit off
 * forgets its start times. A queue that is not paused afterwards is notified: a resume, a
 * higher cap or a looser limit may each make waiting jobs claimable.
 */
export function updateSettings(s: Schema, p: SettingsPatchParams): Statement {
  return {
    name: statementName(s, "update_settings"),
    text: `
with saved as (
  insert into ${s.queues} as q (queue, paused, concurrency, rate_max, rate_window_ms)
  values ($1, coalesce($2::boolean, false),
          case when $3::boolean then $4::int end,
          case when $5::boolean then $6::int end,
          case when $5::boolean then $7::bigint end)
  on conflict (queue) do update set
    paused = coalesce($2::boolean, q.paused),
    concurrency = case when $3::boolean then $4::int else q.concurrency end,
    rate_max = case when $5::boolean then $6::int else q.rate_max end,
    rate_window_ms = case when $5::boolean then $7::bigint else q.rate_window_ms end,
    rate_starts = case when $5::boolean and $6::int is null then '{}' else q.rate_starts end
  returning q.paused, q.concurrency, q.rate_max, q.rate_window_ms
),
notified as (
  select pg_notify(${s.channelLiteral}, $1) where exists (select 1 from saved where not paused)
)
select saved.*, (select count(*) from notified) as notified from saved`,
    values: [
      p.queue,
      p.paused,
      p.setConcurrency,
      p.concurrency,
      p.setRateLimit,
      p.rateMax,
      p.rateWindowMs,
    ],
  };
}

/** Delete a job unless it is active; reports whether it was removed and its prior state. */
export function removeJob(s: Schema, queue: string, id: string): Statement {
  return {
    name: statementName(s, "remove"),
    text: `
with prior as materialized (select state from ${s.jobs} where queue = $1 and id = $2),
removed as (
  delete from ${s.jobs} where queue = $1 and id = $2 and state <> 'active' returning 1
)
select (select count(*) from removed) > 0 as removed, (select state from prior) as prior`,
    values: [queue, id],
  };
}

/**
 * Move dead or cancelled jobs back to waiting, due now (behind jobs already due), attempts
 * and stalls reset, errors kept, payload shallow-merged with `patch` (`||` on jsonb objects).
 * A job whose dedup key a live job holds is skipped, and of several given jobs sharing a key
 * only the first moves, so the live-key index is never violated by the jobs themselves; a
 * concurrent enqueue taking the key can still raise 23505, and the adapter re-runs then.
 */
export function retryJobs(
  s: Schema,
  queue: string,
  ids: string[],
  patch: string | null,
): Statement {
  return {
    name: statementName(s, "retry"),
    text: `
with clock as materialized (select ${NOW_MS} as now),
locked as materialized (
  select j.queue, j.id, j.dedup_key from ${s.jobs} j
  where j.queue = $1 and j.id = any($2::text[]) and j.state in ('dead', 'cancelled')
    and ($3::jsonb is null or jsonb_typeof(j.payload) = 'object')
    and (j.dedup_key is null or not exists (
      select 1 from ${s.jobs} h
      where h.queue = j.queue and h.dedup_key = j.dedup_key and h.state in ${LIVE_STATES}))
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
    payload = case when $3::jsonb is null then j.payload else j.payload || $3::jsonb end,
    state_seq = nextval(${s.stateSeq})
  from candidates k cross join clock c
  where j.queue = k.queue and j.id = k.id and (k.dedup_key is null or k.rn = 1)
  returning j.id
),
notified as (
  select pg_notify(${s.channelLiteral}, $1) where exists (select 1 from revived)
)
select r.id, (select count(*) from notified) as notified from revived r`,
    values: [queue, ids, patch],
  };
}

/** Make a delayed job due now. A due delayed job already counts as waiting: not promoted. */
export function promoteJob(s: Schema, queue: string, id: string): Statement {
  return {
    name: statementName(s, "promote"),
    text: `
with clock as materialized (select ${NOW_MS} as now),
promoted as (
  update ${s.jobs} j set state = 'waiting', run_at = c.now, state_seq = nextval(${s.stateSeq})
  from clock c
  where j.queue = $1 and j.id = $2 and j.state = 'delayed' and j.run_at > c.now
  returning 1
),
notified as (
  select pg_notify(${s.channelLiteral}, $1) where exists (select 1 from promoted)
)
select (select count(*) from promoted) > 0 as promoted, (select count(*) from notified) as n`,
    values: [queue, id],
  };
}

/**
 * Delete up to `limit` jobs of a terminal state that finished before a time, oldest first,
 * through `jobs_finished`: the ids are picked in a MATERIALIZED CTE (with SKIP LOCKED, so two
 * cleaners never wait on each other) and deleted by key, so one call removes at most `limit`.
 */
export function cleanJobs(
  s: Schema,
  queue: string,
  state: string,
  finishedBefore: number,
  limit: number,
): Statement {
  return {
    name: statementName(s, "clean"),
    text: `
with doomed as materialized (
  select queue, id from ${s.jobs}
  where queue = $1 and state = $2 and finished_at < $3::bigint
    and state in ('completed', 'dead', 'cancelled')
  order by finished_at
  limit $4
  for update skip locked
),
deleted as (
  delete from ${s.jobs} j using doomed d where j.queue = d.queue and j.id = d.id returning 1
)
select count(*)::int as removed from deleted`,
    values: [queue, state, finishedBefore, limit],
  };
}
