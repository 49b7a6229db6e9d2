import type { Schema } from "../schema.js";
import { type ClaimParams, claimPrefix, claimSuffix, leaseRows } from "./claim.js";
import { type Statement, statementName } from "./statement.js";

/**
 * The claim of a queue with groups, in one statement: fair turns between the groups, each
 * group's `groupConcurrency` and `groupRateLimit` enforced atomically, the queue's own limits
 * as in the plain claim (shared prefix and suffix). Steps (CTEs):
 *
 * 1. `picked`: up to `room` groups whose turn has come, smallest turn first, through the
 *    partial index `groups_open` (idle and capped groups are not in it; groups waiting for a
 *    later time sit past now in its range), locked `for update skip locked`, so concurrent
 *    claimers take different groups and each reads its groups' latest counters. Each gets
 *    `slots`: what its cap and rate window still allow. `lane` is the ungrouped jobs' turn.
 * 2. `fetched`: per picked group, its next jobs in claim order (index `jobs_group_claim`)
 *    through a LATERAL `limit least(slots, ceil(room / groups)) for update skip locked`; the
 *    lane's through `jobs_claim_plain`, up to room. The lane is looked at in every claim
 *    (one index probe), so an ungrouped job is never hidden behind a stale lane turn; its
 *    turn (null when idle, set by ungrouped adds) only orders it among the groups.
 * 3. `ranked` ranks jobs within each group and marks the first `room` by (rank, turn) as
 *    taken (`chosen`): one job per group in rotation order, then a second round, … so a batch
 *    takes turns too, and a batch bigger than the number of groups takes several jobs of a
 *    group up to its slots.
 * 4. `claimed` leases them; `turned` adds each group's starts to its active count and rate
 *    window, caps it when full, and moves its turn: to now (the back) when it has more due
 *    jobs, else to its next delayed job, else to null (idle); to when its rate window frees if
 *    full; unchanged when the batch ran out before its turn. If the group's row changed after
 *    this statement's snapshot was taken (an add committed in between), the snapshot may miss
 *    that group's new jobs, so its turn goes to now instead of idle.
 *
 * 5. Short claims: with fewer jobs started than there was room for, nothing will notify the
 *    caller about work that is already due, so two flags say to claim again rather than wait.
 *    `more_due`: a group had more due jobs than its share of this batch (the quota) and
 *    still had slots: claim again at once. `skipped`: groups whose turn has come (or the
 *    lane), or their head jobs, were locked by someone else (a settle moving a group's active
 *    count, an uncommitted add, a concurrent claim): claim again shortly (see claiming.ts).
 *
 * Cost: O(G log n + room log n) for G ≤ room groups picked, plus one index probe per group
 * for its next turn; independent of the number of groups and of any group's backlog.
 */
