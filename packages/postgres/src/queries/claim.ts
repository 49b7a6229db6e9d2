import type { Schema } from "../schema.js";
import { CLOCK_CTE, rawJobColumns, type Statement, statementName } from "./statement.js";

/** Input of {@link claimJobs}. */
export interface ClaimParams {
  queue: string;
  workerId: string;
  limit: number;
  leaseMs: number;
  minPriority: number;
  maxPriority: number;
  /** A priority range was given: ungrouped jobs only, through the plain path. */
  ranged: boolean;
}

/**
 * Lease up to `limit` due jobs in contract order, in one statement that also enforces the
 * queue's settings.
 *
 * - Due means `state in ('waiting', 'delayed') and run_at <= now`: delayed jobs need no
 *   promotion step, and the partial index `jobs_claim_plain` (queue, priority desc, run_at,
 *   seq) over live ungrouped rows gives claim order without a sort.
 * - Groups: a queue that has a lane row (it had a grouped job) starts nothing here unless a
 *   priority range was given ($7, which takes ungrouped jobs only); the row says `grouped`
 *   and the adapter claims through {@link claimGroupedJobs} from then on. A queue without
 *   groups pays one primary-key probe of the empty groups range.
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
 * - The last row carries `next_due` and `rate_free` for `nextWakeAt`, and `held`: whether
 *   the queue is paused or limited (so {@link claimPlainJobs} would refuse it); with nothing
 *   claimed, it is the only row (its job columns null).
 */
export function claimJobs(s: Schema, p: ClaimParams): Statement {
  return {
    name: statementName(s, "claim"),
    text: `
with ${claimPrefix(s, `(not $7::boolean and exists (select 1 from ${s.groups} l where l.queue = $1 and l.grp = ''))`)},
due as materialized (
  select j.queue, j.id, j.ctid as jrid from ${s.jobs} j
  where j.queue = $1 and j.state in ('waiting', 'delayed') and j.grp is null
    and j.run_at <= (select now from clock)
    and j.priority between $5 and $6
  order by j.priority desc, j.run_at, j.seq
  limit (select n from room)
  for update skip locked
),
${leaseRows(s, "due")},
${claimSuffix(s)}
select j.*, w.next_due, w.rate_free, null::bigint as group_free,
  (select grouped from settings_grouped) as grouped,
  coalesce((select paused or limited from settings), false) as held
from wake w left join claimed j on true
order by j.priority desc, j.run_at, j.seq`,
    values: [p.queue, p.workerId, p.limit, p.leaseMs, p.minPriority, p.maxPriority, p.ranged],
  };
}

/**
 * The claim of a queue with no settings to enforce (not paused, no cap, no rate limit) and no
 * groups, the common case: `due` and `claimed` of {@link claimJobs} without its `settings`,
 * `gate`, `room`, rate-window and wake CTEs. A worker woken from idle by a new job claims it
 * in ~0.65 ms where {@link claimJobs} took ~1.1 ms (round trip, measured on loopback).
 *
 * It checks its own precondition in the same snapshot: when the queue has a settings row that
 * pauses or limits it, or a lane row (it had a grouped job), it claims nothing and the one row
 * it returns says `held`; the adapter then claims through {@link claimJobs}, which enforces
 * them. So a stale guess of the adapter's costs one round trip, never a broken limit. The
 * precondition is read without a lock, as {@link claimJobs} reads its settings: a change
 * committed after the snapshot applies from the next claim on.
 *
 * The last row carries `next_due` (looked up only when fewer than `limit` were claimed); with
 * nothing claimed it is the only row, its job columns null.
 */
