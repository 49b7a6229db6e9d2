import {
  assertJobId,
  assertQueueName,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type JobRecord,
  type StorageAdapter,
} from "@queueflow/core";
import { decodeCursor, encodeCursor, queryFingerprint } from "./cursor.js";
import { boundedBy, type DeadLetterFilter, resolveFilter } from "./filter.js";
import { checkPayloadPatch, type PayloadPatch } from "./payload-patch.js";
import { type PurgeResult, purgeMatching } from "./purge.js";
import {
  type ReplayPlan,
  type ReplayProgress,
  type ReplayResult,
  ReplayTally,
  replayBatch,
  replayMatching,
} from "./replay.js";
import { type RetentionHandle, type RetentionOptions, startTimer } from "./retention.js";
import { combinedStats, type DeadLetterSummary } from "./stats.js";
import {
  batchSize,
  checkSignal,
  invalid,
  positiveInt,
  positiveNumber,
  timeMs,
} from "./validate.js";

const DAY_MS = 86_400_000;
const DEFAULT_BATCH = 100;
const MAX_BATCH = 1_000;
const DEFAULT_LIST_LIMIT = 50;
const DEFAULT_MAX_JOBS = 10_000;

/** Options of {@link DeadLetters}. */
export interface DeadLettersOptions {
  /** The store. Connect it before use; `DeadLetters` never closes it. */
  adapter: StorageAdapter;
  /** The queues this instance manages (the contract is per queue). At least one. */
  queues: readonly string[];
  /** Jobs per store call in replay, purge and retention. Default 100, at most 1000. */
  batchSize?: number;
  /** Largest patched payload accepted, in JSON bytes. Default core's 1 MiB. */
  maxPayloadBytes?: number;
}

/** Input of {@link DeadLetters.list}. */
export interface ListDeadLettersRequest {
  filter?: DeadLetterFilter;
  /** `nextCursor` of the previous page, with the same filter. */
  cursor?: string | null;
  /** Most jobs in the page. Default 50, at most 1000. */
  limit?: number;
}

/** One page of dead jobs: queue by queue in the instance's order, oldest death first. */
export interface DeadLetterPage {
  jobs: JobRecord[];
  /**
   * Opaque; pass back for the next page. Null when the walk is over. A page may hold fewer
   * than `limit` jobs while more follow.
   */
  nextCursor: string | null;
}

/** Options shared by {@link DeadLetters.replay} and {@link DeadLetters.replayJob}. */
export interface ReplayOptions {
  /** Change each job's payload first: a function, or an RFC 7396 merge patch object. */
  patch?: PayloadPatch;
  /** Give each replayed job this many attempts from now on instead of its own maximum. */
  maxAttempts?: number;
  /**
   * Replay only jobs that died at or before this store time. Default: the store's now at the
   * start. Pass the same value when repeating a request (an HTTP retry): a job already
   * replayed, whether it is running or died again since, is not replayed a second time.
   */
  asOf?: number | Date;
}

/** Input of {@link DeadLetters.replay}. */
export interface ReplayRequest extends ReplayOptions {
  filter?: DeadLetterFilter;
  /** A previous result's `nextCursor`, to continue a replay that stopped (same filter). */
  cursor?: string | null;
  /** Most jobs looked at in this call (replayed, skipped or failed). Default 10 000. */
  maxJobs?: number;
  /** Jobs per `listJobs`/`retryJobs` round. Default: the instance's `batchSize`. */
  batchSize?: number;
  /** Called after each batch with cumulative counts; awaited. */
  onProgress?: (progress: ReplayProgress) => void | Promise<void>;
  /** Stops the replay between batches; the result then says `stoppedBy: "aborted"`. */
  signal?: AbortSignal;
}

/** Input of {@link DeadLetters.purge}. */
export interface PurgeRequest {
  filter?: DeadLetterFilter;
  /** Delete only jobs that died at or before this store time. Default: the store's now. */
  asOf?: number | Date;
  /** Jobs per `clean` call. Default: the instance's `batchSize`. */
  batchSize?: number;
  /** Most jobs deleted in this call. Default: no bound beyond `asOf`. */
  maxJobs?: number;
  /** Stops the purge between batches. */
  signal?: AbortSignal;
}

