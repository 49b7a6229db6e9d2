import type { AttemptError, JobRecord, JobState, Json, NewJob } from "./job.js";

/**
 * What an adapter can do beyond the required operations. The core checks these flags and
 * falls back (polling) where one is false; the conformance suite runs the matching tests.
 */
export interface AdapterCapabilities {
  /** `waitForWork` resolves promptly when a queue may have new work. */
  wakeUp: boolean;
  /** Operations accept the caller's transaction handle (see {@link EnqueueOptions.tx}). */
  transactions: boolean;
  /**
   * Job groups and their limits (`NewJob.group`, `groupConcurrency`, `groupRateLimit`, fair
   * rotation across groups in `claim`) and the `throttle` and `debounce` dedup modes.
   * Optional while adapters adopt it: absent means false, and the core refuses those
   * options with `QF_NOT_SUPPORTED` on an adapter without it.
   */
  groups?: boolean;
  /**
   * `waitForJobs` may hand a job added during the wait to the waiting worker (requires
   * `wakeUp`). Optional: absent means false, and workers wait with `waitForWork`.
   */
  handoff?: boolean;
}

/** Result of {@link StorageAdapter.health}. */
export interface HealthStatus {
  ok: boolean;
  /** Round-trip time of a ping, in ms. */
  latencyMs: number;
  message?: string;
}

/** Options for {@link StorageAdapter.enqueue}. */
export interface EnqueueOptions {
  /**
   * The caller's open transaction or client, for stores with transactions: the jobs are
   * added inside it, so a rollback un-adds them. Adapters without the capability reject it
   * with `QF_NOT_SUPPORTED`.
   */
  tx?: unknown;
}

/** One enqueued job: the stored record and whether this call created it. */
export interface EnqueueResult {
  job: JobRecord;
  /** False when a job with the same id, or a live job with the same dedup key, already existed. */
  created: boolean;
}

/**
 * A rate limit: at most `max` jobs of the queue start in any window of `windowMs` — a
 * sliding window, so fixed buckets that allow 2 × max across a boundary do not conform.
 */
export interface RateLimit {
  max: number;
  windowMs: number;
}

/**
 * Queue-wide settings, stored with the queue so they hold across every worker and host.
 * The group fields exist on adapters with the `groups` capability; absent means null.
 */
export interface QueueSettings {
  paused: boolean;
  /** At most this many jobs of the queue active at once, or null for no cap. */
  concurrency: number | null;
  rateLimit: RateLimit | null;
  /**
   * At most this many active jobs per group, across all workers and hosts; 1 runs each
   * group's jobs one at a time, in claim order. Null: no per-group cap.
   */
  groupConcurrency?: number | null;
  /** At most `max` starts per group in any window of `windowMs` (sliding). Null: none. */
  groupRateLimit?: RateLimit | null;
}

/** Input of {@link StorageAdapter.claim}. */
export interface ClaimRequest {
  queue: string;
  /** Identifies the claiming worker (kept on the job for inspection). */
  workerId: string;
  /** Claim at most this many jobs. */
  limit: number;
  /** Lease length: the job returns to waiting if not settled or extended before it ends. */
  leaseMs: number;
  /**
   * Only claim jobs whose priority lies in this inclusive range (the weighted-fairness mode
   * claims band by band). Null: any priority. A claim with a range takes ungrouped jobs
   * only: priority orders jobs within a group, never across groups.
   */
  priorityRange: { min: number; max: number } | null;
}

/** A claimed job: the record with its fresh lease token set. */
export type ClaimedJob = JobRecord & { leaseToken: string; leaseExpiresAt: number };

/** Output of {@link StorageAdapter.claim}. */
export interface ClaimResult {
  jobs: ClaimedJob[];
  /**
   * When no more jobs could be claimed: the earliest time (store clock, ms) a delayed job
   * falls due or the rate limit frees a slot, if known. Pollers sleep until then at most.
   */
  nextWakeAt: number | null;
}

