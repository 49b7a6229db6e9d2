import type { BackoffFunction } from "./backoff.js";
import type { StorageAdapter } from "./contract.js";
import { defaultAdapter } from "./default-adapter.js";
import type { ErrorClassifier } from "./error-class.js";
import { isQueueFlowError } from "./errors.js";
import { TypedEmitter } from "./events.js";
import type { BandWeights } from "./fairness.js";
import type { AttemptError, Json } from "./job.js";
import type { JobContext } from "./job-context.js";
import type { Middleware } from "./middleware.js";
import { PrefetchBuffer } from "./prefetch-buffer.js";
import { PrefetchSize } from "./prefetch-size.js";
import { SettleBatcher } from "./settle-batcher.js";
import { nextRetryDelay, StoreOutage } from "./store-outage.js";
import type { AnyJobMap, Job, JobMap, JobName } from "./types.js";
import { assertNonNegativeInt, assertPositiveInt, assertQueueName } from "./validate.js";
import { Trigger } from "./wait.js";
import { ClaimLoop } from "./worker/claim-loop.js";
import { storeFailed, type WorkerContext } from "./worker/context.js";
import { JobRunner } from "./worker/job-runner.js";
import { Maintenance } from "./worker/maintenance.js";
import { closeOnSignals, finishJobs } from "./worker/shutdown.js";

/** A job handler: gets the job's context, returns its result. */
export type Handler<M extends JobMap, N extends JobName<M>> = (
  job: JobContext<M, N>,
) => Promise<M[N]["result"]> | M[N]["result"];

/** One handler per job name of the map. */
export type Handlers<M extends JobMap> = { [N in JobName<M>]: Handler<M, N> };

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** Where jobs live; default: the process-wide in-memory adapter. */
  adapter?: StorageAdapter;
  /** Jobs run at once by this worker; default 1. */
  concurrency?: number;
  /** Most jobs taken per claim round trip; default `concurrency` + `prefetch`, at most 1000. */
  batchSize?: number;
  /**
   * Jobs claimed ahead of free slots and held under lease in this process, so a finished
   * handler's slot is refilled at once instead of a claim round trip later. Default `"auto"`:
   * about one claim round trip's worth of work (`concurrency × claim time / handler time`, at
   * most 500), so handlers longer than a claim round trip get none; 0 holds nothing, and is
   * the default in weighted fairness mode, whose proportions hold within each claim.
   * Trade-offs: buffered jobs are this worker's until it runs them (other workers cannot take
   * them; a job added later with a higher priority waits behind them); their leases are
   * extended by the heartbeat, they count as active in the store (and against concurrency
   * caps, rate limits and groups there), and `close()` hands them back unstarted. A buffered
   * job whose lease went half by unextended is handed back, never started.
   */
  prefetch?: number | "auto";
  /** Lease per claim; a job not settled or extended in time is recovered. Default 30 s. */
  leaseMs?: number;
  /** How often leases of running jobs are extended; default a third of `leaseMs`. */
  heartbeatMs?: number;
  /** Timeout for jobs that set none; default none. */
  timeoutMs?: number;
  /**
   * Classes each failure before it is recorded (see `ErrorClass`): return a class, or
   * undefined to use the default {@link classifyError}. Dead-letter filters and stats group
   * by it.
   */
  classifyError?: ErrorClassifier;
  /** How often expired leases are looked for; default 15 s. */
  stalledIntervalMs?: number;
  /** Expired leases a job survives before it goes to dead; default 1. */
  maxStalls?: number;
  /** Longest idle wait between claims when the adapter has no wake-up; default 1 s. */
  pollIntervalMs?: number;
  /**
   * `strict` (default): highest priority first. `weighted`: split claims across bands by
   * weight (e.g. `{ high: 60, normal: 30, low: 10 }`) so low bands never starve.
   */
  fairness?: { mode: "strict" } | { mode: "weighted"; weights: BandWeights };
  /** Custom backoffs, referenced by jobs as `{ type: "custom", name }`. */
  backoffStrategies?: Record<string, BackoffFunction>;
  /**
   * Delete finished jobs once they are older than these ages (ms), checked every
   * `intervalMs` (default 60 s) in bounded batches. Default: keep everything (call
   * `queue.clean()` yourself). `completedMs: 0` keeps no completed job: the settle that
   * completes a job deletes it (the fastest setting; its result is then only seen by this
   * worker's `completed` event and middleware).
   */
  retention?: RetentionOptions;
  /** Fire the queue's schedules from this worker; default true. */
  runSchedules?: boolean;
  /** How often schedules are checked; default 1 s. */
  scheduleIntervalMs?: number;
  /** How long `close()` waits for running jobs before handing their leases back; default 30 s. */
  closeTimeoutMs?: number;
  /** Close gracefully on SIGTERM and SIGINT, then let the signal take its course. Default false. */
  handleSignals?: boolean;
  /** Start claiming at once; default true. Otherwise call `start()`. */
  autostart?: boolean;
  /** Kept on claimed jobs for inspection; default host-pid-random. */
  workerId?: string;
  /** Hooks around every attempt and its settle (tracing, metrics, logging). */
  middleware?: Middleware[];
}