/** Input of {@link DeadLetters.applyRetention}. */
export interface RetentionSweepRequest {
  /** Delete dead jobs that died more than this many days ago (store clock). */
  olderThanDays: number;
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Dead-letter operations over any {@link StorageAdapter}: list and inspect dead jobs with
 * typed filters, store-side stats, idempotent bulk replay with payload patches, purge, and
 * retention. Every bulk operation works in bounded batches.
 *
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` from the constructor for no queues, an
 * invalid or repeated queue name, or a bad option.
 *
 * @example
 * const dlq = new DeadLetters({ adapter, queues: ["emails", "billing"] });
 * const { total, byErrorClass } = await dlq.stats();
 * const result = await dlq.replay({
 *   filter: { errorClass: "connection" },
 *   patch: { retriedBy: "ops" },
 * });
 */
export class DeadLetters {
  /** The queues this instance manages, in the order listings walk them. */
  readonly queues: readonly string[];
  readonly #adapter: StorageAdapter;
  readonly #batchSize: number;
  readonly #maxPayloadBytes: number;

  constructor(options: DeadLettersOptions) {
    if (typeof options !== "object" || options === null || options.adapter == null) {
      throw invalid("DeadLetters needs { adapter, queues }.");
    }
    const queues = options.queues;
    if (!Array.isArray(queues) || queues.length === 0) {
      throw invalid("DeadLetters queues must be a non-empty array of queue names.");
    }
    for (const q of queues) assertQueueName(q);
    if (new Set(queues).size !== queues.length) {
      throw invalid("DeadLetters queues must not repeat a queue name.");
    }
    this.queues = Object.freeze([...queues]);
    this.#adapter = options.adapter;
    this.#batchSize = batchSize(options.batchSize, "batchSize", DEFAULT_BATCH, MAX_BATCH);
    this.#maxPayloadBytes =
      options.maxPayloadBytes === undefined
        ? DEFAULT_MAX_PAYLOAD_BYTES
        : positiveInt(options.maxPayloadBytes, "maxPayloadBytes");
  }

  /**
   * One page of dead jobs matching the filter, with their error history.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad filter or limit, or a cursor that
   * this call did not produce for the same filter.
   */
  async list(request: ListDeadLettersRequest = {}): Promise<DeadLetterPage> {
    const { queues, jobFilter } = resolveFilter(request.filter, this.queues);
    const limit = batchSize(request.limit, "limit", DEFAULT_LIST_LIMIT, MAX_BATCH);
    const fp = queryFingerprint(queues, jobFilter);
    let index = 0;
    let cursor: string | null = null;
    if (request.cursor != null) {
      const decoded = decodeCursor(request.cursor, queues, fp);
      index = queues.indexOf(decoded.queue);
      cursor = decoded.adapterCursor;
    }
    const jobs: JobRecord[] = [];
    // Empty queues are skipped within one call, but the number of store calls stays bounded.
    const maxCalls = queues.length + 4;
    for (let calls = 0; index < queues.length; calls++) {
      const queue = queues[index] as string;
      if (jobs.length >= limit || calls >= maxCalls) {
        return { jobs, nextCursor: encodeCursor(queue, cursor, fp) };
      }
      const page = await this.#adapter.listJobs({
        ...jobFilter,
        queue,
        state: "dead",
        cursor,
        limit: limit - jobs.length,
      });
      jobs.push(...page.jobs);
      cursor = page.nextCursor;
      if (cursor === null) index++;
    }
    return { jobs, nextCursor: null };
  }

  /**
   * A dead job with its error history; null when it does not exist or is not dead.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a queue outside `queues` or a bad id.
   */
  async get(queue: string, id: string): Promise<JobRecord | null> {
    this.#checkQueue(queue);
    assertJobId(id);
    const job = await this.#adapter.getJob(queue, id);
    return job !== null && job.state === "dead" ? job : null;
  }

  /**
   * Totals across the queues, by queue, job name, error class and error name, oldest and
   * newest death and an age histogram: the sum of each queue's `deadLetterStats`, which the
   * store computes (counters on Redis and PostgreSQL); no dead job is loaded.
   */
  async stats(): Promise<DeadLetterSummary> {
    return combinedStats(this.#adapter, this.queues);
  }

  /**
   * Replay every dead job matching the filter that died at or before `asOf`, in batches:
   * one `listJobs` page, then one `retryJobs` for it. Idempotent for a given `asOf`.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad filter, patch or option, before
   * any job moves. Store errors propagate; jobs replayed before one stay replayed.
   * @example
   * const { asOf, counts } = await dlq.replay({
   *   filter: { queue: "emails", errorClass: "timeout" },
   *   patch: (job) => ({ ...(job.payload as object), timeoutMs: 30_000 }),
   *   maxJobs: 5_000,
   * });
   */
  async replay(request: ReplayRequest = {}): Promise<ReplayResult> {
    const { queues, jobFilter } = resolveFilter(request.filter, this.queues);
    const plan = await this.#plan(request, queues, jobFilter);
    if (request.cursor != null) {
      const fp = queryFingerprint(queues, jobFilter);
      const decoded = decodeCursor(request.cursor, queues, fp);
      plan.start = { index: queues.indexOf(decoded.queue), cursor: decoded.adapterCursor };
    }
    return replayMatching(plan);
  }

  /**
   * Replay one dead job. Returns the same shape as {@link DeadLetters.replay}, with the job
   * in exactly one of `replayed`, `skipped` or `failed`.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a queue outside `queues`, a bad id,
   * patch or option.
   */
  async replayJob(queue: string, id: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    this.#checkQueue(queue);
    assertJobId(id);
    const plan = await this.#plan(options, [queue], {});
    const tally = new ReplayTally();
    const job = await this.#adapter.getJob(queue, id);
    // Read first: retryJobs would also move a cancelled job, which is not a dead letter.
    if (job === null || job.state !== "dead" || (job.finishedAt ?? 0) > plan.asOf) {
      const reason =
        job === null ? "not_found" : job.state !== "dead" ? "not_dead" : "failed_after_as_of";
      tally.skipped.push({ queue, id, reason });
    } else {
      await replayBatch(plan, queue, [job], tally);
    }
    return tally.result(plan.asOf, "done");
  }

  /**
   * Delete the dead jobs matching the filter that died at or before `asOf` (and before the
   * filter's `failedBefore`), with `clean` in bounded batches until none are left.
   * Idempotent: safe to repeat and to run from several processes.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad filter or option.
   */
  async purge(request: PurgeRequest = {}): Promise<PurgeResult> {
    const { queues, jobFilter } = resolveFilter(request.filter, this.queues);
    checkSignal(request.signal, "signal");
    const asOf =
      request.asOf === undefined ? await this.#adapter.now() : timeMs(request.asOf, "asOf");
    return purgeMatching({
      adapter: this.#adapter,
      queues,
      jobFilter,
      finishedBefore: boundedBy(jobFilter, asOf),
      asOf,
      batchSize: batchSize(request.batchSize, "batchSize", this.#batchSize, MAX_BATCH),
      maxJobs:
        request.maxJobs === undefined
          ? Number.POSITIVE_INFINITY
          : positiveInt(request.maxJobs, "maxJobs"),
      signal: request.signal,
    });
  }

  /**
   * One retention sweep: delete dead jobs of every queue that died more than
   * `olderThanDays` ago on the store's clock, in bounded batches.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad option.
   */
  async applyRetention(request: RetentionSweepRequest): Promise<PurgeResult> {
    const days = positiveNumber(request?.olderThanDays, "olderThanDays");
    checkSignal(request.signal, "signal");
    const size = batchSize(request.batchSize, "batchSize", this.#batchSize, MAX_BATCH);
    const asOf = await this.#adapter.now();
    return purgeMatching({
      adapter: this.#adapter,
      queues: this.queues,
      jobFilter: {},
      finishedBefore: asOf - days * DAY_MS,
      asOf,
      batchSize: size,
      maxJobs: Number.POSITIVE_INFINITY,
      signal: request.signal,
    });
  }

  /**
   * Sweep now and then every `intervalMs`: a simple timer in this process. Running it in
   * several processes at once is safe, since `clean` is idempotent (each job is deleted once;
   * the processes only share the work). Stop it before closing the adapter.
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad option.
   * @example
   * const retention = dlq.startRetention({ olderThanDays: 14, intervalMs: 3_600_000 });
   * process.on("SIGTERM", () => void retention.stop());
   */
  startRetention(options: RetentionOptions): RetentionHandle {
    const olderThanDays = positiveNumber(options?.olderThanDays, "olderThanDays");
    const intervalMs = positiveNumber(options.intervalMs, "intervalMs");
    const size = batchSize(options.batchSize, "batchSize", this.#batchSize, MAX_BATCH);
    const onError =
      options.onError ??
      ((error: unknown) => console.error("@queueflow/dlq: retention sweep failed", error));
    return startTimer(intervalMs, async (signal) => {
      try {
        const result = await this.applyRetention({ olderThanDays, batchSize: size, signal });
        options.onSweep?.(result);
      } catch (error) {
        onError(error);
      }
    });
  }

  async #plan(
    options: ReplayRequest,
    queues: readonly string[],
    jobFilter: ReplayPlan["jobFilter"],
  ): Promise<ReplayPlan> {
    if (typeof options !== "object" || options === null) {
      throw invalid("Replay options must be an object.");
    }
    checkPayloadPatch(options.patch);
    checkSignal(options.signal, "signal");
    if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
      throw invalid("onProgress must be a function.");
    }
    const maxAttempts =
      options.maxAttempts === undefined
        ? undefined
        : positiveInt(options.maxAttempts, "maxAttempts");
    const maxJobs =
      options.maxJobs === undefined ? DEFAULT_MAX_JOBS : positiveInt(options.maxJobs, "maxJobs");
    const size = batchSize(options.batchSize, "batchSize", this.#batchSize, MAX_BATCH);
    const asOf =
      options.asOf === undefined ? await this.#adapter.now() : timeMs(options.asOf, "asOf");
    return {
      adapter: this.#adapter,
      queues,
      jobFilter,
      asOf,
      patch: options.patch,
      maxAttempts,
      maxJobs,
      batchSize: size,
      maxPayloadBytes: this.#maxPayloadBytes,
      signal: options.signal,
      onProgress: options.onProgress,
      start: { index: 0, cursor: null },
      encode: (queue, cursor) => encodeCursor(queue, cursor, queryFingerprint(queues, jobFilter)),
    };
  }

  #checkQueue(queue: string): void {
    if (typeof queue !== "string" || !this.queues.includes(queue)) {
      throw invalid(
        `Queue ${JSON.stringify(queue)} is not one of this DeadLetters' queues (${this.queues.join(", ")}).`,
      );
    }
  }
}