/** How a worker ends one attempt. Each is fenced by the attempt's lease token. */
export type Settlement =
  /**
   * Store the result and move the job to `completed`; with `remove`, delete the job instead,
   * in the same atomic step (what a completion frees is freed: the lease, the dedup key, the
   * queue's and the group's concurrency slot). `getJob` then finds nothing. Workers ask for it
   * when completed jobs are kept for 0 ms (`retention.completedMs: 0`).
   */
  | { kind: "complete"; id: string; token: string; result: Json; remove?: boolean }
  /** Record the error and schedule another attempt after `delayMs`. */
  | { kind: "retry"; id: string; token: string; error: AttemptError; delayMs: number }
  /** Record the error and move the job to `dead`. */
  | { kind: "dead"; id: string; token: string; error: AttemptError }
  /** Run again after `delayMs` without spending an attempt. */
  | { kind: "snooze"; id: string; token: string; delayMs: number };

/** Outcome of one settlement: `lease_lost` when the token is stale (the job moved on). */
export type SettleOutcome = "ok" | "lease_lost";

/** Input of {@link StorageAdapter.recoverStalled}. */
export interface RecoverRequest {
  queue: string;
  /** A job whose lease expired more than this many times goes to `dead` instead of waiting. */
  maxStalls: number;
  /** Recover at most this many jobs per call. */
  limit: number;
}

/** Output of {@link StorageAdapter.recoverStalled}. */
export interface RecoverResult {
  /** Ids returned to waiting. */
  recovered: string[];
  /** Ids moved to dead because they stalled too often. */
  dead: string[];
}

/**
 * Typed filters shared by {@link StorageAdapter.listJobs} and {@link StorageAdapter.clean}:
 * plain fields only, never a raw store query. Every field set must match. Error filters
 * look at a job's latest error; time filters only match jobs that have a `finishedAt`.
 */
export interface JobFilter {
  /** Only jobs with this name. */
  name?: string;
  /** Only jobs whose latest error has this name. */
  errorName?: string;
  /** Only jobs whose latest error has this class (`unknown` also matches a missing class). */
  errorClass?: string;
  /** Only jobs that finished at or after this time (store clock, ms). */
  finishedAfter?: number;
  /** Only jobs that finished before this time (store clock, ms). */
  finishedBefore?: number;
  /** Only jobs claimed at least this many times. */
  minAttempts?: number;
  /** Only jobs claimed at most this many times. */
  maxAttempts?: number;
}

/**
 * Input of {@link StorageAdapter.listJobs}. A page may hold fewer than `limit` jobs while
 * more follow (a store bounds the work of one call); only `nextCursor: null` ends the walk.
 */
export interface ListJobsRequest extends JobFilter {
  queue: string;
  state: JobState;
  /** Opaque cursor from a previous page. */
  cursor?: string | null;
  limit: number;
}