/** How long finished jobs are kept; see {@link WorkerOptions.retention}. */
export interface RetentionOptions {
  completedMs?: number;
  deadMs?: number;
  cancelledMs?: number;
  intervalMs?: number;
}

/**
 * A handler's result as `completed` reports it: a handler that returns nothing (`undefined`,
 * a `void` result) is stored and reported as `null`, JSON's "no value".
 */
type ReportedResult<R> = R extends void ? null : R;

/**
 * What `completed` reports for a worker of job map M: its handler's result type, or with
 * several job names the union of theirs. Not a union of [job, result] pairs per name:
 * TypeScript does not narrow `result` by `job.name` in one, and a listener taking `(job)`
 * alone whose body returns a value (`ids.push(job.id)`) stops compiling against it.
 */
export type CompletedResult<M extends JobMap> = {
  [N in JobName<M>]: ReportedResult<M[N]["result"]>;
}[JobName<M>];

/** Events a {@link Worker} emits. */
export type WorkerEvents<M extends JobMap> = {
  active: (job: Job<M>) => void;
  progress: (job: Job<M>, progress: Json) => void;
  /** A job's result was stored: what its handler returned (`null` for nothing). */
  completed: (job: Job<M>, result: CompletedResult<M>) => void;
  /** Every failed attempt, whether a retry follows or not. */
  failed: (job: Job<M>, error: AttemptError) => void;
  retrying: (job: Job<M>, error: AttemptError, delayMs: number) => void;
  dead: (job: Job<M>, error: AttemptError) => void;
  /** An expired lease was recovered: back to waiting, or to dead past `maxStalls`. */
  stalled: (jobId: string, movedTo: "waiting" | "dead") => void;
  /**
   * The job's outcome was refused: it was cancelled or recovered while running, or its lease
   * ran out before its handler could start (then the handler never ran).
   */
  lost: (job: Job<M>) => void;
  /** The queue had nothing due and this worker nothing running. */
  drained: () => void;
  /**
   * A failed store call, or a handler hook that threw. While the store is down (see
   * `storeDown`), further `QF_STORE_UNAVAILABLE` failures of the same outage are not repeated
   * here: the worker keeps retrying, and `storeUp` says when it answered again.
   */
  error: (error: unknown) => void;
  /** A store call failed with `QF_STORE_UNAVAILABLE` after the store had answered. */
  storeDown: (error: unknown) => void;
  /** The store answered again after `downMs` of failed calls; claims resume at once. */
  storeUp: (downMs: number) => void;
  closed: () => void;
};

/**
 * Runs a queue's jobs: claims in batches, runs handlers with a lease kept alive by a
 * heartbeat, retries with backoff, recovers stalled jobs and fires schedules.
 * @example
 * const worker = new Worker<Jobs>("emails", {
 *   "email.send": async (job) => ({ id: await send(job.payload, { signal: job.signal }) }),
 * }, { concurrency: 10 });
 * await worker.close();
 */
export class Worker<M extends JobMap = AnyJobMap> extends TypedEmitter<WorkerEvents<M>> {
  readonly queue: string;
  readonly adapter: StorageAdapter;
  readonly id: string;
  readonly #opts: WorkerOptions;
  readonly #stop = new AbortController();
  readonly #ctx: WorkerContext<M>;
  readonly #runner: JobRunner<M>;
  readonly #claims: ClaimLoop<M>;
  readonly #maintenance: Maintenance<M>;
  /** Holds the process open from start() to the end of close(): every other timer is unref'd. */
  #keepAlive: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #removeSignalHandlers: (() => void) | undefined;

