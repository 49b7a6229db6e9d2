-- 0002_dead_letters: the latest error's name and class as columns, dead-letter indexes, and
-- counters that keep deadLetterStats independent of the number of dead jobs.
--
-- Runs in the migration transaction; `alter table` holds jobs' ACCESS EXCLUSIVE lock until
-- commit, so no job changes between the backfill and the triggers taking over. The backfill
-- rewrites every row that has an error and the indexes are built in place: on a large table,
-- apply it in a quiet window (`queueflow-postgres-migrate --print --after 1` to review it).

-- The latest AttemptError's name and class (`unknown` for an error without one; both null
-- while the job has no error). Written by the statements that append to `errors` (settle
-- retry/dead, stall recovery), so they always describe `errors -> -1`.
alter table __SCHEMA__.jobs add column error_name text, add column error_class text;

-- Dead jobs per (job name, latest error name, latest error class): total, byName, byError
-- and byErrorClass are sums over a queue's rows here, O(distinct keys). A job without an
-- error (none reach dead through the adapter) counts under error name ''.
create table __SCHEMA__.dead_letter_counts (
  queue text not null,
  name text not null,
  error_name text not null,
  error_class text not null,
  count bigint not null,
  primary key (queue, name, error_name, error_class)
);

-- Dead jobs per hour of their finish time (finished_at / 3600000): byAge, O(hours with dead
-- jobs), bounded by how long dead jobs are kept.
create table __SCHEMA__.dead_letter_hours (
  queue text not null,
  finished_hour bigint not null,
  count bigint not null,
  primary key (queue, finished_hour)
);

-- Fill error_name/error_class where a job has errors but no class recorded (rows written
-- before this migration, or by a process of the previous version during a rolling upgrade),
-- then recount every queue's dead jobs from the jobs table. The backfill below, and a repair
-- to run after such an upgrade or after rows were changed with triggers disabled:
-- `select <schema>.rebuild_dead_letter_counts();` (it blocks writes to jobs while it runs).
create function __SCHEMA__.rebuild_dead_letter_counts() returns void language plpgsql as $$
begin
  lock table __SCHEMA__.jobs in share row exclusive mode;
  update __SCHEMA__.jobs
  set error_name = errors -> -1 ->> 'name',
      error_class = coalesce(errors -> -1 ->> 'errorClass', 'unknown')
  where error_class is null and jsonb_array_length(errors) > 0;
  delete from __SCHEMA__.dead_letter_counts;
  delete from __SCHEMA__.dead_letter_hours;
  insert into __SCHEMA__.dead_letter_counts (queue, name, error_name, error_class, count)
  select queue, name, coalesce(error_name, ''), coalesce(error_class, 'unknown'), count(*)
  from __SCHEMA__.jobs where state = 'dead'
  group by 1, 2, 3, 4;
  insert into __SCHEMA__.dead_letter_hours (queue, finished_hour, count)
  select queue, floor(coalesce(finished_at, 0) / 3600000.0)::bigint, count(*)
  from __SCHEMA__.jobs where state = 'dead'
  group by 1, 2;
end $$;

-- Backfill before the indexes and triggers exist: one pass, no per-row index or trigger work.
select __SCHEMA__.rebuild_dead_letter_counts();

-- Terminal jobs in listing order (finish time, then entry into the state): listJobs pages of
-- completed/dead/cancelled, clean's oldest-first deletes, and deadLetterStats' oldest and
-- newest, each a range scan. Replaces jobs_finished (which lacked the tie-breaker).
create index jobs_terminal on __SCHEMA__.jobs (queue, state, finished_at, state_seq)
  where state in ('completed', 'dead', 'cancelled');
drop index __SCHEMA__.jobs_finished;

-- Dead letters by the latest error's class and by its name, in the same order: a filter on
-- either (with or without a finish window) reads only the matching dead rows, and a purge by
-- class deletes O(limit) rows per call. Partial on `dead`: completed jobs, the bulk of the
-- table, are not in them, so they cost nothing on the hot path (claim/complete never write a
-- dead row). Every other filter field is checked on the rows these or jobs_terminal return.
create index jobs_dead_class on __SCHEMA__.jobs (queue, error_class, finished_at, state_seq)
  where state = 'dead';
create index jobs_dead_error on __SCHEMA__.jobs (queue, error_name, finished_at, state_seq)
  where state = 'dead';

