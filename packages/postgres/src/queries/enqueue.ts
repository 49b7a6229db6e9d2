import type { NewJobParam } from "../codec.js";
import type { Schema } from "../schema.js";
import { announceGroups, announceLane } from "./groups.js";
import {
  CLOCK_CTE,
  jobColumns,
  LIVE_STATES,
  rawJobColumns,
  type Statement,
  statementName,
} from "./statement.js";

/**
 * Add a batch of jobs in one statement; `jobs` is `encodeNewJobs(...)`.
 *
 * `on conflict do nothing` covers both the (queue, id) key and the live dedup-key index, so
 * racing duplicates never raise. Each input row then resolves, in this order, to: the row it
 * inserted (created), a twin inserted earlier in this batch or stored before (same id, then
 * same live dedup key). The resolution is hash joins over the batch, not a lookup per row
 * into the unindexed `inserted` CTE: that made bulk adds O(batch²) (4.5k jobs/s at 1,000 per
 * batch vs 13.8k at 100, bench/). A row whose holder was committed by a concurrent transaction after
 * this statement's snapshot resolves to nothing (`id` null): the adapter re-runs just
 * those rows, and the next snapshot sees the holder.
 *
 * Inserting waiting or delayed jobs notifies the schema's channel inside the statement (a
 * waiter learns a delayed job's due time from its next claim), so inside a caller's
 * transaction the wake-up is sent at commit and a rollback sends nothing.
 *
 * Dedup modes: a `throttle` row whose key has an open window (`throttle_until`, set by the add
 * that created a throttled job, index `jobs_throttle`) resolves to that job, in any state. A
 * `debounce` row updates the key's waiting or delayed holder (payload, due time; fenced on
 * the state, so a holder claimed meanwhile is left alone and the row resolves to nothing, to
 * be re-run) and inserts only when the snapshot has no such holder. An active debounce job
 * does not hold its key in `jobs_dedup_holder`, so the insert then creates the next job. A
 * live or throttled add whose key has no waiting or delayed holder but a running debounce job
 * (index `jobs_debounce_active`) returns that job, the key's holder, as the contract says.
 * Grouped jobs announce their group's turn (see `announceGroups`).
 */
/** The columns an enqueue result row carries, as named by `rawJobColumns`/`jobColumns`. */
const RESULT_COLUMNS = [
  "id",
  "queue",
  "name",
  "payload",
  "state",
  "priority",
  "attempts",
  "max_attempts",
  "backoff",
  "timeout_ms",
  "dedup_key",
  "metadata",
  "created_at",
  "run_at",
  "started_at",
  "finished_at",
  "lease_token",
  "lease_expires_at",
  "worker_id",
  "progress",
  "result",
  "errors",
  "stalls",
  "grp",
];

