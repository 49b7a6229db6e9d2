import type { Schema } from "../schema.js";

/**
 * One SQL statement with its bound values. `name` makes node-postgres prepare it once per
 * connection (a named prepared statement); the text never contains a value.
 */
export interface Statement {
  name: string;
  text: string;
  values: unknown[];
}

/** The server clock in ms since the epoch. clock_timestamp(), not now(): a statement in a
 * caller's long transaction must not stamp jobs with the transaction's start time. */
export const NOW_MS = "floor(extract(epoch from clock_timestamp()) * 1000)::bigint";

/** A `clock` CTE with `now` (ms) and `now_us` (µs, the unit of group turns) from one reading. */
export const CLOCK_CTE = `clock as materialized (
  select floor(extract(epoch from ck.t) * 1000)::bigint as now,
    floor(extract(epoch from ck.t) * 1000000)::bigint as now_us
  from (select clock_timestamp() as t) ck
)`;

/** Statement name unique per schema, so two adapters on one connection never clash. */
export function statementName(s: Schema, op: string): string {
  return `qf_${op}_${s.name}`;
}

/**
 * The contract's job columns of alias `j`, with `now` (a bigint expression) deciding the
 * state reported for a delayed job that fell due: waiting, as the contract counts it.
 */
export function jobColumns(j: string, now: string): string {
  return `${j}.id, ${j}.queue, ${j}.name, ${j}.payload,
    case when ${j}.state = 'delayed' and ${j}.run_at <= ${now} then 'waiting' else ${j}.state end
      as state,
    ${j}.priority, ${j}.attempts, ${j}.max_attempts, ${j}.backoff, ${j}.timeout_ms,
    ${j}.dedup_key, ${j}.metadata, ${j}.created_at, ${j}.run_at, ${j}.started_at,
    ${j}.finished_at, ${j}.lease_token::text as lease_token, ${j}.lease_expires_at,
    ${j}.worker_id, ${j}.progress, ${j}.result, ${j}.errors, ${j}.stalls, ${j}.grp`;
}

/** The job columns of alias `j` as stored (for RETURNING, where the stored state is current). */
export function rawJobColumns(j: string): string {
  return `${j}.id, ${j}.queue, ${j}.name, ${j}.payload, ${j}.state,
    ${j}.priority, ${j}.attempts, ${j}.max_attempts, ${j}.backoff, ${j}.timeout_ms,
    ${j}.dedup_key, ${j}.metadata, ${j}.created_at, ${j}.run_at, ${j}.started_at,
    ${j}.finished_at, ${j}.lease_token::text as lease_token, ${j}.lease_expires_at,
    ${j}.worker_id, ${j}.progress, ${j}.result, ${j}.errors, ${j}.stalls, ${j}.grp`;
}

/**
 * States whose jobs may hold a dedup key (replay skips a job whose key one of them holds; the
 * `jobs_dedup_holder` index exempts an active debounce job, so this check is the stricter one).
 */
export const LIVE_STATES = "('waiting', 'delayed', 'active')";