-- The counters follow every change to the set of dead jobs, in the transaction that makes it,
-- through triggers on jobs (so a delete or update by hand is counted too).
--
-- Updates and deletes: a statement-level trigger adds up, per key, the rows of the statement
-- that left dead (transition table old_rows) and entered it (new_rows), and applies one delta
-- per key: a statement that moves 10,000 dead jobs writes each counter row once, where a row
-- trigger would update one hot counter row 10,000 times in one transaction, each update
-- walking that row's growing version chain. Keys are applied in sorted order, counts then
-- hours, so statements racing on the same counters lock them in one order and cannot
-- deadlock, and each locks counters only after all its job rows. A counter that reaches 0 is
-- deleted, so the tables only hold keys with dead jobs.
create function __SCHEMA__.dead_letter_apply() returns trigger language plpgsql as $$
begin
  -- The common case (claims, completions, retries, retention of completed jobs): no row of
  -- the statement entered or left dead. Two scans of in-memory tuplestores.
  if TG_OP = 'UPDATE' then
    if not exists (select from old_rows where state = 'dead'
                   union all select from new_rows where state = 'dead') then
      return null;
    end if;
  elsif not exists (select from old_rows where state = 'dead') then
    return null;
  end if;

  if TG_OP = 'UPDATE' then
    insert into __SCHEMA__.dead_letter_counts as c (queue, name, error_name, error_class, count)
    select queue, name, coalesce(error_name, ''), coalesce(error_class, 'unknown'), sum(delta)
    from (select queue, name, error_name, error_class, 1 as delta from new_rows
          where state = 'dead'
          union all
          select queue, name, error_name, error_class, -1 from old_rows where state = 'dead') d
    group by 1, 2, 3, 4 having sum(delta) <> 0
    order by 1, 2, 3, 4
    on conflict (queue, name, error_name, error_class)
      do update set count = c.count + excluded.count;
    insert into __SCHEMA__.dead_letter_hours as h (queue, finished_hour, count)
    select queue, floor(coalesce(finished_at, 0) / 3600000.0)::bigint, sum(delta)
    from (select queue, finished_at, 1 as delta from new_rows where state = 'dead'
          union all
          select queue, finished_at, -1 from old_rows where state = 'dead') d
    group by 1, 2 having sum(delta) <> 0
    order by 1, 2
    on conflict (queue, finished_hour) do update set count = h.count + excluded.count;
  else
    insert into __SCHEMA__.dead_letter_counts as c (queue, name, error_name, error_class, count)
    select queue, name, coalesce(error_name, ''), coalesce(error_class, 'unknown'), -count(*)
    from old_rows where state = 'dead'
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (queue, name, error_name, error_class)
      do update set count = c.count + excluded.count;
    insert into __SCHEMA__.dead_letter_hours as h (queue, finished_hour, count)
    select queue, floor(coalesce(finished_at, 0) / 3600000.0)::bigint, -count(*)
    from old_rows where state = 'dead'
    group by 1, 2
    order by 1, 2
    on conflict (queue, finished_hour) do update set count = h.count + excluded.count;
  end if;

  -- Only a key that lost a job can reach 0; this statement holds its lock already.
  delete from __SCHEMA__.dead_letter_counts c
  using (select distinct queue, name, coalesce(error_name, '') as error_name,
                coalesce(error_class, 'unknown') as error_class
         from old_rows where state = 'dead') k
  where c.queue = k.queue and c.name = k.name and c.error_name = k.error_name
    and c.error_class = k.error_class and c.count <= 0;
  delete from __SCHEMA__.dead_letter_hours h
  using (select distinct queue, floor(coalesce(finished_at, 0) / 3600000.0)::bigint as hour
         from old_rows where state = 'dead') k
  where h.queue = k.queue and h.finished_hour = k.hour and h.count <= 0;
  return null;
end $$;

create trigger jobs_dead_update after update on __SCHEMA__.jobs
  referencing old table as old_rows new table as new_rows
  for each statement execute function __SCHEMA__.dead_letter_apply();

create trigger jobs_dead_delete after delete on __SCHEMA__.jobs
  referencing old table as old_rows
  for each statement execute function __SCHEMA__.dead_letter_apply();

-- Inserts: enqueue never inserts a dead job, so a row trigger whose WHEN clause (evaluated in
-- C for each row) is false for every enqueued job costs the hot path nothing, where a
-- statement trigger would copy every enqueued row into a transition table. It counts the
-- rare dead row inserted by hand, one at a time.
create function __SCHEMA__.dead_letter_insert() returns trigger language plpgsql as $$
begin
  insert into __SCHEMA__.dead_letter_counts as c (queue, name, error_name, error_class, count)
  values (NEW.queue, NEW.name, coalesce(NEW.error_name, ''), coalesce(NEW.error_class, 'unknown'),
          1)
  on conflict (queue, name, error_name, error_class) do update set count = c.count + 1;
  insert into __SCHEMA__.dead_letter_hours as h (queue, finished_hour, count)
  values (NEW.queue, floor(coalesce(NEW.finished_at, 0) / 3600000.0)::bigint, 1)
  on conflict (queue, finished_hour) do update set count = h.count + 1;
  return null;
end $$;

create trigger jobs_dead_insert after insert on __SCHEMA__.jobs
  for each row when (NEW.state = 'dead')
  execute function __SCHEMA__.dead_letter_insert();

-- truncate fires no row or delete triggers: empty the counters with it.
create function __SCHEMA__.dead_letter_truncate() returns trigger language plpgsql as $$
begin
  delete from __SCHEMA__.dead_letter_counts;
  delete from __SCHEMA__.dead_letter_hours;
  return null;
end $$;

create trigger jobs_dead_truncate after truncate on __SCHEMA__.jobs
  for each statement execute function __SCHEMA__.dead_letter_truncate();
