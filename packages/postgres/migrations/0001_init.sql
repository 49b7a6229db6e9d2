-- 0001_init: jobs, queue settings, schedules. Released: never edit; add 0002_*.sql instead.
-- The schema placeholder is replaced by the quoted schema name. Times are bigint ms since the
-- epoch on the server's clock (clock_timestamp()), so every host compares on one clock.

create sequence __SCHEMA__.job_seq;
create sequence __SCHEMA__.state_seq;

create table __SCHEMA__.jobs (
  queue text not null,
  id text not null,
  -- Insertion order: the last tie-breaker of claim order.
  seq bigint not null default nextval('__SCHEMA__.job_seq'),
  -- Order of entry into the current state: listing order and the listing cursor.
  state_seq bigint not null default nextval('__SCHEMA__.state_seq'),
  name text not null,
  payload jsonb,
  state text not null
    check (state in ('waiting', 'delayed', 'active', 'completed', 'dead', 'cancelled')),
  priority smallint not null check (priority between 0 and 20),
  attempts integer not null default 0,
  max_attempts integer not null,
  backoff jsonb,
  timeout_ms bigint,
  dedup_key text,
  metadata jsonb not null default '{}',
  created_at bigint not null,
  run_at bigint not null,
  started_at bigint,
  finished_at bigint,
  lease_token uuid,
  lease_expires_at bigint,
  worker_id text,
  progress jsonb,
  result jsonb,
  -- Every failed attempt's AttemptError, appended by settle and recovery.
  errors jsonb not null default '[]',
  stalls integer not null default 0,
  -- Ids are unique per queue in any state.
  primary key (queue, id)
) with (fillfactor = 80);

-- Claim order over the rows a claim may take. Completed, dead and cancelled rows are not in
-- it, so claim cost does not grow with history; `run_at <= now` is checked in the index.
create index jobs_claim on __SCHEMA__.jobs (queue, priority desc, run_at, seq)
  where state in ('waiting', 'delayed');

-- The next delayed job to fall due (a claim's nextWakeAt) without scanning the backlog.
create index jobs_delayed on __SCHEMA__.jobs (queue, run_at) where state = 'delayed';

-- Expired leases (recovery) and the active count (concurrency cap).
create index jobs_active on __SCHEMA__.jobs (queue, lease_expires_at) where state = 'active';

-- listJobs pages and counts.
create index jobs_state on __SCHEMA__.jobs (queue, state, state_seq);

-- clean: terminal jobs by finish time, so retention deletes O(removed) rows.
create index jobs_finished on __SCHEMA__.jobs (queue, state, finished_at)
  where state in ('completed', 'dead', 'cancelled');

-- Deduplication: one live job per (queue, dedup_key); a terminal holder frees the key.
create unique index jobs_dedup on __SCHEMA__.jobs (queue, dedup_key)
  where dedup_key is not null and state in ('waiting', 'delayed', 'active');

-- Queue settings. A row exists once a queue's settings were changed; no row means defaults.
create table __SCHEMA__.queues (
  queue text primary key,
  paused boolean not null default false,
  concurrency integer check (concurrency >= 0),
  rate_max integer check (rate_max >= 0),
  rate_window_ms bigint check (rate_window_ms > 0),
  -- Start times (ms) of the newest claims inside the rate window, oldest first, at most
  -- rate_max of them: the sliding window, updated under this row's lock by claim.
  rate_starts bigint[] not null default '{}',
  check ((rate_max is null) = (rate_window_ms is null))
);

-- Counts a queue's active jobs. Volatile on purpose: it reads with a fresh snapshot, so a
-- claim that waited for the queue row's lock sees the jobs the previous holder claimed.
create function __SCHEMA__.active_count(p_queue text) returns bigint
  language sql volatile
  as $$ select count(*) from __SCHEMA__.jobs where queue = p_queue and state = 'active' $$;

create table __SCHEMA__.schedules (
  queue text not null,
  id text not null,
  spec jsonb not null,
  job jsonb not null,
  next_run_at bigint,
  primary key (queue, id)
);
