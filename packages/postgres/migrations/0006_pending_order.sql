-- 0006_pending_order: the listing order of waiting and delayed jobs, and no other. jobs_state
-- held every job in every state, so each claim and each completion that keeps its job wrote an
-- entry into it, only for listings that have indexes of their own: active jobs list through
-- jobs_active (a worker fleet's slots and buffers bound them, so a page sorts them), terminal
-- jobs through jobs_terminal, and counts read the queue's rows either way.
--
-- Runs in the migration transaction; the index builds under the jobs table's lock, reading the
-- table once: on a large table apply it in a quiet window
-- (`queueflow-postgres-migrate --print --after 5` to review it).
--
-- Without state among its columns, a page of waiting jobs (waiting ones and delayed ones that
-- fell due) reads it in order and stops at the page's end; with it, the two states' runs had
-- to be merged, and the planner sorted the queue's whole backlog for every page.
create index jobs_pending_order on __SCHEMA__.jobs (queue, state_seq)
  where state in ('waiting', 'delayed');
drop index __SCHEMA__.jobs_state;