/** One page of jobs, oldest in the state first. */
export interface JobPage {
  jobs: JobRecord[];
  /** Pass back to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Exact number of jobs per state. */
export type JobCounts = Record<JobState, number>;

/**
 * Input of {@link StorageAdapter.clean}: a retention sweep (`finishedBefore` alone) or a
 * purge by filter (any other {@link JobFilter} fields too).
 */
export interface CleanRequest extends Omit<JobFilter, "finishedBefore"> {
  queue: string;
  state: "completed" | "dead" | "cancelled";
  /** Remove jobs that finished before this time (store clock, ms). */
  finishedBefore: number;
  /** Remove at most this many per call, so one call never holds the store for long. */
  limit: number;
}

/** Input of {@link StorageAdapter.retryJobs}. */
export interface RetryRequest {
  queue: string;
  ids: string[];
  /** Shallow-merged into each job's payload object before it runs again. */
  payloadPatch: { [key: string]: Json } | null;
  /**
   * New payloads by job id, replacing the stored payload (and winning over `payloadPatch`)
   * for the jobs listed: how a caller applies a per-job fix it computed itself.
   */
  payloads?: { [id: string]: Json };
  /** Give each moved job this many attempts from now on, instead of its own maximum. */
  maxAttempts?: number;
  /**
   * Only move jobs that reached their terminal state at or before this time (store clock,
   * ms). Pass the time the jobs were listed, so a duplicated or retried request never
   * replays a job again after it ran and failed anew: replay becomes idempotent.
   */
  asOf?: number;
}

/**
 * The upper bounds of the dead-letter age buckets, in ms: under 1 hour, 1 day, 7 days,
 * 30 days, then everything older.
 */
export const DEAD_LETTER_AGE_BUCKETS_MS: readonly number[] = [
  3_600_000, 86_400_000, 604_800_000, 2_592_000_000,
];

/** One bucket of {@link DeadLetterStats.byAge}. */
export interface AgeBucket {
  /** Jobs dead for less than this many ms (and at least the previous bucket's bound). */
  maxAgeMs: number | null;
  count: number;
}

/**
 * Dead-letter statistics of one queue, computed in the store. Stores that aggregate by
 * finish hour (PostgreSQL) may count a job in `byAge` as up to one hour younger than it is.
 */
export interface DeadLetterStats {
  total: number;
  byName: Record<string, number>;
  /** Counted by the name of each job's latest error. */
  byError: Record<string, number>;
  /** Counted by the class of each job's latest error (`unknown` when it has none). */
  byErrorClass: Record<string, number>;
  oldestFinishedAt: number | null;
  newestFinishedAt: number | null;
  /**
   * Counts per age bucket at the time of the call: one entry per bound of
   * {@link DEAD_LETTER_AGE_BUCKETS_MS} in order, then one with `maxAgeMs: null`.
   */
  byAge: AgeBucket[];
}

/** What a schedule fires. */
export type ScheduleSpec =
  | { kind: "cron"; expression: string; timezone: string }
  | { kind: "every"; intervalMs: number }
  | { kind: "once"; at: number };

/** A stored schedule. The core computes run times; the store keeps them and arbitrates. */
export interface ScheduleRecord {
  queue: string;
  /** Unique within the queue. */
  id: string;
  spec: ScheduleSpec;
  /** The job each firing adds. */
  job: {
    name: string;
    payload: Json;
    priority: number;
    maxAttempts: number;
    backoff: NewJob["backoff"];
    timeoutMs: number | null;
    metadata: { [key: string]: Json };
  };
  /** Next firing time, ms since the epoch; null when a one-off schedule has fired. */
  nextRunAt: number | null;
}

/** Input of {@link StorageAdapter.advanceSchedule}. */
export interface AdvanceScheduleRequest {
  queue: string;
  id: string;
  /** The run this scheduler fired; the advance only applies if it is still the stored one. */
  expectedRunAt: number;
  nextRunAt: number | null;
}

/**
 * The storage contract: a small set of atomic queue transitions. The core owns policy
 * (retry decisions, backoff, timeouts, schedules, events, concurrency); an adapter owns
 * storage and atomicity. Each method is one atomic step in the store: no read-then-write
 * races between workers. Run `@queueflow/adapter-tests` against any implementation.
 *
 * Time: adapters compare due times and leases on the store's clock (`now()`), so workers on
 * different hosts agree.
 */
export interface StorageAdapter {
  readonly name: string;
  readonly capabilities: AdapterCapabilities;

  // lifecycle
  /** Open connections and prepare storage (migrations, indexes). Idempotent. */
  connect(): Promise<void>;
  /** Release what the adapter opened. Connections the user passed in stay open. */
  close(): Promise<void>;
  /** Ping the store. Never throws: reports `ok: false` instead. */
  health(): Promise<HealthStatus>;
  /** The store's clock, ms since the epoch. */
  now(): Promise<number>;

  // enqueue
  /**
   * Store jobs atomically per job. Ids are unique per queue: a job whose `id` exists in the
   * queue (in any state) is not added again,
   * nor one whose `dedupKey` matches a non-terminal job of the queue: the existing job is
   * returned with `created: false`. Results come back in input order.
   */
  enqueue(jobs: NewJob[], options?: EnqueueOptions): Promise<EnqueueResult[]>;

  // claim
  /**
   * Lease up to `limit` due jobs (waiting, or delayed whose run time has passed) in contract
   * order: priority high to low, then due time, then insertion. Each gets a fresh lease token
   * and `attempts + 1`. Honours the queue's stored settings in the same atomic step: nothing
   * when paused, never more than `concurrency` active, never more than `rateLimit.max` starts
   * in any window.
   *
   * Groups (capability `groups`): the groups with due jobs take turns, round-robin, and the
   * ungrouped jobs take turns as one more group; each turn starts the next job of that
   * group in contract order. A group at its `groupConcurrency` or `groupRateLimit` sits out
   * until a slot frees, without being looked at. So a job of a small group starts within
   * (groups with due jobs) claims however large another group's backlog is, and the cost of
   * a claim is O(log n) per job claimed, independent of the number of groups and of any
   * group's backlog. Priority wins only within a group: fairness between tenants is the
   * point of groups, and one tenant must not buy its way ahead by raising priorities.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;

  // settle
  /**
   * Apply settlements; each is fenced by its token (an unknown job id is `lease_lost` too).
   * A retry or snooze with `delayMs <= 0` makes the job waiting at once. Outcomes come back
   * in input order.
   */
  settle(queue: string, settlements: Settlement[]): Promise<SettleOutcome[]>;
  /** Push leases out by `leaseMs` from now. False for a job whose token is stale. */
  extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]>;
  /** Store progress on an active job. False when the token is stale. */
  updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean>;
  /**
   * Cancel a job that is not terminal, setting `finishedAt` (an active job's lease is voided,
   * so its worker's settle is refused). Returns the resulting state (a terminal job keeps
   * its own), or null when the job does not exist.
   */
  cancel(queue: string, id: string): Promise<JobState | null>;

