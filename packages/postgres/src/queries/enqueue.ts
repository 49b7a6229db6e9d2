import type { Schema } from "../schema.js";
import {
  jobColumns,
  LIVE_STATES,
  NOW_MS,
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
 * same live dedup key). A row whose holder was committed by a concurrent transaction after
 * this statement's snapshot resolves to nothing (`id` null): the adapter re-runs just
 * those rows, and the next snapshot sees the holder.
 *
 * Inserting waiting jobs notifies the schema's channel inside the statement, so inside a
 * caller's transaction the wake-up is sent at commit and a rollback sends nothing.
 */
export function enqueueJobs(s: Schema, jobs: string): Statement {
  const raw = (alias: string) => rawJobColumns(alias);
  const existing = (alias: string) => jobColumns(alias, "(select now from clock)");
  return {
    name: statementName(s, "enqueue"),
    text: `
with clock as materialized (select ${NOW_MS} as now),
input as materialized (
  select * from jsonb_to_recordset($1::jsonb) as x(
    ord int, id text, queue text, name text, payload jsonb, priority int, max_attempts int,
    backoff jsonb, timeout_ms bigint, dedup_key text, metadata jsonb, delay_ms bigint,
    run_at bigint)
),
inserted as (
  insert into ${s.jobs} as j (queue, id, name, payload, state, priority, max_attempts,
    backoff, timeout_ms, dedup_key, metadata, created_at, run_at)
  select i.queue, i.id, i.name, coalesce(i.payload, 'null'::jsonb),
    case when coalesce(i.run_at, c.now + i.delay_ms) > c.now then 'delayed' else 'waiting' end,
    i.priority, i.max_attempts, i.backoff, i.timeout_ms, i.dedup_key,
    coalesce(i.metadata, '{}'::jsonb), c.now, coalesce(i.run_at, c.now + i.delay_ms)
  from input i cross join clock c
  order by i.ord
  on conflict do nothing
  returning ${raw("j")}
),
notified as (
  select pg_notify(${s.channelLiteral}, w.queue)
  from (select distinct queue from inserted where state = 'waiting') w
)
select i.ord, r.*, (select count(*) from notified) as notified
from input i
left join lateral (
  select true as created, ${raw("n")} from inserted n
  where n.queue = i.queue and n.id = i.id and n.dedup_key is not distinct from i.dedup_key
    and i.ord = (select min(i2.ord) from input i2 where i2.queue = i.queue and i2.id = i.id
                   and i2.dedup_key is not distinct from i.dedup_key)
  union all
  select false, ${raw("n")} from inserted n where n.queue = i.queue and n.id = i.id
  union all
  select false, ${existing("e")} from ${s.jobs} e where e.queue = i.queue and e.id = i.id
  union all
  select false, ${raw("n")} from inserted n
  where i.dedup_key is not null and n.queue = i.queue and n.dedup_key = i.dedup_key
  union all
  select false, ${existing("e")} from ${s.jobs} e
  where i.dedup_key is not null and e.queue = i.queue and e.dedup_key = i.dedup_key
    and e.state in ${LIVE_STATES}
  limit 1
) r on true
order by i.ord`,
    values: [jobs],
  };
}
