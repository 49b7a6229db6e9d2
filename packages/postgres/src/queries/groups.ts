import type { Schema } from "../schema.js";
import { CLOCK_CTE, type Statement, statementName } from "./statement.js";

// SQL fragments that keep the `groups` table (see migrations/0003_groups.sql) in step with the
// jobs, written into the same statement as the job transition they follow, so a group's
// counters and turn change atomically with its jobs. Lock order everywhere: job rows first,
// then group rows (sorted by name where a statement takes several), so statements that wait
// on each other never deadlock; the claim takes both with SKIP LOCKED and never waits.

/**
 * CTEs that put the groups of jobs that just became waiting or delayed back in the rotation:
 * `source` is a CTE with `queue`, `grp` and `run_at` (rows with a null grp are ignored). A
 * group's turn becomes the earlier of its own and when its new job is due (now at the
 * earliest: the back of the rotation), so an idle group joins and one waiting for a later time
 * moves up. The first grouped job of a queue also creates its lane (the ungrouped jobs' turn,
 * idle until an ungrouped job arrives), which switches the queue's claims to the grouped path.
 * Needs the `clock` CTE.
 */
export function announceGroups(s: Schema, source: string, name = "announced"): string {
  return `${name} as (
  insert into ${s.groups} as g (queue, grp, turn)
  select a.queue, a.grp, greatest(min(a.run_at) * 1000, (select now_us from clock))
  from ${source} a where a.grp is not null
  group by a.queue, a.grp
  order by a.queue, a.grp
  on conflict (queue, grp) do update set turn = least(g.turn, excluded.turn)
  returning 1
),
${name}_lanes as (
  insert into ${s.groups} (queue, grp, turn)
  select distinct a.queue, '', null::bigint from ${source} a where a.grp is not null
  on conflict do nothing
  returning 1
)`;
}

/**
 * CTEs that release the group slots of jobs that just left active: `source` is a CTE of the
 * moved jobs with `grp`, `state` (the new one) and `run_at`, all of queue `$1`. Each group's
 * active count drops by its jobs, it is no longer capped, and jobs that went back to waiting
 * or delayed announce its turn as in {@link announceGroups}. The group rows are locked in
 * name order first. Needs the `clock` CTE.
 */
export function releaseGroups(s: Schema, source: string): string {
  return `released_input as materialized (
  select r.grp, count(*)::int as k,
    min(r.run_at) filter (where r.state in ('waiting', 'delayed')) as back_at
  from ${source} r where r.grp is not null
  group by r.grp
),
released_locks as materialized (
  select g.grp from ${s.groups} g
  where g.queue = $1 and g.grp in (select grp from released_input)
  order by g.grp
  for update
),
released as (
  update ${s.groups} g set active = greatest(0, g.active - x.k), capped = false,
    turn = case when x.back_at is null then g.turn
                else least(g.turn, greatest(x.back_at * 1000, c.now_us)) end
  from released_input x join released_locks l on l.grp = x.grp cross join clock c
  where g.queue = $1 and g.grp = x.grp
  returning 1
)`;
}

/**
 * CTEs that give the lane of a grouped queue its turn when ungrouped jobs arrive (`source`
 * has `queue`, `grp`). Only an idle lane is written, so adds to a busy lane, and to queues
 * without groups (no lane row: one index probe), take no lock. The lanes of a batch spanning
 * several queues are locked in queue order, so two such batches never wait on each other
 * in a cycle.
 */
export function announceLane(s: Schema, source: string): string {
  return `lane_locks as materialized (
  select g.queue from ${s.groups} g
  where g.grp = '' and g.turn is null
    and g.queue in (select distinct a.queue from ${source} a where a.grp is null)
  order by g.queue
  for update of g
),
lane_announced as (
  update ${s.groups} g set turn = c.now_us
  from lane_locks l cross join clock c
  where g.queue = l.queue and g.grp = '' and g.turn is null
  returning 1
)`;
}

/**
 * Delete up to `limit` idle group rows of `queue`: no turn (nothing waiting or delayed), no
 * active job, not capped, and no start left inside the group rate window (whose state would
 * be lost with the row). Rows are found through `groups_idle` and locked SKIP LOCKED, so a
 * row an add is announcing right now is left alone; an add that comes after waits for the
 * delete and creates the row again (`announceGroups` inserts). Returns the number deleted.
 */
export function pruneIdleGroups(s: Schema, queue: string, limit: number): Statement {
  return {
    name: statementName(s, "prune_groups"),
    text: `
with ${CLOCK_CTE},
settings as materialized (
  select q.group_rate_window_ms as grw from ${s.queues} q where q.queue = $1
),
idle as materialized (
  select g.queue, g.grp from ${s.groups} g
  where g.queue = $1 and g.grp <> '' and g.turn is null and g.active = 0 and not g.capped
    and (cardinality(g.starts) = 0
         or g.starts[cardinality(g.starts)]
            <= (select now from clock) - coalesce((select grw from settings), 0))
  limit $2
  for update skip locked
),
pruned as (
  delete from ${s.groups} g using idle i
  where g.queue = i.queue and g.grp = i.grp
  returning 1
)
select count(*)::int as pruned from pruned`,
    values: [queue, limit],
  };
}
