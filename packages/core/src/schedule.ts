import { Cron } from "croner";
import type { ScheduleRecord, ScheduleSpec } from "./contract.js";
import { QueueFlowError } from "./errors.js";
import { buildNewJob, type JobOptions } from "./job-options.js";
import type { JobMap, JobName } from "./types.js";

/** When a schedule fires: a cron expression (5 or 6 fields), an interval, or one time. */
export type ScheduleWhen =
  | { cron: string; timezone?: string }
  | { everyMs: number }
  | { at: Date | number };

/** The job a schedule adds at each firing. */
export interface ScheduleJob<M extends JobMap, N extends JobName<M>> {
  name: N;
  payload: M[N]["payload"];
  options?: Omit<JobOptions, "jobId" | "dedupKey" | "delayMs" | "runAt">;
}

const SCHEDULE_ID = /^[A-Za-z0-9_.-]{1,100}$/;

function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

/**
 * Croner accepts any time zone string when a schedule is built and throws a RangeError only
 * when it computes a run, which would surface as a crash in whoever asked for the next run.
 * Intl is the zone database croner itself resolves against, so asking it here refuses exactly
 * the zones croner would fail on.
 */
function checkTimezone(timezone: unknown): string {
  if (typeof timezone !== "string" || timezone === "") {
    throw invalid(`timezone must be an IANA time zone name such as "Europe/Paris".`);
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw invalid(
      `Unknown time zone ${JSON.stringify(timezone.slice(0, 100))}: use an IANA time zone name such as "Europe/Paris" or "UTC".`,
    );
  }
  return timezone;
}

/**
 * A cron expression as schedules read it. Stored schedules are parsed again at every firing,
 * by every scheduler, so what one core accepted must stay valid for the others: 5 or 6 fields
 * only (croner 10 added a year field, which a core on croner 9 could not parse during a rolling
 * upgrade), and steps with a numeric start such as `0/15` (croner 10 refuses them by default;
 * croner 9 took them, and refusing one would stop a schedule it stored).
 */
function cron(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, paused: true, mode: "5-or-6-parts", sloppyRanges: true });
}

function toSpec(when: ScheduleWhen): ScheduleSpec {
  if ("cron" in when) {
    const timezone = checkTimezone(when.timezone ?? "UTC");
    try {
      cron(when.cron, timezone);
    } catch (err) {
      throw invalid(
        `Invalid cron "${when.cron}" (time zone ${timezone}): ${(err as Error).message}`,
      );
    }
    return { kind: "cron", expression: when.cron, timezone };
  }
  if ("everyMs" in when) {
    if (!Number.isSafeInteger(when.everyMs) || when.everyMs < 1000) {
      throw invalid(`everyMs must be an integer of at least 1000, got ${String(when.everyMs)}.`);
    }
    return { kind: "every", intervalMs: when.everyMs };
  }
  const at = when.at instanceof Date ? when.at.getTime() : when.at;
  if (!Number.isFinite(at)) throw invalid("at must be a valid Date or epoch ms.");
  return { kind: "once", at };
}

/**
 * The first run strictly after `after`, or null when the schedule has no more runs. Missed
 * runs are not replayed one by one: a scheduler that was down fires once, then resumes the
 * cadence, so an outage never turns into a burst.
 */
export function nextRunAfter(spec: ScheduleSpec, after: number): number | null {
  switch (spec.kind) {
    case "cron": {
      const next = cron(spec.expression, spec.timezone).nextRun(new Date(after));
      return next ? next.getTime() : null;
    }
    case "every":
      return after + spec.intervalMs;
    case "once":
      return spec.at > after ? spec.at : null;
  }
}

/** The next run after a firing at `firedRunAt`, skipping runs already in the past at `now`. */
export function followingRun(spec: ScheduleSpec, firedRunAt: number, now: number): number | null {
  if (spec.kind === "once") return null;
  if (spec.kind === "every") {
    const behind = Math.max(0, Math.floor((now - firedRunAt) / spec.intervalMs));
    return firedRunAt + (behind + 1) * spec.intervalMs;
  }
  return nextRunAfter(spec, Math.max(firedRunAt, now));
}

/** The job id of one firing: the same for every scheduler, so the store adds it once. */
export function firingJobId(scheduleId: string, runAt: number): string {
  return `sched:${scheduleId}:${runAt}`;
}

/**
 * Validate a schedule and build its record. An unchanged re-declaration keeps the stored
 * next run, so restarting every service that declares it neither skips nor repeats a run.
 */
export function buildSchedule<M extends JobMap, N extends JobName<M>>(
  queue: string,
  id: string,
  when: ScheduleWhen,
  job: ScheduleJob<M, N>,
  now: number,
  existing: ScheduleRecord | undefined,
  maxPayloadBytes: number,
): ScheduleRecord {
  if (typeof id !== "string" || !SCHEDULE_ID.test(id)) {
    throw invalid(
      `Invalid schedule id ${JSON.stringify(id)}: use 1–100 letters, digits, "_", "." or "-".`,
    );
  }
  const spec = toSpec(when);
  const built = buildNewJob(queue, job.name, job.payload, job.options ?? {}, maxPayloadBytes);
  const template: ScheduleRecord["job"] = {
    name: built.name,
    payload: built.payload,
    priority: built.priority,
    maxAttempts: built.maxAttempts,
    backoff: built.backoff,
    timeoutMs: built.timeoutMs,
    metadata: built.metadata,
  };
  const unchanged = existing && JSON.stringify(existing.spec) === JSON.stringify(spec);
  const nextRunAt = unchanged
    ? existing.nextRunAt
    : spec.kind === "once"
      ? spec.at
      : nextRunAfter(spec, now);
  return { queue, id, spec, job: template, nextRunAt };
}
