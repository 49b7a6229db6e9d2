-- 0003_groups: job groups (fair turns, per-group concurrency and rate limits) and the throttle
-- and debounce dedup modes. See the README, "Groups".
--
-- Runs in the migration transaction. The index rebuilds below (jobs_claim, jobs_dedup) hold the
-- jobs table's lock while they build: on a large table apply it in a quiet window
-- (`queueflow-postgres-migrate --print --after 2` to review it).

-- The job's group (null: ungrouped); dedup_mode null for the default `live`, else 'throttle' or
-- 'debounce'; throttle_until: end of the throttle window a throttled add opened.
alter table __SCHEMA__.jobs
  add column grp text,
  add column dedup_mode text check (dedup_mode in ('throttle', 'debounce')),
  add column throttle_until bigint;

-- Per-group limits (null: none).
alter table __SCHEMA__.queues
  add column group_concurrency integer check (group_concurrency >= 0),
  add column group_rate_max integer check (group_rate_max >= 0),
  add column group_rate_window_ms bigint check (group_rate_window_ms > 0),
  add check ((group_rate_max is null) = (group_rate_window_ms is null));

-- One row per group that ever had a job, plus the queue's lane (grp = ''): the ungrouped jobs
-- of a grouped queue, which take turns as one more group. The lane exists once a queue had a
-- grouped job; a queue without one claims through the plain path and never reads this table.
--
-- turn: the group's place in the rotation, in µs on the server clock. A group may take a turn
-- when turn <= now; claims take the smallest first, and a group that just had its turn moves
-- to now (the back). A group whose next job is due later (or whose rate window is full) waits
-- with turn = that time; null = idle (no waiting or delayed job). capped: at groupConcurrency,
-- out of the rotation until one of its jobs leaves active. active: its jobs in state active,
-- moved by the statements that move jobs in and out of active. starts: start times (ms) of its
-- newest claims inside the group rate window, at most group_rate_max of them.
create table __SCHEMA__.groups (
  queue text not null,
  grp text not null,
  turn bigint,
  capped boolean not null default false,
  active integer not null default 0,
  starts bigint[] not null default '{}',
  primary key (queue, grp)
);

-- The groups that may take a turn, in rotation order: idle and capped groups are not in it,
-- and groups waiting for a later time sit past `now` in the range, so a claim never scans them.
create index groups_open on __SCHEMA__.groups (queue, turn, grp)
  where turn is not null and not capped and grp <> '';

-- Claim order of ungrouped jobs (the plain claim and a grouped queue's lane): replaces
-- jobs_claim with the same columns over ungrouped rows only, so a lane never scans grouped jobs.
-- In a queue without groups every row qualifies: its claims read the same index as before.
create index jobs_claim_plain on __SCHEMA__.jobs (queue, priority desc, run_at, seq)
  where state in ('waiting', 'delayed') and grp is null;
drop index __SCHEMA__.jobs_claim;

-- A group's claim order, and its next delayed job (where a group's turn goes when nothing of
-- it is due now). Partial on grp, so ungrouped queues never write them.
create index jobs_group_claim on __SCHEMA__.jobs (queue, grp, priority desc, run_at, seq)
  where state in ('waiting', 'delayed') and grp is not null;
create index jobs_group_delayed on __SCHEMA__.jobs (queue, grp, run_at)
  where state = 'delayed' and grp is not null;

-- Deduplication: one holder per key among waiting, delayed and active jobs, except that an
-- active debounce job does not hold its key (a new add then creates the next waiting job, so
-- an active debounce job and one waiting one may share a key).
create unique index jobs_dedup_holder on __SCHEMA__.jobs (queue, dedup_key)
  where dedup_key is not null
    and (state in ('waiting', 'delayed')
         or (state = 'active' and dedup_mode is distinct from 'debounce'));
drop index __SCHEMA__.jobs_dedup;

-- Throttle windows by key: the newest window of a key is one probe.
create index jobs_throttle on __SCHEMA__.jobs (queue, dedup_key, throttle_until)
  where throttle_until is not null;

-- Repair after rows of jobs were changed by hand (or with triggers disabled): recount every
-- group's active jobs and put every group with a waiting or delayed job back in the rotation.
-- The statements of the adapter keep both exact by themselves. O(groups + pending jobs); it
-- locks the groups table against claims while it runs.
create function __SCHEMA__.rebuild_groups() returns void language plpgsql as $$
begin
  lock table __SCHEMA__.groups in share row exclusive mode;
  update __SCHEMA__.groups g set
    active = (select count(*) from __SCHEMA__.jobs j
              where j.queue = g.queue and j.grp = g.grp and j.state = 'active'),
    capped = false,
    turn = case
      when g.grp = '' then g.turn
      when exists (select 1 from __SCHEMA__.jobs j
                   where j.queue = g.queue and j.grp = g.grp
                     and j.state in ('waiting', 'delayed'))
        then coalesce(g.turn, floor(extract(epoch from clock_timestamp()) * 1000000)::bigint)
      else null end
  where g.grp <> '';
end $$;
