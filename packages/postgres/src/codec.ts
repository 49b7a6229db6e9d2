import type {
  AttemptError,
  BackoffOptions,
  ClaimedJob,
  JobRecord,
  JobState,
  Json,
  NewJob,
  QueueSettings,
  ScheduleRecord,
} from "@queueflow/core";

/**
 * A jobs row as the statements select it (see `JOB_COLUMNS`). node-postgres hands int8 back
 * as strings (it cannot know they fit a double); jsonb arrives parsed.
 */
export interface JobRow {
  id: string;
  queue: string;
  name: string;
  payload: Json;
  state: JobState;
  priority: number;
  attempts: number;
  max_attempts: number;
  backoff: BackoffOptions | null;
  timeout_ms: string | null;
  dedup_key: string | null;
  /** null when empty (0007_narrow_rows). */
  metadata: { [key: string]: Json } | null;
  created_at: string;
  run_at: string;
  started_at: string | null;
  finished_at: string | null;
  lease_token: string | null;
  lease_expires_at: string | null;
  worker_id: string | null;
  progress: Json;
  result: Json;
  /** null when empty (0007_narrow_rows). */
  errors: AttemptError[] | null;
  stalls: number;
  grp: string | null;
}

/** An int8 column as a number: ms timestamps stay far below 2^53. */
export function num(value: string | number): number {
  return typeof value === "number" ? value : Number(value);
}

/** A nullable int8 column as a number or null. */
export function numOrNull(value: string | number | null): number | null {
  return value === null ? null : num(value);
}

/** A stored row as the contract's record. Rows are fresh objects, so nothing is aliased. */
export function toJobRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    queue: row.queue,
    name: row.name,
    // SQL NULL and JSON null both mean null.
    payload: row.payload ?? null,
    state: row.state,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    backoff: row.backoff ?? null,
    timeoutMs: numOrNull(row.timeout_ms),
    dedupKey: row.dedup_key,
    metadata: row.metadata ?? {},
    createdAt: num(row.created_at),
    runAt: num(row.run_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    leaseToken: row.lease_token,
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    workerId: row.worker_id,
    progress: row.progress ?? null,
    result: row.result ?? null,
    errors: row.errors ?? [],
    stalls: row.stalls,
    ...(row.grp === null || row.grp === undefined ? {} : { group: row.grp }),
  };
}

/** A row just claimed: its lease fields are set. */
export function toClaimedJob(row: JobRow): ClaimedJob {
  return toJobRecord(row) as ClaimedJob;
}

/** One job of an enqueue batch as it travels in the statement's jsonb parameter. */
export interface NewJobParam {
  ord: number;
  id: string;
  queue: string;
  name: string;
  payload: Json;
  priority: number;
  max_attempts: number;
  backoff: BackoffOptions | null;
  timeout_ms: number | null;
  dedup_key: string | null;
  metadata: { [key: string]: Json };
  delay_ms: number;
  run_at: number | null;
  grp: string | null;
  /** null for the default `live`. */
  dedup_mode: "throttle" | "debounce" | null;
  dedup_ttl_ms: number | null;
}

/** The enqueue batch as one JSON document (one bound parameter, one round trip). */
export function encodeNewJobs(jobs: readonly NewJob[]): string {
  const params: NewJobParam[] = jobs.map((job, ord) => ({
    ord,
    id: job.id,
    queue: job.queue,
    name: job.name,
    payload: job.payload,
    priority: job.priority,
    max_attempts: job.maxAttempts,
    backoff: job.backoff,
    timeout_ms: job.timeoutMs,
    dedup_key: job.dedupKey,
    metadata: job.metadata,
    // The store rounds to whole ms; jsonb_to_recordset would reject a fraction for bigint.
    delay_ms: Math.max(0, Math.ceil(job.delayMs)),
    run_at: job.runAt === null ? null : Math.round(job.runAt),
    grp: job.group ?? null,
    dedup_mode:
      job.dedupKey === null || job.dedupMode === undefined || job.dedupMode === "live"
        ? null
        : job.dedupMode,
    dedup_ttl_ms: job.dedupMode === "throttle" ? Math.ceil(job.dedupTtlMs ?? 0) : null,
  }));
  return JSON.stringify(params);
}

/** A JSON value as a `jsonb` parameter: pg would send a top-level string unquoted. */
export function jsonParam(value: Json): string {
  return JSON.stringify(value);
}

/** A schedules row. */
export interface ScheduleRow {
  queue: string;
  id: string;
  spec: ScheduleRecord["spec"];
  job: ScheduleRecord["job"];
  next_run_at: string | null;
}

export function toScheduleRecord(row: ScheduleRow): ScheduleRecord {
  return {
    queue: row.queue,
    id: row.id,
    spec: row.spec,
    job: row.job,
    nextRunAt: numOrNull(row.next_run_at),
  };
}

/** A queues row as the settings statements return it. */
export interface SettingsRow {
  paused: boolean;
  concurrency: number | null;
  rate_max: number | null;
  rate_window_ms: string | null;
  group_concurrency: number | null;
  group_rate_max: number | null;
  group_rate_window_ms: string | null;
}

export function toQueueSettings(row: SettingsRow): QueueSettings {
  const settings: QueueSettings = {
    paused: row.paused,
    concurrency: row.concurrency,
    rateLimit:
      row.rate_max === null || row.rate_window_ms === null
        ? null
        : { max: row.rate_max, windowMs: num(row.rate_window_ms) },
  };
  // Group fields appear only when set: the contract reads absent as null.
  if (row.group_concurrency !== null) settings.groupConcurrency = row.group_concurrency;
  if (row.group_rate_max !== null && row.group_rate_window_ms !== null) {
    settings.groupRateLimit = { max: row.group_rate_max, windowMs: num(row.group_rate_window_ms) };
  }
  return settings;
}

/** Split `pending` so no two debounced adds of one key run in the same round. */
export function splitDebounced(
  jobs: readonly NewJob[],
  pending: number[],
): { now: number[]; later: number[] } {
  const seen = new Set<string>();
  const now: number[] = [];
  const later: number[] = [];
  for (const i of pending) {
    const job = jobs[i]!;
    if (job.dedupMode !== "debounce" || job.dedupKey === null) now.push(i);
    else {
      const key = `${job.queue}\u0000${job.dedupKey}`;
      if (seen.has(key)) later.push(i);
      else {
        seen.add(key);
        now.push(i);
      }
    }
  }
  return { now, later };
}
