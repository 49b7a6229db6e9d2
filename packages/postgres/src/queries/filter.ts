import type { JobFilter, JobState } from "@queueflow/core";

/**
 * The bound values of a statement assembled piece by piece: `add` appends a value and returns
 * its typed placeholder. Only placeholders enter the text, never a value.
 */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/** Each state as a SQL literal. Literal (not bound) so the planner can match partial indexes. */
export const STATE_SQL: Readonly<Record<JobState, string>> = {
  waiting: "'waiting'",
  delayed: "'delayed'",
  active: "'active'",
  completed: "'completed'",
  dead: "'dead'",
  cancelled: "'cancelled'",
};

/**
 * A time bound as whole ms for a bigint comparison (stored times are whole ms): `ceil` for
 * `>=` and `<`, `floor` for `<=`, which keeps each comparison exact for a fractional bound.
 * Clamped to ±2^53 so an absurd but finite bound still binds as bigint.
 */
export function wholeMs(value: number, round: "ceil" | "floor"): string {
  const ms = round === "ceil" ? Math.ceil(value) : Math.floor(value);
  return String(Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, ms)));
}

/** Conditions of a {@link JobFilter} on alias `j`, and a short tag of the fields set. */
export interface FilterSql {
  conditions: string[];
  /** One letter per field set, in a fixed order: part of the statement's name. */
  shape: string;
}

/**
 * The SQL conditions for every field `filter` sets (the caller checked it with core's
 * `pickJobFilter`), matching core's `matchesJobFilter`: error fields read the `error_name` and
 * `error_class` columns (the latest error's; `unknown` for an unclassed one, null while the job
 * has none), time fields never match a null `finished_at`. Fields left out add no condition at
 * all, rather than `$n is null or …`, so a prepared statement's plan can use the indexes that
 * fit the fields actually set.
 */
export function filterSql(filter: JobFilter, p: Params, j = "j"): FilterSql {
  const conditions: string[] = [];
  let shape = "";
  if (filter.name !== undefined) {
    conditions.push(`${j}.name = ${p.add(filter.name, "text")}`);
    shape += "n";
  }
  if (filter.errorName !== undefined) {
    conditions.push(`${j}.error_name = ${p.add(filter.errorName, "text")}`);
    shape += "e";
  }
  if (filter.errorClass !== undefined) {
    conditions.push(`${j}.error_class = ${p.add(filter.errorClass, "text")}`);
    shape += "c";
  }
  if (filter.finishedAfter !== undefined) {
    conditions.push(
      `${j}.finished_at >= ${p.add(wholeMs(filter.finishedAfter, "ceil"), "bigint")}`,
    );
    shape += "a";
  }
  if (filter.finishedBefore !== undefined) {
    conditions.push(
      `${j}.finished_at < ${p.add(wholeMs(filter.finishedBefore, "ceil"), "bigint")}`,
    );
    shape += "b";
  }
  if (filter.minAttempts !== undefined) {
    conditions.push(`${j}.attempts >= ${p.add(String(filter.minAttempts), "bigint")}`);
    shape += "m";
  }
  if (filter.maxAttempts !== undefined) {
    conditions.push(`${j}.attempts <= ${p.add(String(filter.maxAttempts), "bigint")}`);
    shape += "x";
  }
  return { conditions, shape };
}