  // recover
  /**
   * Return jobs whose lease has expired to waiting (stalls + 1, keeping their place in line),
   * or to dead past `maxStalls`, recording an AttemptError named `StalledError` with
   * `errorClass: "stalled"` on the job.
   */
  recoverStalled(request: RecoverRequest): Promise<RecoverResult>;

  // inspect
  getJob(queue: string, id: string): Promise<JobRecord | null>;
  /**
   * List jobs in one state matching the filter, cursor-paged, oldest in the state first (for
   * terminal states: in `finishedAt` order).
   */
  listJobs(request: ListJobsRequest): Promise<JobPage>;
  /** Exact counts per state (due delayed jobs count as waiting). */
  counts(queue: string): Promise<JobCounts>;

  // manage
  getSettings(queue: string): Promise<QueueSettings>;
  /** Change queue settings; fields left out keep their value. Returns the new settings. */
  updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings>;
  /**
   * Delete a job that is not active. Returns `removed`, `active` (refused) or `not_found`.
   */
  remove(queue: string, id: string): Promise<"removed" | "active" | "not_found">;
  /**
   * Move dead or cancelled jobs back to waiting, due now (behind jobs already due), with
   * attempts and stalls reset and errors kept, each atomically: of concurrent calls naming
   * one job, one moves it. A job whose dedup key a live job now holds, that finished after
   * `asOf`, or whose payload a `payloadPatch` cannot merge into (not an object) is skipped.
   * Returns the ids that moved; others are left untouched.
   */
  retryJobs(request: RetryRequest): Promise<string[]>;
  /** Make a delayed job due now. False when it is not delayed. */
  promote(queue: string, id: string): Promise<boolean>;
  /**
   * Delete terminal jobs that finished before a time and match the filter, at most `limit`
   * per call, oldest first. Returns how many.
   */
  clean(request: CleanRequest): Promise<number>;

  // dead letters (listing, purging and replay use listJobs / clean / retryJobs on `dead`)
  /**
   * Statistics of the queue's dead jobs, computed in the store: Redis and PostgreSQL keep
   * counters, so the cost does not grow with the number of dead jobs.
   */
  deadLetterStats(queue: string): Promise<DeadLetterStats>;

  // schedules
  /** Create or replace a schedule by (queue, id). */
  upsertSchedule(schedule: ScheduleRecord): Promise<void>;
  removeSchedule(queue: string, id: string): Promise<boolean>;
  listSchedules(queue: string): Promise<ScheduleRecord[]>;
  /**
   * Compare-and-set the schedule's next run: succeeds (true) for exactly one of several
   * schedulers that fired the same `expectedRunAt`.
   */
  advanceSchedule(request: AdvanceScheduleRequest): Promise<boolean>;

  // wake-up (optional, see capabilities.wakeUp)
  /**
   * Resolve when the queue may have new work (an add, a resume, a retry, a freed concurrency
   * slot), when `timeoutMs` passes, or when `signal` aborts, whichever comes first. Resolves
   * at once when work is claimable already, so work that arrived between a worker's empty
   * claim and this call is not missed. Never rejects on timeout.
   */
  waitForWork?(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /**
   * {@link waitForWork}, for a worker that would claim with `request` when it wakes: the
   * adapter may lease a job that arrives meanwhile to the caller (as `claim` would, within
   * `request.limit`, honouring every setting) and resolve with it, saving the claim's round
   * trip. Resolves with the jobs handed over, often none: a wake-up without jobs means
   * "claim now", as from `waitForWork`. Only asked for claims without a priority range.
   * Present when `capabilities.handoff` is true; a worker falls back to `waitForWork`.
   */
  waitForJobs?(
    request: ClaimRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ClaimedJob[]>;
}
