-- 0004_debounce_active: the running debounce jobs of a dedup key, which jobs_dedup_holder
-- exempts. A live or throttled add whose key has no waiting or delayed holder returns the
-- key's running debounce job (the contract's holder) instead of creating a job; this is its
-- probe. Partial, so only active debounce jobs (a handful per key at most) are in it.
create index jobs_debounce_active on __SCHEMA__.jobs (queue, dedup_key)
  where state = 'active' and dedup_mode = 'debounce';
