import type {
  DeadLetterStats,
  EnqueueOptions,
  HealthStatus,
  JobCounts,
  JobFilter,
  QueueSettings,
  RateLimit,
  ScheduleRecord,
  StorageAdapter,
} from "./contract.js";
import { defaultAdapter } from "./default-adapter.js";
import { QueueFlowError } from "./errors.js";
import { TypedEmitter } from "./events.js";
import type { JobState, Json } from "./job.js";
import { pickJobFilter } from "./job-filter.js";
import { buildNewJob, type JobOptions } from "./job-options.js";
import { type Middleware, runWithMiddleware } from "./middleware.js";
import { buildSchedule, type ScheduleJob, type ScheduleWhen } from "./schedule.js";
import { nextRetryDelay } from "./store-outage.js";
import type { AnyJobMap, Job, JobMap, JobName, JobSchemas } from "./types.js";
import {
  assertJobId,
  assertJobState,
  assertJson,
  assertNonNegativeInt,
  assertPositiveInt,
  assertQueueName,
  assertTerminalState,
  DEFAULT_MAX_PAYLOAD_BYTES,
} from "./validate.js";

/** Options of a {@link Queue}. */
export interface QueueOptions<M extends JobMap> {
  /** Where jobs live; default: the process-wide in-memory adapter. */
  adapter?: StorageAdapter;
  /** Standard Schema validators per job name; invalid payloads are rejected at `add`. */
  schemas?: JobSchemas<M>;
  /** Ceiling on a payload's JSON size; default 1 MiB. */
  maxPayloadBytes?: number;
  /** Options applied to every job unless `add` overrides them. */
  defaultJobOptions?: JobOptions;
  /** Hooks around every add (tracing, metrics, logging). */
  middleware?: Middleware[];
}

/** Events a {@link Queue} emits for what it did itself. */
export type QueueEvents<M extends JobMap> = {
  added: (job: Job<M>) => void;
  paused: () => void;
  resumed: () => void;
  error: (error: unknown) => void;
};

/** One entry of {@link Queue.addBulk}. */
export type BulkJob<M extends JobMap> = {
  [N in JobName<M>]: { name: N; payload: M[N]["payload"]; options?: JobOptions };
}[JobName<M>];

/** Options of {@link Queue.listJobs}: a page and the typed filters of {@link JobFilter}. */
export interface ListOptions extends JobFilter {
  cursor?: string | null;
  /** Page size, 1–1000; default 100. */
  limit?: number;
}

/**
 * A named queue: add jobs, inspect and manage them. Cheap to create; many Queue objects may
 * point at one stored queue, in one process or many.
 * @example
 * type Jobs = { "email.send": { payload: { to: string }; result: { id: string } } };
 * const queue = new Queue<Jobs>("emails");
 * await queue.add("email.send", { to: "a@example.com" }, { priority: "high" });
 */
export class Queue<M extends JobMap = AnyJobMap> extends TypedEmitter<QueueEvents<M>> {
  readonly name: string;
  readonly adapter: StorageAdapter;
  readonly #schemas: JobSchemas<M>;
  readonly #maxPayloadBytes: number;
  readonly #defaults: JobOptions;
  readonly #middleware: Middleware[];
  #ready: Promise<void> | undefined;
  /** The last failed connect, and when the next call may try again. */
  #connectFailure: { error: unknown; retryAt: number; delayMs: number } | undefined;
  #closed = false;

  /** @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad queue name or option. */
  constructor(name: string, options: QueueOptions<M> = {}) {
    super();
    assertQueueName(name);
    this.name = name;
    this.adapter = options.adapter ?? defaultAdapter();
    this.#schemas = options.schemas ?? {};
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    assertPositiveInt(this.#maxPayloadBytes, "maxPayloadBytes");
    this.#defaults = options.defaultJobOptions ?? {};
    this.#middleware = options.middleware ?? [];
  }

  async #store(): Promise<StorageAdapter> {
    if (this.#closed) {
      throw new QueueFlowError("QF_CLOSED", `Queue "${this.name}" is closed; create a new one.`);
    }
    if (this.#ready === undefined) {
      const failure = this.#connectFailure;
      if (failure !== undefined && performance.now() < failure.retryAt) throw failure.error;
      this.#ready = this.#connect(failure?.delayMs ?? 0);
    }
    await this.#ready;
    return this.adapter;
  }