export function claimGroupedJobs(s: Schema, p: ClaimParams): Statement {
  const due = `j.state in ('waiting', 'delayed') and j.run_at <= (select now from clock)`;
  const order = "order by j.priority desc, j.run_at, j.seq";
  return {
    name: statementName(s, "claim_grouped"),
    text: `
with ${claimPrefix(s, "false")},
picked as materialized (
  select g.grp, g.turn, g.active, g.starts, g.ctid as rid,
    greatest(0, least(r.n,
      coalesce(st.gc - g.active, r.n),
      coalesce(st.grm - (select count(*)::int from unnest(g.starts) s0 where s0 > c.now - st.grw),
               r.n)))::int as slots
  from ${s.groups} g cross join clock c cross join room r left join settings st on true
  where g.queue = $1 and g.grp <> '' and g.turn is not null and not g.capped
    and g.turn <= (select now_us from clock)
  order by g.turn, g.grp
  limit (select n from room)
  for update of g skip locked
),
lane as materialized (
  select g.turn, g.ctid as rid from ${s.groups} g
  where g.queue = $1 and g.grp = '' and (select n from room) > 0
  for update of g skip locked
),
quota as materialized (
  select ceil((select n from room)::numeric / greatest(1, (select count(*) from picked)))::int
    as q
),
fetched as materialized (
  select p.grp, p.turn, p.rid, p.starts, p.slots, x.queue, x.id, x.jrid, x.priority, x.run_at,
    x.seq
  from picked p cross join lateral (
    select j.queue, j.id, j.ctid as jrid, j.priority, j.run_at, j.seq from ${s.jobs} j
    where j.queue = $1 and j.grp = p.grp and ${due}
    ${order}
    limit least(p.slots, (select q from quota))
    for update of j skip locked
  ) x
  union all
  select '', l.turn, l.rid, null::bigint[], 0, x.queue, x.id, x.jrid, x.priority, x.run_at,
    x.seq
  from lane l cross join lateral (
    select j.queue, j.id, j.ctid as jrid, j.priority, j.run_at, j.seq from ${s.jobs} j
    where j.queue = $1 and j.grp is null and ${due}
    ${order}
    limit (select n from room)
    for update of j skip locked
  ) x
),
ranked as materialized (
  select r.*, r.pos <= (select n from room) as taken from (
    select f.*, row_number() over (order by f.rn, f.turn, f.grp) as pos
    from (select f.*, row_number() over (partition by f.grp
                                         order by f.priority desc, f.run_at, f.seq) as rn
          from fetched f) f
  ) r
),
chosen as materialized (select * from ranked where taken),
${leaseRows(s, "chosen")},
counted as materialized (
  select u.grp, u.rid is distinct from (
      select g2.ctid from ${s.groups} g2 where g2.queue = $1 and g2.grp = u.grp) as stale,
    u.starts, u.slots, u.f, u.k, u.ids
  from (
    (select distinct on (r.grp) r.grp, r.rid, r.starts, r.slots,
       (count(*) over w)::int as f, (count(*) filter (where r.taken) over w)::int as k,
       array_agg(r.id) over w as ids
     from ranked r where r.grp <> ''
     window w as (partition by r.grp)
     order by r.grp)
    union all
    select p.grp, p.rid, p.starts, p.slots, 0, 0, '{}'::text[] from picked p
    where p.grp not in (select f.grp from fetched f)
  ) u
),
group_stats as materialized (
  select u.grp, u.f, u.k, u.stale, u.slots, u.more,
    -- Only a group with nothing more due now needs its next delayed job.
    case when u.more then null else (
      select min(j.run_at) from ${s.jobs} j
      where j.queue = $1 and j.grp = u.grp and j.state = 'delayed'
        and j.run_at > (select now from clock)) end as next_at,
    case when st.grm is null then u.starts else (
      select coalesce(array_agg(z.s order by z.s), '{}') from (
        select w.s from (
          select s0 as s from unnest(u.starts) s0 where s0 > c.now - st.grw
          union all
          select c.now from generate_series(1, u.k)
        ) w order by w.s desc limit st.grm
      ) z) end as starts
  from (
    select u.*, u.f > u.k or exists (
      select 1 from ${s.jobs} j
      where j.queue = $1 and j.grp = u.grp and ${due} and j.id <> all(u.ids)) as more
    from counted u
  ) u cross join clock c left join settings st on true
),
turned as (
  update ${s.groups} g set
    active = g.active + u.k,
    capped = st.gc is not null and g.active + u.k >= st.gc,
    starts = u.starts,
    turn = case
      when u.k = 0 and u.f > 0 then g.turn
      else (
        select case
          when b.base is not null and st.grm is not null and cardinality(u.starts) >= st.grm
            then greatest(b.base, (u.starts[1] + st.grw) * 1000)
          else b.base end
        from (select case when u.stale or u.more then c.now_us
                          else u.next_at * 1000 end as base) b)
      end
  from group_stats u cross join clock c left join settings st on true
  where g.queue = $1 and g.grp = u.grp
  returning g.turn, g.capped
),
lane_turned as (
  update ${s.groups} g set turn = case
    when not exists (select 1 from chosen d where d.grp = '')
         and exists (select 1 from fetched f where f.grp = '') then g.turn
    -- Ungrouped jobs due beyond those this claim took (all of which are due in this
    -- snapshot), counted in claim order so the count reads jobs_claim_plain and stops after
    -- one more: an EXISTS over the same rows was planned as a sequential scan of the table.
    when (select count(*) from (
            select 1 from ${s.jobs} j
            where j.queue = $1 and j.grp is null and ${due}
            ${order}
            limit (select count(*) from chosen f where f.grp = '') + 1) o)
         > (select count(*) from chosen f where f.grp = '')
      then c.now_us end
  from lane l cross join clock c
  where g.queue = $1 and g.grp = ''
  returning 1
),
-- Fewer jobs started than there was room for: the case skipped and more_due look into.
short as materialized (
  select (select count(*) from claimed) < (select n from room) as b
),
${claimSuffix(s)}
select j.*, w.next_due, w.rate_free, (least(
    (select min(t.turn) from turned t where not t.capped and t.turn > (select now_us from clock)),
    (select min(g.turn) from ${s.groups} g
     where g.queue = $1 and g.grp <> '' and g.turn is not null and not g.capped
       and g.turn > (select now_us from clock))) + 999) / 1000 as group_free,
  (select count(*) from turned) + (select count(*) from lane_turned) as turns,
  (select b from short)
    and exists (select 1 from group_stats u where u.f > 0 and u.k < u.slots and u.more)
    as more_due,
  (select b from short) and (
    exists (select 1 from group_stats u where u.f = 0 and u.slots > 0 and u.more)
    or (select count(*) from picked) < (
      select count(*) from (
        select 1 from ${s.groups} g
        where g.queue = $1 and g.grp <> '' and g.turn is not null and not g.capped
          and g.turn <= (select now_us from clock)
        limit (select n from room) + 1) o)
    or (not exists (select 1 from lane) and (select n from room) > 0
        and exists (select 1 from ${s.groups} g where g.queue = $1 and g.grp = ''))
  ) as skipped,
  (select now from clock) as clock_now
from wake w left join (select c.*, d.pos from claimed c join chosen d on d.id = c.id) j on true
order by j.pos`,
    values: [p.queue, p.workerId, p.limit, p.leaseMs],
  };
}
