import type { Schema } from "../schema.js";
import { NOW_MS, rawJobColumns, type Statement, statementName } from "./statement.js";

/** Input of {@link claimJobs}. */
export interface ClaimParams {
  queue: string;
  workerId: string;
  limit: number;
  leaseMs: number;
  minPriority: number;
  maxPriority: number;
}

/**
 * Lease up to `limit` due jobs in contract order, in one statement that also enforces the
 * queue's settings.
 *
 * - Due means `state in ('waiting', 'delayed') and run_at <= now`: delayed jobs need no
 *   promotion step, and the partial index `jobs_claim` (queue, priority desc, run_at, seq)
 *   gives claim order without a sort, over live rows only.
 * - `due` is a MATERIALIZED CTE with `for update skip locked` under its LIMIT: racing
 *   claimers skip each other's rows and never lease more than `limit` (unlike
 *   `where id in (select … limit n for update skip locked)`, which may be re-evaluated).
 * - Limits: SKIP LOCKED alone does not serialise claimers, so two could each see two free
 *   slots of a cap of three. A capped or rate-limited queue's settings row is therefore
 *   locked `for update` (`gate`) before the room is computed; claimers of that queue take
 *   turns for the length of one statement, while unlimited queues take no lock at all. The
 *   active count comes from `active_count()`, a volatile function, which reads with a fresh
 *   snapshot taken after the lock was granted (this statement's own snapshot predates the
 *   wait and would miss the previous holder's claims). The rate window's start times live on
 *   the locked row itself, which the lock returns in its latest version; `started` appends
 *   this claim's starts and keeps the newest `rate_max` inside the window.
 * - The last row carries `next_due` and `rate_free` for `nextWakeAt`; with nothing claimed,
 *   it is the only row (its job columns null).
 */
export function claimJobs(s: Schema, p: ClaimParams): Statement {
  return {
    name: statementName(s, "claim"),
    text: `
with clock as materialized (select ${NOW_MS} as now),
settings as materialized (
  select q.paused, (q.concurrency is not null or q.rate_max is not null) as limited
  from ${s.queues} q where q.queue = $1
),
gate as materialized (
  select q.queue, q.concurrency, q.rate_max, q.rate_window_ms, q.rate_starts
  from ${s.queues} q
  where q.queue = $1 and not q.paused and (q.concurrency is not null or q.rate_max is not null)
  for update
),
room as materialized (
  select case
    when not exists (select 1 from settings) then $3::int
    when (select paused from settings) then 0
    when not (select limited from settings) then $3::int
    when not exists (select 1 from gate) then 0
    else (
      select greatest(0, least(
        $3::int,
        coalesce(g.concurrency - ${s.activeCount}(g.queue), $3::int),
        coalesce(g.rate_max - (select count(*) from unnest(g.rate_starts) st
                               where st > c.now - g.rate_window_ms), $3::int)
      ))::int
      from gate g cross join clock c
    )
  end as n
),
due as materialized (
  select j.queue, j.id from ${s.jobs} j
  where j.queue = $1 and j.state in ('waiting', 'delayed')
    and j.run_at <= (select now from clock)
    and j.priority between $5 and $6
  order by j.priority desc, j.run_at, j.seq
  limit (select n from room)
  for update skip locked
),
claimed as (
  update ${s.jobs} j set state = 'active', attempts = j.attempts + 1, started_at = c.now,
    lease_token = gen_random_uuid(), lease_expires_at = c.now + $4::bigint, worker_id = $2,
    state_seq = nextval(${s.stateSeq})
  from due d cross join clock c
  where j.queue = d.queue and j.id = d.id
  returning ${rawJobColumns("j")}, j.seq
),
window_starts as materialized (
  select st from gate g cross join clock c cross join unnest(g.rate_starts) st
  where g.rate_max is not null and st > c.now - g.rate_window_ms
  union all
  select c.now from claimed cross join clock c
  where exists (select 1 from gate where rate_max is not null)
),
started as (
  update ${s.queues} q set rate_starts = (
    select coalesce(array_agg(k.st order by k.st), '{}')
    from (select st, row_number() over (order by st desc) as rn from window_starts) k
    where k.rn <= g.rate_max
  )
  from gate g
  where q.queue = g.queue and g.rate_max is not null and exists (select 1 from claimed)
  returning 1
),
wake as materialized (
  select
    (select min(d.run_at) from ${s.jobs} d
     where d.queue = $1 and d.state = 'delayed' and d.run_at > c.now) as next_due,
    (select k.st + g.rate_window_ms
     from gate g
     cross join (select st, row_number() over (order by st desc) as rn from window_starts) k
     where g.rate_max > 0 and k.rn = g.rate_max) as rate_free,
    (select count(*) from started) as rate_updates
  from clock c
)
select j.*, w.next_due, w.rate_free
from wake w left join claimed j on true
order by j.priority desc, j.run_at, j.seq`,
    values: [p.queue, p.workerId, p.limit, p.leaseMs, p.minPriority, p.maxPriority],
  };
}

/**
 * Whether a claim now would lease a job (ignoring priority ranges): waitForWork's check
 * for work that arrived before it started listening.
 */
export function hasClaimableWork(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "has_work"),
    text: `
with clock as materialized (select ${NOW_MS} as now),
q as materialized (select * from ${s.queues} where queue = $1)
select
  exists (select 1 from ${s.jobs} j
          where j.queue = $1 and j.state in ('waiting', 'delayed')
            and j.run_at <= (select now from clock))
  and not coalesce((select paused from q), false)
  and coalesce((select concurrency > ${s.activeCount}($1) from q where concurrency is not null),
               true)
  and coalesce((select rate_max > (select count(*) from unnest(q.rate_starts) st
                                   where st > (select now from clock) - q.rate_window_ms)
                from q where rate_max is not null), true)
  as has_work`,
    values: [queue],
  };
}
