import type { Schema } from "../schema.js";
import { NOW_MS, type Statement, statementName } from "./statement.js";

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
