import type { Schema } from "../schema.js";
import { jobColumns, NOW_MS, type Statement, statementName } from "./statement.js";

/** The server clock in ms. */
export function serverNow(s: Schema): Statement {
  return { name: statementName(s, "now"), text: `select ${NOW_MS} as now`, values: [] };
}

/** One job by (queue, id). */
export function getJob(s: Schema, queue: string, id: string): Statement {
  return {
    name: statementName(s, "get_job"),
    text: `
with clock as materialized (select ${NOW_MS} as now)
select ${jobColumns("j", "c.now")}
from ${s.jobs} j cross join clock c
where j.queue = $1 and j.id = $2`,
    values: [queue, id],
  };
}

/** Input of {@link listJobs}: the state is decided by the caller's choice of statement. */
export interface ListParams {
  queue: string;
  /** Stored state to list; `waiting` and `delayed` have their own statements. */
  state: string;
  /** state_seq of the previous page's last job; 0 for the first page. */
  after: string;
  name: string | null;
  errorName: string | null;
  /** Page size + 1, to tell whether another page follows. */
  fetch: number;
}

/**
 * One page of a state, in order of entry into it (state_seq), through `jobs_state`. Due
 * delayed jobs list as waiting, as the contract counts them; so `waiting` and `delayed`
 * compare run_at with the server clock.
 */
export function listJobs(s: Schema, p: ListParams): Statement {
  const filter =
    p.state === "waiting"
      ? `j.state in ('waiting', 'delayed') and (j.state = 'waiting' or j.run_at <= c.now)`
      : p.state === "delayed"
        ? `j.state = 'delayed' and j.run_at > c.now`
        : `j.state = $2`;
  const op = p.state === "waiting" || p.state === "delayed" ? p.state : "state";
  return {
    name: statementName(s, `list_${op}`),
    text: `
with clock as materialized (select ${NOW_MS} as now)
select ${jobColumns("j", "c.now")}, j.state_seq
from ${s.jobs} j cross join clock c
where j.queue = $1 and ${filter} and $2::text is not null and j.state_seq > $3::bigint
  and ($4::text is null or j.name = $4)
  and ($5::text is null or j.errors -> -1 ->> 'name' = $5)
order by j.state_seq
limit $6`,
    values: [p.queue, p.state, p.after, p.name, p.errorName, p.fetch],
  };
}

/** Exact counts per state; a delayed job that fell due counts as waiting. */
export function countJobs(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "counts"),
    text: `
with clock as materialized (select ${NOW_MS} as now)
select
  count(*) filter (where j.state = 'waiting' or (j.state = 'delayed' and j.run_at <= c.now))
    as waiting,
  count(*) filter (where j.state = 'delayed' and j.run_at > c.now) as delayed,
  count(*) filter (where j.state = 'active') as active,
  count(*) filter (where j.state = 'completed') as completed,
  count(*) filter (where j.state = 'dead') as dead,
  count(*) filter (where j.state = 'cancelled') as cancelled
from ${s.jobs} j cross join clock c
where j.queue = $1`,
    values: [queue],
  };
}

/** Dead-letter statistics: totals by job name and latest error name, finish-time range. */
export function deadLetterStats(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "dlq_stats"),
    text: `
with d as materialized (
  select name, errors -> -1 ->> 'name' as error_name, finished_at
  from ${s.jobs} where queue = $1 and state = 'dead'
)
select
  (select count(*) from d) as total,
  (select coalesce(jsonb_object_agg(name, n), '{}') from
     (select name, count(*) as n from d group by name) x) as by_name,
  (select coalesce(jsonb_object_agg(error_name, n), '{}') from
     (select error_name, count(*) as n from d where error_name is not null group by error_name) y)
    as by_error,
  (select min(finished_at) from d) as oldest,
  (select max(finished_at) from d) as newest`,
    values: [queue],
  };
}