export function claimPlainJobs(s: Schema, p: ClaimParams): Statement {
  return {
    name: statementName(s, "claim_plain"),
    text: `
with ${CLOCK_CTE},
held as materialized (
  select exists (select 1 from ${s.queues} q where q.queue = $1
                 and (q.paused or q.concurrency is not null or q.rate_max is not null))
    or exists (select 1 from ${s.groups} l where l.queue = $1 and l.grp = '') as held
),
due as materialized (
  select j.queue, j.id, j.ctid as jrid from ${s.jobs} j
  where j.queue = $1 and j.state in ('waiting', 'delayed') and j.grp is null
    and j.run_at <= (select now from clock)
    and not (select held from held)
  order by j.priority desc, j.run_at, j.seq
  limit (select $3::int)
  for update skip locked
),
${leaseRows(s, "due")},
wake as materialized (
  select (select held from held) as held,
    case when (select count(*) from claimed) < $3 then (
      select min(d.run_at) from ${s.jobs} d
      where d.queue = $1 and d.state = 'delayed' and d.run_at > c.now) end as next_due
  from clock c
)
select j.*, w.next_due, w.held
from wake w left join claimed j on true
order by j.priority desc, j.run_at, j.seq`,
    values: [p.queue, p.workerId, p.limit, p.leaseMs],
  };
}

/**
 * The `claimed` CTE every claim has: lease the rows that CTE `from` picked and locked (its
 * `jrid`, the row's ctid; queue $1) to worker $2 for $4 ms as of `clock`, returning them as
 * stored plus `seq`. A caller that needs other columns of `from` joins them afterwards.
 *
 * The rows are fetched by `ctid = any(array(…))`, a TID scan, the one plan that involves no
 * join and no estimate: node-postgres runs these as named prepared statements, and once
 * PostgreSQL settles on a generic plan it no longer knows the LIMIT, guesses a tenth of the
 * queue's rows for `from`, and joined them by hashing a sequential scan of the whole jobs
 * table (every completed job included) on every claim; an `id = any(array(…))` bound that
 * kept it on the primary key was checked as a filter on each row, a linear search of the
 * array (a claim of 500 compared 250,000 ids). `from` holds the rows' locks until commit; a
 * row another transaction changed before the lock was taken is written in its latest version,
 * which the lock's recheck found still claimable.
 */
export function leaseRows(s: Schema, from: string): string {
  return `claimed as (
  update ${s.jobs} j set state = 'active', attempts = j.attempts + 1, started_at = c.now,
    lease_token = gen_random_uuid(), lease_expires_at = c.now + $4::bigint, worker_id = $2,
    state_seq = nextval(${s.stateSeq})
  from clock c
  where j.ctid = any(array(select x.jrid from ${from} x)) and j.queue = $1
  returning ${rawJobColumns("j")}, j.seq
)`;
}

/**
 * The CTEs every claim starts with: `clock`, `settings`, `gate` (the queue row, locked when
 * the queue has a cap or a rate limit) and `room` (how many jobs this claim may start). With
 * `grouped` true (a SQL condition) the plain claim starts nothing: the queue has groups and
 * its claims go through {@link claimGroupedJobs}. Parameters: $1 queue, $3 limit.
 */
export function claimPrefix(s: Schema, grouped: string): string {
  return `${CLOCK_CTE},
settings_grouped as materialized (select ${grouped} as grouped),
settings as materialized (
  select q.paused, (q.concurrency is not null or q.rate_max is not null) as limited,
    q.group_concurrency as gc, q.group_rate_max as grm, q.group_rate_window_ms as grw
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
    when (select grouped from settings_grouped) then 0
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
)`;
}

/**
 * The CTEs every claim ends with, after a `claimed` CTE: the queue rate window's new starts
 * and `wake` (the next delayed job and when the queue's rate window frees).
 */
export function claimSuffix(s: Schema): string {
  return `window_starts as materialized (
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
)`;
}

/**
 * Whether a claim now would lease a job (ignoring priority ranges): waitForWork's check
 * for work that arrived before it started listening. A group whose turn has come counts
 * (its job may turn out not due: one early wake-up at most).
 */
export function hasClaimableWork(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "has_work"),
    text: `
with ${CLOCK_CTE},
q as materialized (select * from ${s.queues} where queue = $1)
select
  (exists (select 1 from ${s.jobs} j
           where j.queue = $1 and j.state in ('waiting', 'delayed') and j.grp is null
             and j.run_at <= (select now from clock))
   or exists (select 1 from ${s.groups} g
              where g.queue = $1 and g.grp <> '' and g.turn is not null and not g.capped
                and g.turn <= (select now_us from clock)))
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
