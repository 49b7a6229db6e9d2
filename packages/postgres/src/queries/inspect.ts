import { isTerminal, type JobFilter, type JobState } from "@queueflow/core";
import type { Schema } from "../schema.js";
import { filterSql, Params, STATE_SQL } from "./filter.js";
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

/** Where a listing page starts: after this job (its state_seq, and finished_at if terminal). */
export interface ListCursor {
  seq: string;
  /** Set for terminal states, which list in (finished_at, state_seq) order. */
  finishedAt: string | null;
}

/** Input of {@link listJobs}. */
export interface ListParams {
  queue: string;
  state: JobState;
  /** Checked filter fields (core's `pickJobFilter`). */
  filter: JobFilter;
  /** The previous page's last job; null for the first page. */
  after: ListCursor | null;
  /** Page size + 1, to tell whether another page follows. */
  fetch: number;
}

/**
 * One page of a state matching a filter. Live states list in order of entry into the state
 * (state_seq: waiting and delayed through `jobs_pending_order`, active jobs, a set bounded by
 * the workers' slots and buffers, sorted from `jobs_active`); due delayed jobs list as
 * waiting, as the contract counts them, so `waiting` and `delayed` compare run_at with the
 * server clock. Terminal states list
 * in finish order (finished_at, then state_seq) through `jobs_terminal`, or through
 * `jobs_dead_class` / `jobs_dead_error` for a dead listing by error class or name; a keyset
 * cursor on the same columns makes every page a range scan.
 *
 * The text is assembled from the fields set (see `filterSql`), the state is a literal from a
 * fixed table, every value is bound; each shape is its own named statement.
 */
export function listJobs(s: Schema, p: ListParams): Statement {
  const params = new Params();
  const queue = params.add(p.queue, "text");
  const terminal = isTerminal(p.state);
  const where = [`j.queue = ${queue}`];
  if (p.state === "waiting") {
    where.push(`j.state in ('waiting', 'delayed') and (j.state = 'waiting' or j.run_at <= c.now)`);
  } else if (p.state === "delayed") {
    where.push(`j.state = 'delayed' and j.run_at > c.now`);
  } else {
    where.push(`j.state = ${STATE_SQL[p.state]}`);
  }
  const filter = filterSql(p.filter, params);
  where.push(...filter.conditions);
  if (p.after !== null) {
    const seq = params.add(p.after.seq, "bigint");
    where.push(
      terminal
        ? `(j.finished_at, j.state_seq) > (${params.add(p.after.finishedAt, "bigint")}, ${seq})`
        : `j.state_seq > ${seq}`,
    );
  }
  const limit = params.add(p.fetch, "bigint");
  return {
    name: statementName(s, `list_${p.state}_${filter.shape}${p.after === null ? "" : "_k"}`),
    text: `
with clock as materialized (select ${NOW_MS} as now)
select ${jobColumns("j", "c.now")}, j.state_seq
from ${s.jobs} j cross join clock c
where ${where.join("\n  and ")}
order by ${terminal ? "j.finished_at, j.state_seq" : "j.state_seq"}
limit ${limit}`,
    values: params.values,
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