  /** @throws QueueFlowError `QF_INVALID_ARGUMENT` for a bad queue name or option. */
  constructor(queue: string, handlers: Handlers<M>, options: WorkerOptions = {}) {
    super();
    assertQueueName(queue);
    this.queue = queue;
    this.#opts = options;
    this.adapter = options.adapter ?? defaultAdapter();
    const concurrency = options.concurrency ?? 1;
    assertPositiveInt(concurrency, "concurrency");
    if (options.batchSize !== undefined) assertPositiveInt(options.batchSize, "batchSize");
    const leaseMs = options.leaseMs ?? 30_000;
    assertPositiveInt(leaseMs, "leaseMs");
    // Weighted fairness splits each claim across bands, and a worker runs a claim's jobs in
    // the order they came: a deep buffer would run a whole band's share before the next.
    const prefetch = options.prefetch ?? (options.fairness?.mode === "weighted" ? 0 : "auto");
    if (prefetch !== "auto") assertNonNegativeInt(prefetch, `prefetch (or "auto")`);
    this.id = options.workerId ?? `${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
    this.#ctx = {
      queue,
      workerId: this.id,
      adapter: this.adapter,
      options,
      leaseMs,
      concurrency,
      running: new Set(),
      buffer: new PrefetchBuffer(leaseMs),
      prefetch: new PrefetchSize(prefetch),
      slotFreed: new Trigger(),
      stop: this.#stop.signal,
      outage: new StoreOutage({
        down: (error) => this.emit("storeDown", error),
        up: (downMs) => this.#maintenance.storeUp(downMs),
      }),
      batcher: new SettleBatcher(this.adapter, queue),
      emit: this.emit.bind(this),
      listenerCount: this.listenerCount.bind(this),
    };
    this.#runner = new JobRunner(this.#ctx, handlers);
    this.#claims = new ClaimLoop(this.#ctx, this.#runner);
    this.#maintenance = new Maintenance(this.#ctx);
    if (options.autostart ?? true) this.start();
  }

  /** Number of jobs running now. */
  get running(): number {
    return this.#ctx.running.size;
  }

  /** Jobs claimed ahead and waiting for a slot (see `prefetch`). */
  get buffered(): number {
    return this.#ctx.buffer.size;
  }

  /** Handlers this worker runs at once. */
  get concurrency(): number {
    return this.#ctx.concurrency;
  }

  /**
   * Change concurrency on a running worker (an autoscaler's knob). Raising it claims more at
   * once; lowering it lets running jobs finish and claims again only below the new limit,
   * so no job is dropped or interrupted. 0 parks the worker: it finishes what it runs and
   * claims nothing until raised again (scale to zero without closing it).
   * @throws QueueFlowError `QF_INVALID_ARGUMENT` unless `n` is a non-negative integer.
   */
  setConcurrency(n: number): void {
    assertNonNegativeInt(n, "concurrency");
    this.#ctx.concurrency = n;
    // Parked: what it holds ahead goes back for other workers rather than wait under lease.
    if (n === 0) this.#runner.handBackBuffered();
    this.#runner.startBuffered();
    this.#ctx.slotFreed.fire();
  }

  /** Start claiming (done by the constructor unless `autostart: false`). Idempotent. */
  start(): void {
    if (this.#loop || this.#closing) return;
    // A started worker is a service: it must not let the process end while the store is
    // unreachable (no socket open) or nothing is due yet (only unref'd timers left).
    this.#keepAlive = setInterval(() => undefined, 1 << 30);
    this.#loop = this.#run().catch((err: unknown) => this.emit("error", err));
    if (this.#opts.handleSignals) this.#removeSignalHandlers = closeOnSignals(() => this.close());
  }

  async #run(): Promise<void> {
    if (!(await this.#connect())) return;
    this.#maintenance.start();
    await this.#claims.run();
  }

  /**
   * Connect, retrying with bounded back-off while the store is unreachable. False when close()
   * came first, or when the adapter refused with a QueueFlowError other than
   * `QF_STORE_UNAVAILABLE` (bad settings, a closed adapter, a missing migration: retrying
   * cannot help), which is reported and closes the worker.
   */
  async #connect(): Promise<boolean> {
    let delay = 0;
    while (!this.#stop.signal.aborted) {
      try {
        await this.adapter.connect();
        this.#ctx.outage.answered();
        return true;
      } catch (err) {
        storeFailed(this.#ctx, err);
        if (isQueueFlowError(err) && !isQueueFlowError(err, "QF_STORE_UNAVAILABLE")) {
          void this.close();
          return false;
        }
        delay = nextRetryDelay(delay);
        await this.#ctx.outage.retryWait(delay, this.#stop.signal);
      }
    }
    return false;
  }

  /**
   * Stop claiming, wait up to `timeoutMs` (default `closeTimeoutMs`) for running jobs, then
   * abort the rest and hand their leases back so another worker runs them at once. Resolves
   * once no call of this worker is left in flight (heartbeat, stall recovery, retention and
   * schedules included, each bounded by a 5 s grace), so the adapter can be closed next.
   */
  close(timeoutMs?: number): Promise<void> {
    this.#closing ??= this.#shutdown(timeoutMs ?? this.#opts.closeTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    this.#stop.abort();
    await finishJobs(this.#ctx, this.#runner, this.#loop, timeoutMs);
    clearInterval(this.#keepAlive);
    await this.#maintenance.stop();
    this.#removeSignalHandlers?.();
    this.emit("closed");
  }
}