export function enqueueJobs(s: Schema, jobs: string): Statement {
  const raw = (alias: string) => rawJobColumns(alias);
  const existing = (alias: string) => jobColumns(alias, "(select now from clock)");
  return {
    name: statementName(s, "enqueue"),
    text: `
with ${CLOCK_CTE},
input as materialized (
  select x.*, row_number() over (partition by x.queue, x.id, x.dedup_key order by x.ord) = 1
    as first
  from json_to_recordset($1::json) as x(
    ord int, id text, queue text, name text, payload jsonb, priority int, max_attempts int,
    backoff jsonb, timeout_ms bigint, dedup_key text, metadata jsonb, delay_ms bigint,
    run_at bigint, grp text, dedup_mode text, dedup_ttl_ms bigint)
),
throttled as materialized (
  select i.ord, t.queue, t.id from input i cross join lateral (
    select e.queue, e.id from ${s.jobs} e
    where e.queue = i.queue and e.dedup_key = i.dedup_key and e.throttle_until is not null
      and e.throttle_until > (select now from clock)
    order by e.throttle_until desc limit 1) t
  where i.dedup_mode = 'throttle'
),
debounced as (
  update ${s.jobs} j set payload = coalesce(i.payload, 'null'::jsonb),
    run_at = coalesce(i.run_at, c.now + i.delay_ms),
    state = case when coalesce(i.run_at, c.now + i.delay_ms) > c.now then 'delayed'
                 else 'waiting' end,
    state_seq = case
      when (coalesce(i.run_at, c.now + i.delay_ms) > c.now) = (j.state = 'delayed')
        then j.state_seq
      else nextval(${s.stateSeq}) end
  from input i cross join clock c
  where i.dedup_mode = 'debounce' and j.queue = i.queue and j.dedup_key = i.dedup_key
    and j.state in ('waiting', 'delayed')
  returning ${raw("j")}
),
inserted as (
  insert into ${s.jobs} as j (queue, id, name, payload, state, priority, max_attempts,
    backoff, timeout_ms, dedup_key, metadata, created_at, run_at, grp, dedup_mode,
    throttle_until)
  select i.queue, i.id, i.name, coalesce(i.payload, 'null'::jsonb),
    case when coalesce(i.run_at, c.now + i.delay_ms) > c.now then 'delayed' else 'waiting' end,
    i.priority, i.max_attempts, i.backoff, i.timeout_ms, i.dedup_key,
    nullif(i.metadata, '{}'::jsonb), c.now, coalesce(i.run_at, c.now + i.delay_ms), i.grp,
    i.dedup_mode, case when i.dedup_mode = 'throttle' then c.now + i.dedup_ttl_ms end
  from input i cross join clock c
  where not exists (select 1 from throttled t where t.ord = i.ord)
    and (i.dedup_mode is distinct from 'debounce' or not exists (
      select 1 from ${s.jobs} h
      where h.queue = i.queue and h.dedup_key = i.dedup_key and h.state in ('waiting', 'delayed')))
    and (i.dedup_key is null or i.dedup_mode = 'debounce' or not exists (
      select 1 from ${s.jobs} h
      where h.queue = i.queue and h.dedup_key = i.dedup_key and h.state = 'active'
        and h.dedup_mode = 'debounce'))
  order by i.ord
  on conflict do nothing
  returning ${raw("j")}
),
moved as (
  select queue, grp, run_at from inserted where grp is not null
  union all
  select queue, grp, run_at from debounced where grp is not null
),
${announceGroups(s, "moved")},
${announceLane(s, "inserted")},
notified as (
  select pg_notify(${s.channelLiteral}, w.queue)
  from (select distinct queue from inserted where state in ('waiting', 'delayed')
        union select queue from debounced where state in ('waiting', 'delayed')) w
),
candidates as (
  select 'new' as src, ${raw("n")} from inserted n
  union all
  select 'deb', ${raw("d")} from debounced d
  union all
  select 'old', ${existing("e")} from ${s.jobs} e
  where (e.queue, e.id) in (select queue, id from input)
  union all
  select case when e.state = 'active' and e.dedup_mode = 'debounce' then 'run' else 'old' end,
    ${existing("e")} from ${s.jobs} e
  where e.state in ${LIVE_STATES}
    and (e.queue, e.dedup_key) in (
      select queue, dedup_key from input
      where dedup_key is not null and dedup_mode is distinct from 'debounce')
  union all
  select 'thr', ${existing("e")} from ${s.jobs} e
  where (e.queue, e.id) in (select queue, id from throttled)
),
matches as (
  select i.ord, c.src = 'new' and i.first and c.dedup_key is not distinct from i.dedup_key
    as created,
    case when c.src = 'new' and i.first and c.dedup_key is not distinct from i.dedup_key then 1
         when c.src = 'new' then 2 else 3 end as rank, c.*
  from input i join candidates c on c.queue = i.queue and c.id = i.id
  union all
  select i.ord, false,
    case c.src when 'new' then 4 when 'deb' then 4 when 'old' then 5 when 'run' then 6
               else 7 end, c.*
  from input i join candidates c
    on i.dedup_key is not null and c.queue = i.queue and c.dedup_key = i.dedup_key
      and case when i.dedup_mode = 'debounce' then c.src in ('new', 'deb')
               when i.dedup_mode = 'throttle' then true
               else c.src in ('new', 'old', 'run') end
)
select distinct on (i.ord) i.ord, m.created, ${RESULT_COLUMNS.map((c) => `m.${c}`).join(", ")},
  (select count(*) from notified) as notified,
  (select count(*) from announced) + (select count(*) from announced_lanes) as announced
from input i
left join matches m on m.ord = i.ord
order by i.ord, m.rank, m.created_at desc, m.id`,
    values: [jobs],
  };
}

/**
 * How a plain enqueue meets an id that is taken: `skip` (`on conflict do nothing`: the job
 * resolves to the stored one) or `fail` (a plain insert, which raises unique_violation, 23505,
 * and inserts nothing). A speculative insert (what `on conflict` runs) costs about a quarter
 * more than a plain one, and a batch of core's own ids never conflicts: the adapter tries
 * `fail` first and re-runs the batch with `skip` when it raised.
 */
export type IdConflicts = "skip" | "fail";

/**
 * The enqueue of a batch without dedup keys or groups (the common add): one insert, with
 * none of {@link enqueueJobs}' dedup machinery (no debounce update, which fired the jobs
 * update trigger on every add, no throttle probe, no candidate matching and sort). A created
 * job comes back as its server-set fields only (`state`, `created_at`, `run_at`): the adapter
 * builds the record from the job it sent. A job whose id is taken comes back as the stored
 * job's columns (`inserted` false); a later twin of an id in the batch as `inserted` but not
 * `first`; an id taken by a concurrent transaction after this statement's snapshot as
 * neither (`id` null: the adapter re-runs those jobs). Waiting jobs notify the channel; an ungrouped add to a grouped
 * queue announces its lane, as in {@link enqueueJobs}.
 */
