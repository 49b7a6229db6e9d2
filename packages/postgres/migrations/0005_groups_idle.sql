-- 0005_groups_idle: idle groups, so their rows can be pruned. A group gets a row with its first
-- job and, before this, kept it forever: a queue grouped by user or document id grew one row
-- per id ever seen. Idle rows (no waiting, delayed or active job, no start left in the group
-- rate window) are deleted in bounded batches by stall recovery (pruneIdleGroups); the next
-- job of the group creates its row again. The predicate leaves `active` out on purpose: it
-- changes with every settle, and an index over it would make those updates non-HOT.
create index groups_idle on __SCHEMA__.groups (queue, grp)
  where turn is null and grp <> '';
