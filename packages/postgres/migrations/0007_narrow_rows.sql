-- 0007_narrow_rows: a waiting job's row holds what is its own and no more. Applies to rows
-- written from now on; rows already stored keep their size until they are rewritten.
--
-- - fillfactor 100 (was 80): the free fifth of each page was kept for HOT updates, and no
--   transition of a job can be one: each changes `state` or `lease_expires_at`, which indexes
--   read (columns of an index predicate count). Only progress updates were HOT.
-- - metadata and errors null when empty (the adapter reads null as {} and []): '{}' and '[]'
--   cost 5 bytes each in every row, against nothing for a null.
-- Jobs that set no backoff store null (core applies its default at retry time), which saved
-- the 65 bytes of the default's jsonb in every row without a schema change.
--
-- Metadata-only: no rewrite, no scan; safe on a large table.
alter table __SCHEMA__.jobs set (fillfactor = 100);
alter table __SCHEMA__.jobs
  alter column metadata drop not null,
  alter column metadata drop default,
  alter column errors drop not null,
  alter column errors drop default;