  /**
   * Connect on first use. A failed connect is not kept: a later call tries again, so a
   * producer whose first call met an outage works once the store is back. Calls within a
   * short, growing back-off of a failure (at most 500 ms) fail at once with the same error
   * instead of each opening a connection to a store that is down.
   */
  #connect(previousDelayMs: number): Promise<void> {
    return this.adapter.connect().then(
      () => {
        this.#connectFailure = undefined;
      },
      (error: unknown) => {
        const delayMs = nextRetryDelay(previousDelayMs);
        this.#connectFailure = { error, retryAt: performance.now() + delayMs, delayMs };
        this.#ready = undefined;
        throw error;
      },
    );
  }

  async #validated<N extends JobName<M>>(name: N, payload: unknown): Promise<unknown> {
    const schema = this.#schemas[name];
    if (!schema) return payload;
    const outcome = await schema["~standard"].validate(payload);
    if (outcome.issues) {
      const issues = outcome.issues
        .map(
          (i) =>
            `${i.path?.map((p) => String(typeof p === "object" ? p.key : p)).join(".") || "(root)"}: ${i.message}`,
        )
        .join("; ");
      throw new QueueFlowError(
        "QF_INVALID_PAYLOAD",
        `Payload of "${name}" is invalid: ${issues}.`,
        {
          details: { issues: outcome.issues },
        },
      );
    }
    return outcome.value;
  }

  /**
   * Add one job. Returns the stored job: the existing one when `jobId` or a live `dedupKey`
   * matched (check `created` on {@link Queue.addBulk} when you need to tell).
   * @throws QueueFlowError `QF_INVALID_ARGUMENT`, `QF_INVALID_PAYLOAD`, `QF_PAYLOAD_TOO_LARGE`.
   */
  async add<N extends JobName<M>>(
    name: N,
    payload: M[N]["payload"],
    options: JobOptions = {},
    enqueue?: EnqueueOptions,
  ): Promise<Job<M, N>> {
    const [result] = await this.addBulk([{ name, payload, options } as BulkJob<M>], enqueue);
    return result!.job as Job<M, N>;
  }

  /**
   * Add many jobs in one store round trip. Every job is validated before any is stored, so
   * one bad entry adds nothing.
   */
  async addBulk(
    jobs: BulkJob<M>[],
    enqueue?: EnqueueOptions,
  ): Promise<{ job: Job<M>; created: boolean }[]> {
    const built = await Promise.all(
      jobs.map(async (j) => {
        const payload = await this.#validated(j.name, j.payload);
        return buildNewJob(
          this.name,
          j.name,
          payload,
          { ...this.#defaults, ...j.options },
          this.#maxPayloadBytes,
        );
      }),
    );
    if (built.length === 0) return [];
    const store = await this.#store();
    if (built.some((j) => j.group !== undefined || (j.dedupMode ?? "live") !== "live")) {
      requireGroups(store, "Job groups and the throttle/debounce dedup modes");
    }
    const results = await runWithMiddleware(
      this.#middleware,
      "add",
      { queue: this.name, jobs: built },
      () => store.enqueue(built, enqueue),
    );
    if (this.listenerCount("added") > 0) {
      for (const r of results) if (r.created) this.emit("added", r.job as Job<M>);
    }
    return results as { job: Job<M>; created: boolean }[];
  }

  /** The job, or null when it does not exist. */
  async getJob(id: string): Promise<Job<M> | null> {
    assertJobId(id);
    return (await (await this.#store()).getJob(this.name, id)) as Job<M> | null;
  }

  /** One page of jobs in a state, oldest in the state first. */
  async listJobs(
    state: JobState,
    options: ListOptions = {},
  ): Promise<{ jobs: Job<M>[]; nextCursor: string | null }> {
    assertJobState(state);
    const limit = options.limit ?? 100;
    assertPositiveInt(limit, "limit");
    if (limit > 1000) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        "limit must be at most 1000; page with the cursor.",
      );
    }
    const page = await (await this.#store()).listJobs({
      ...pickJobFilter(options),
      queue: this.name,
      state,
      cursor: options.cursor ?? null,
      limit,
    });
    return page as { jobs: Job<M>[]; nextCursor: string | null };
  }

  /** Exact number of jobs per state. */
  async counts(): Promise<JobCounts> {
    return (await this.#store()).counts(this.name);
  }

  /** Stop claims across every worker of the queue; adds still go through. */
  async pause(): Promise<void> {
    await (await this.#store()).updateSettings(this.name, { paused: true });
    this.emit("paused");
  }

  async resume(): Promise<void> {
    await (await this.#store()).updateSettings(this.name, { paused: false });
    this.emit("resumed");
  }

  async isPaused(): Promise<boolean> {
    return (await (await this.#store()).getSettings(this.name)).paused;
  }

  /**
   * Set limits, enforced inside every worker's claim on every host: at most `concurrency`
   * jobs of the queue active at once and `rateLimit.max` starts per window; per group, at
   * most `groupConcurrency` active (1: one at a time, in order) and `groupRateLimit.max`
   * starts per window. Pass null to lift a limit.
   */
  async setLimits(limits: {
    concurrency?: number | null;
    rateLimit?: RateLimit | null;
    groupConcurrency?: number | null;
    groupRateLimit?: RateLimit | null;
  }): Promise<QueueSettings> {
    const patch: Partial<QueueSettings> = {};
    for (const field of ["concurrency", "groupConcurrency"] as const) {
      const value = limits[field];
      if (value === undefined) continue;
      if (value !== null) assertPositiveInt(value, field);
      patch[field] = value;
    }
    for (const field of ["rateLimit", "groupRateLimit"] as const) {
      const value = limits[field];
      if (value === undefined) continue;
      if (value !== null) {
        assertPositiveInt(value.max, `${field}.max`);
        assertPositiveInt(value.windowMs, `${field}.windowMs`);
      }
      patch[field] = value;
    }
    const store = await this.#store();
    if (patch.groupConcurrency !== undefined || patch.groupRateLimit !== undefined) {
      requireGroups(store, "Per-group limits");
    }
    return store.updateSettings(this.name, patch);
  }

  async getSettings(): Promise<QueueSettings> {
    return (await this.#store()).getSettings(this.name);
  }

  /**
   * Delete a job that is not running.
   * @throws QueueFlowError `QF_INVALID_STATE` when it is active (cancel it instead).
   */
  async remove(id: string): Promise<boolean> {
    assertJobId(id);
    const outcome = await (await this.#store()).remove(this.name, id);
    if (outcome === "active") {
      throw new QueueFlowError(
        "QF_INVALID_STATE",
        `Job ${id} is active; cancel() it first, then remove it.`,
      );
    }
    return outcome === "removed";
  }

  /**
   * Cancel a job that has not finished. A running job's handler sees its signal abort at the
   * worker's next heartbeat, and its outcome is discarded.
   * @throws QueueFlowError `QF_JOB_NOT_FOUND`.
   */
  async cancel(id: string): Promise<JobState> {
    assertJobId(id);
    const state = await (await this.#store()).cancel(this.name, id);
    if (state === null) {
      throw new QueueFlowError("QF_JOB_NOT_FOUND", `Job ${id} does not exist in "${this.name}".`);
    }
    return state;
  }

  /**
   * Run dead or cancelled jobs again, optionally patching their payload (shallow merge).
   * Returns the ids that moved back to waiting.
   */
  async retry(
    ids: string | string[],
    options: { payloadPatch?: { [key: string]: Json } } = {},
  ): Promise<string[]> {
    const list = Array.isArray(ids) ? ids : [ids];
    for (const id of list) assertJobId(id);
    if (options.payloadPatch !== undefined) {
      assertJson(options.payloadPatch, "payloadPatch", this.#maxPayloadBytes);
    }
    return (await this.#store()).retryJobs({
      queue: this.name,
      ids: list,
      payloadPatch: options.payloadPatch ?? null,
    });
  }

  /** Make a delayed job due now. False when it was not delayed. */
  async promote(id: string): Promise<boolean> {
    assertJobId(id);
    return (await this.#store()).promote(this.name, id);
  }

  /**
   * Delete finished jobs older than `olderThanMs`, at most `limit` (default 1000) per call.
   * Call it in a loop until it returns less than the limit to clean everything.
   */
  async clean(options: {
    state: "completed" | "dead" | "cancelled";
    olderThanMs: number;
    limit?: number;
  }): Promise<number> {
    assertTerminalState(options.state);
    assertNonNegativeInt(options.olderThanMs, "olderThanMs");
    const limit = options.limit ?? 1000;
    assertPositiveInt(limit, "limit");
    const store = await this.#store();
    return store.clean({
      queue: this.name,
      state: options.state,
      finishedBefore: (await store.now()) - options.olderThanMs,
      limit,
    });
  }

  /** Dead-letter counts by job name and by error. */
  async deadLetterStats(): Promise<DeadLetterStats> {
    return (await this.#store()).deadLetterStats(this.name);
  }

  /**
   * Fire a job on a cron expression (with time zone), a fixed interval, or once at a time.
   * Re-declaring the same schedule (as every deploy does) keeps its next run; changing it
   * recomputes. Workers fire schedules; each firing is added exactly once.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad id, cron expression, time zone
   *   (not an IANA name) or interval.
   * @example
   * await queue.schedule("nightly", { cron: "0 2 * * *", timezone: "Europe/Paris" },
   *   { name: "report.build", payload: { kind: "daily" } });
   */
  async schedule<N extends JobName<M>>(
    id: string,
    when: ScheduleWhen,
    job: ScheduleJob<M, N>,
  ): Promise<ScheduleRecord> {
    const store = await this.#store();
    const [now, existing] = await Promise.all([store.now(), store.listSchedules(this.name)]);
    const payload = await this.#validated(job.name, job.payload);
    const record = buildSchedule(
      this.name,
      id,
      when,
      { ...job, payload, options: { ...this.#defaults, ...job.options } },
      now,
      existing.find((s) => s.id === id),
      this.#maxPayloadBytes,
    );
    await store.upsertSchedule(record);
    return record;
  }

  /** Remove a schedule. False when it did not exist. */
  async unschedule(id: string): Promise<boolean> {
    return (await this.#store()).removeSchedule(this.name, id);
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.#store()).listSchedules(this.name);
  }

  /** Ping the store. */
  async health(): Promise<HealthStatus> {
    return (await this.#store()).health();
  }

  /** Stop using this Queue object. The adapter stays open: close it yourself if you made it. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}

function requireGroups(store: StorageAdapter, what: string): void {
  if (store.capabilities.groups === true) return;
  throw new QueueFlowError(
    "QF_NOT_SUPPORTED",
    `${what} need an adapter with the groups capability; the ${store.name} adapter does not have it yet.`,
  );
}
