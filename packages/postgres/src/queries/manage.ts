import type { Schema } from "../schema.js";
import { announceGroups } from "./groups.js";
import { CLOCK_CTE, type Statement, statementName } from "./statement.js";

const SETTINGS_COLUMNS =
  "paused, concurrency, rate_max, rate_window_ms, group_concurrency, group_rate_max, group_rate_window_ms";

/** A queue's settings row, if it has one. */
export function getSettings(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "get_settings"),
    text: `select ${SETTINGS_COLUMNS} from ${s.queues} where queue = $1`,
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
  setGroupConcurrency: boolean;
  groupConcurrency: number | null;
  setGroupRateLimit: boolean;
  groupRateMax: number | null;
  groupRateWindowMs: number | null;
}

/**
 * Upsert a queue's settings, keeping fields the patch leaves out. Turning the rate limit off
 * forgets its start times. A change of a group limit gives every group set aside (capped,
 * or waiting for its rate window or a delayed job) another look: O(such groups), rare. Those
 * group rows are locked in name order first, the order settles and stall recovery lock them
 * in (a scan of the OR'ed conditions may return them in any order, and a settle waiting on
 * one while holding another would deadlock with it). A queue that is not paused afterwards
 * is notified: a resume, a higher cap or a looser limit may each make waiting jobs claimable.
 */
export function updateSettings(s: Schema, p: SettingsPatchParams): Statement {
  return {
    name: statementName(s, "update_settings"),
    text: `
with ${CLOCK_CTE},
saved as (
  insert into ${s.queues} as q (queue, paused, concurrency, rate_max, rate_window_ms,
    group_concurrency, group_rate_max, group_rate_window_ms)
  values ($1, coalesce($2::boolean, false),
          case when $3::boolean then $4::int end,
          case when $5::boolean then $6::int end,
          case when $5::boolean then $7::bigint end,
          case when $8::boolean then $9::int end,
          case when $10::boolean then $11::int end,
          case when $10::boolean then $12::bigint end)
  on conflict (queue) do update set
    paused = coalesce($2::boolean, q.paused),
    concurrency = case when $3::boolean then $4::int else q.concurrency end,
    rate_max = case when $5::boolean then $6::int else q.rate_max end,
    rate_window_ms = case when $5::boolean then $7::bigint else q.rate_window_ms end,
    rate_starts = case when $5::boolean and $6::int is null then '{}' else q.rate_starts end,
    group_concurrency = case when $8::boolean then $9::int else q.group_concurrency end,
    group_rate_max = case when $10::boolean then $11::int else q.group_rate_max end,
    group_rate_window_ms = case when $10::boolean then $12::bigint
                                else q.group_rate_window_ms end
  returning ${SETTINGS_COLUMNS}
),
reopen_locks as materialized (
  select g.grp from ${s.groups} g cross join clock c
  where ($8::boolean or $10::boolean) and g.queue = $1 and g.grp <> ''
    and (g.capped or g.turn > c.now_us or ($10::boolean and $11::int is null))
  order by g.grp
  for update of g
),
reopened as (
  update ${s.groups} g set capped = false,
    turn = case when g.turn is null then null else least(g.turn, c.now_us) end,
    starts = case when $10::boolean and $11::int is null then '{}' else g.starts end
  from reopen_locks l cross join clock c
  where g.queue = $1 and g.grp = l.grp
  returning 1
),
notified as (
  select pg_notify(${s.channelLiteral}, $1) where exists (select 1 from saved where not paused)
)
select saved.*, (select count(*) from notified) as notified,
  (select count(*) from reopened) as reopened
from saved`,
    values: [
      p.queue,
      p.paused,
      p.setConcurrency,
      p.concurrency,
      p.setRateLimit,
      p.rateMax,
      p.rateWindowMs,
      p.setGroupConcurrency,
      p.groupConcurrency,
      p.setGroupRateLimit,
      p.groupRateMax,
      p.groupRateWindowMs,
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
with ${CLOCK_CTE},
promoted as (
  update ${s.jobs} j set state = 'waiting', run_at = c.now, state_seq = nextval(${s.stateSeq})
  from clock c
  where j.queue = $1 and j.id = $2 and j.state = 'delayed' and j.run_at > c.now
  returning j.queue, j.grp, j.run_at
),
${announceGroups(s, "promoted")},
notified as (
  select pg_notify(${s.channelLiteral}, $1) where exists (select 1 from promoted)
)
select (select count(*) from promoted) > 0 as promoted, (select count(*) from notified) as n`,
    values: [queue, id],
  };
}