export function enqueuePlainJobs(s: Schema, jobs: string, conflicts: IdConflicts): Statement {
  return {
    name: statementName(s, conflicts === "skip" ? "enqueue_plain" : "enqueue_plain_new"),
    text: `
with ${CLOCK_CTE},
input as materialized (
  select x.*, row_number() over (partition by x.queue, x.id order by x.ord) = 1 as first
  from json_to_recordset($1::json) as x(
    ord int, id text, queue text, name text, payload jsonb, priority int, max_attempts int,
    backoff jsonb, timeout_ms bigint, metadata jsonb, delay_ms bigint, run_at bigint)
),
inserted as (
  insert into ${s.jobs} as j (queue, id, name, payload, state, priority, max_attempts,
    backoff, timeout_ms, metadata, created_at, run_at)
  select i.queue, i.id, i.name, coalesce(i.payload, 'null'::jsonb),
    case when coalesce(i.run_at, c.now + i.delay_ms) > c.now then 'delayed' else 'waiting' end,
    i.priority, i.max_attempts, i.backoff, i.timeout_ms, nullif(i.metadata, '{}'::jsonb),
    c.now, coalesce(i.run_at, c.now + i.delay_ms)
  from input i cross join clock c
  order by i.ord
  ${conflicts === "skip" ? "on conflict do nothing" : ""}
  returning j.queue, j.id, j.state, j.created_at, j.run_at, j.grp
),
${announceLane(s, "inserted")},
notified as (
  select pg_notify(${s.channelLiteral}, w.queue)
  from (select distinct queue from inserted where state in ('waiting', 'delayed')) w
)
select i.ord, n.id is not null as inserted, i.first, n.state as new_state,
  n.created_at as new_created_at, n.run_at as new_run_at, e.*,
  (select count(*) from notified) as notified
from input i
left join inserted n on n.queue = i.queue and n.id = i.id
-- limit 1 keeps this a primary-key probe per job not inserted (never a join over the table).
left join lateral (
  select ${jobColumns("o", "(select now from clock)")} from ${s.jobs} o
  where n.id is null and o.queue = i.queue and o.id = i.id
  limit 1) e on true`,
    values: [jobs],
  };
}

/**
 * {@link enqueuePlainJobs} for a batch of one, the common `queue.add`: the job as typed
 * parameters, without the JSON record set, the twin ranking and the per-row join. On an idle
 * server (the producer of a job a waiting worker starts) it answered in ~1.1 ms where the
 * batch statement took ~1.4 ms. Same result row, with `ord` 0 and `first` true.
 */
export function enqueueOnePlainJob(s: Schema, job: NewJobParam, conflicts: IdConflicts): Statement {
  return {
    name: statementName(s, conflicts === "skip" ? "enqueue_one" : "enqueue_one_new"),
    text: `
with ${CLOCK_CTE},
input as materialized (
  select coalesce($11::bigint, c.now + $10::bigint) as run_at from clock c
),
inserted as (
  insert into ${s.jobs} as j (queue, id, name, payload, state, priority, max_attempts,
    backoff, timeout_ms, metadata, created_at, run_at)
  select $1::text, $2::text, $3::text, coalesce($4::jsonb, 'null'::jsonb),
    case when i.run_at > c.now then 'delayed' else 'waiting' end,
    $5::int, $6::int, $7::jsonb, $8::bigint, nullif($9::jsonb, '{}'::jsonb), c.now, i.run_at
  from input i cross join clock c
  ${conflicts === "skip" ? "on conflict do nothing" : ""}
  returning j.queue, j.id, j.state, j.created_at, j.run_at, j.grp
),
${announceLane(s, "inserted")},
notified as (
  select pg_notify(${s.channelLiteral}, $1::text)
  where exists (select 1 from inserted where state in ('waiting', 'delayed'))
)
select 0 as ord, n.id is not null as inserted, true as first, n.state as new_state,
  n.created_at as new_created_at, n.run_at as new_run_at, e.*,
  (select count(*) from notified) as notified
from clock
left join inserted n on true
left join lateral (
  select ${jobColumns("o", "(select now from clock)")} from ${s.jobs} o
  where n.id is null and o.queue = $1::text and o.id = $2::text
  limit 1) e on true`,
    values: [
      job.queue,
      job.id,
      job.name,
      JSON.stringify(job.payload),
      job.priority,
      job.max_attempts,
      job.backoff === null ? null : JSON.stringify(job.backoff),
      job.timeout_ms,
      JSON.stringify(job.metadata),
      job.delay_ms,
      job.run_at,
    ],
  };
}
