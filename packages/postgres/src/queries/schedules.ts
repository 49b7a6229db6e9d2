import type { Schema } from "../schema.js";
import { type Statement, statementName } from "./statement.js";

/** Create or replace a schedule by (queue, id). */
export function upsertSchedule(
  s: Schema,
  queue: string,
  id: string,
  spec: string,
  job: string,
  nextRunAt: number | null,
): Statement {
  return {
    name: statementName(s, "upsert_schedule"),
    text: `
insert into ${s.schedules} as sc (queue, id, spec, job, next_run_at)
values ($1, $2, $3::jsonb, $4::jsonb, $5::bigint)
on conflict (queue, id) do update
  set spec = excluded.spec, job = excluded.job, next_run_at = excluded.next_run_at`,
    values: [queue, id, spec, job, nextRunAt],
  };
}

/** Delete a schedule; one row back when it existed. */
export function removeSchedule(s: Schema, queue: string, id: string): Statement {
  return {
    name: statementName(s, "remove_schedule"),
    text: `delete from ${s.schedules} where queue = $1 and id = $2 returning 1`,
    values: [queue, id],
  };
}

/** A queue's schedules, by id. */
export function listSchedules(s: Schema, queue: string): Statement {
  return {
    name: statementName(s, "list_schedules"),
    text: `select queue, id, spec, job, next_run_at from ${s.schedules} where queue = $1 order by id`,
    values: [queue],
  };
}

/**
 * Compare-and-set the next run: the row lock makes exactly one of several schedulers that
 * fired the same run see its `expectedRunAt` and win (the others re-check the new row).
 */
export function advanceSchedule(
  s: Schema,
  queue: string,
  id: string,
  expectedRunAt: number,
  nextRunAt: number | null,
): Statement {
  return {
    name: statementName(s, "advance_schedule"),
    text: `
update ${s.schedules} set next_run_at = $4::bigint
where queue = $1 and id = $2 and next_run_at = $3::bigint
returning 1`,
    values: [queue, id, expectedRunAt, nextRunAt],
  };
}
