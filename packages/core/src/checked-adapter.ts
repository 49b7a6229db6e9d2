import {
  checkClaim,
  checkCleanRequest,
  checkLeaseMs,
  checkLeases,
  checkLimit,
  checkNewJob,
  checkSettingsPatch,
  checkSettlements,
  checkState,
  checkString,
  invalidArgument,
  refuseTransaction,
} from "./adapter-input.js";
import type {
  AdapterCapabilities,
  AdvanceScheduleRequest,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  CleanRequest,
  DeadLetterStats,
  EnqueueOptions,
  EnqueueResult,
  HealthStatus,
  JobCounts,
  JobPage,
  ListJobsRequest,
  QueueSettings,
  RecoverRequest,
  RecoverResult,
  RetryRequest,
  ScheduleRecord,
  Settlement,
  SettleOutcome,
  StorageAdapter,
} from "./contract.js";
import type { StorageDriver } from "./driver.js";
import { QueueFlowError } from "./errors.js";
import type { JobRecord, JobState, Json, NewJob } from "./job.js";
import { checkJobFilter, checkRetryRequest } from "./job-filter.js";
import { mapStoreError } from "./store-errors.js";
import { sleep } from "./wait.js";

/**
 * The checked edge between the core and a store: a {@link StorageAdapter} made from a
 * {@link StorageDriver}. It does, once for every store, what each adapter would otherwise
 * repeat: input guards (`QF_INVALID_ARGUMENT` before anything reaches the store), the closed
 * state (`QF_CLOSED` after `close()`), connect-once (the first call connects; concurrent
 * callers share the attempt and a failed one is retried by the next call), `health()` from
 * the driver's `ping`, refusing `tx` without the `transactions` capability, and mapping
 * connect and ping failures through the driver's `isUnavailable` to `QF_STORE_UNAVAILABLE`.
 *
 * The claim and settle path adds no await and no allocation: a checked call returns the
 * driver's own promise once connected.
 *
 * Extend it to give an adapter its own class and options, or wrap a driver directly.
 *
 * @throws QueueFlowError `QF_CLOSED` from every method but `close`, `health` and the waits
 * after `close()`; `QF_INVALID_ARGUMENT` for malformed input; `QF_NOT_SUPPORTED` from
 * `enqueue` given a transaction by a store without them; `QF_STORE_UNAVAILABLE` when the
 * store cannot be reached.
 *
 * @example
 * export class MapAdapter extends CheckedAdapter<MapDriver> {
 *   constructor(options: MapOptions = {}) {
 *     super(new MapDriver(options));
 *   }
 * }
 * const adapter: StorageAdapter = new MapAdapter();
 */
export class CheckedAdapter<D extends StorageDriver = StorageDriver> implements StorageAdapter {
  readonly name: string;
  /** The driver's own flags (one object: a driver that learns them at connect updates it). */
  readonly capabilities: AdapterCapabilities;
  /** The driver every checked call ends in. */
  protected readonly driver: D;
  #opening: Promise<void> | null = null;
  #connected = false;
  #closed = false;

  constructor(driver: D) {
    this.driver = driver;
    this.name = driver.name;
    this.capabilities = driver.capabilities;
    this.#connected = driver.connect === undefined;
  }

  async connect(): Promise<void> {
    this.#assertOpen();
    if (!this.#connected) await this.#open();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.driver.close();
  }

  async health(): Promise<HealthStatus> {
    if (this.#closed) {
      return { ok: false, latencyMs: 0, message: `${this.driver.storeInfo.adapter} is closed.` };
    }
    const started = performance.now();
    try {
      if (!this.#connected) await this.#open();
      await this.driver.ping();
      return { ok: true, latencyMs: performance.now() - started };
    } catch (err) {
      const mapped = mapStoreError(this.driver, err, "health");
      return {
        ok: false,
        latencyMs: performance.now() - started,
        message: mapped instanceof Error ? mapped.message : String(mapped),
      };
    }
  }

  async now(): Promise<number> {
    this.#assertOpen();
    if (!this.#connected) await this.#open();
    return this.driver.now();
  }

  enqueue(jobs: NewJob[], options?: EnqueueOptions): Promise<EnqueueResult[]> {
    try {
      this.#assertOpen();
      if (!this.capabilities.transactions) {
        refuseTransaction(
          options,
          `The ${this.driver.storeInfo.server} adapter has no transactions: enqueue without \`tx\`, or use a store that supports them (capabilities.transactions).`,
        );
      }
      // The whole batch first, so a bad job cannot leave half of it stored.
      for (const job of jobs) checkNewJob(job);
      if (jobs.length === 0) return Promise.resolve([]);
      if (this.#connected) return this.driver.enqueue(jobs, options);
      return this.#open().then(() => this.driver.enqueue(jobs, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  claim(request: ClaimRequest): Promise<ClaimResult> {
    try {
      this.#assertOpen();
      checkClaim(request);
      if (this.#connected) return this.driver.claim(request);
      return this.#open().then(() => this.driver.claim(request));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  settle(queue: string, settlements: Settlement[]): Promise<SettleOutcome[]> {
    try {
      this.#assertOpen();
      checkString(queue, "queue");
      checkSettlements(settlements);
      if (settlements.length === 0) return Promise.resolve([]);
      if (this.#connected) return this.driver.settle(queue, settlements);
      return this.#open().then(() => this.driver.settle(queue, settlements));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    try {
      this.#assertOpen();
      checkString(queue, "queue");
      checkLeaseMs(leaseMs);
      checkLeases(leases);
      if (leases.length === 0) return Promise.resolve([]);
      if (this.#connected) return this.driver.extendLeases(queue, leases, leaseMs);
      return this.#open().then(() => this.driver.extendLeases(queue, leases, leaseMs));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    try {
      this.#assertOpen();
      checkString(queue, "queue");
      checkString(id, "id");
      checkString(token, "token");
      if (this.#connected) return this.driver.updateProgress(queue, id, token, progress);
      return this.#open().then(() => this.driver.updateProgress(queue, id, token, progress));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async cancel(queue: string, id: string): Promise<JobState | null> {
    await this.#enter(queue, id);
    return this.driver.cancel(queue, id);
  }

  async recoverStalled(request: RecoverRequest): Promise<RecoverResult> {
    this.#assertOpen();
    checkLimit(request.limit, "recoverStalled", 0);
    await this.#enter(request.queue);
    if (request.limit === 0) return { recovered: [], dead: [] };
    return this.driver.recoverStalled(request);
  }

  async getJob(queue: string, id: string): Promise<JobRecord | null> {
    await this.#enter(queue, id);
    return this.driver.getJob(queue, id);
  }

  async listJobs(request: ListJobsRequest): Promise<JobPage> {
    this.#assertOpen();
    checkState(request.state);
    checkLimit(request.limit, "listJobs", 1);
    checkJobFilter(request);
    await this.#enter(request.queue);
    return this.driver.listJobs(request);
  }

  async counts(queue: string): Promise<JobCounts> {
    await this.#enter(queue);
    return this.driver.counts(queue);
  }

  async getSettings(queue: string): Promise<QueueSettings> {
    await this.#enter(queue);
    return this.driver.getSettings(queue);
  }

  async updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    this.#assertOpen();
    checkSettingsPatch(patch);
    await this.#enter(queue);
    return this.driver.updateSettings(queue, patch);
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    await this.#enter(queue, id);
    return this.driver.remove(queue, id);
  }

  async retryJobs(request: RetryRequest): Promise<string[]> {
    this.#assertOpen();
    checkRetryRequest(request);
    await this.#enter(request.queue);
    return this.driver.retryJobs(request);
  }

  async promote(queue: string, id: string): Promise<boolean> {
    await this.#enter(queue, id);
    return this.driver.promote(queue, id);
  }

  async clean(request: CleanRequest): Promise<number> {
    this.#assertOpen();
    checkCleanRequest(request);
    await this.#enter(request.queue);
    if (request.limit === 0) return 0;
    return this.driver.clean(request);
  }

  async deadLetterStats(queue: string): Promise<DeadLetterStats> {
    await this.#enter(queue);
    return this.driver.deadLetterStats(queue);
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    await this.#enter(schedule.queue, schedule.id);
    return this.driver.upsertSchedule(schedule);
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    await this.#enter(queue, id);
    return this.driver.removeSchedule(queue, id);
  }

  async listSchedules(queue: string): Promise<ScheduleRecord[]> {
    await this.#enter(queue);
    return this.driver.listSchedules(queue);
  }

  async advanceSchedule(request: AdvanceScheduleRequest): Promise<boolean> {
    this.#assertOpen();
    const { expectedRunAt, nextRunAt } = request;
    if (
      typeof expectedRunAt !== "number" ||
      !(nextRunAt === null || typeof nextRunAt === "number")
    ) {
      throw invalidArgument("expectedRunAt must be a number, and nextRunAt a number or null.");
    }
    await this.#enter(request.queue, request.id);
    return this.driver.advanceSchedule(request);
  }

  /**
   * {@link StorageAdapter.waitForWork} through the driver's, or, for a driver without one, an
   * abortable sleep (the core polls such a store and never calls it; a direct caller waits).
   * A wait never rejects for the store's sake: after close, on an abort or a spent timeout it
   * resolves at once, and a failed connect still lets the driver wait out its timeout, so a
   * worker's loop neither spins nor dies while the store is away.
   */
  waitForWork(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    try {
      checkString(queue, "queue");
      if (this.#closed || signal.aborted || !(timeoutMs > 0)) return Promise.resolve();
      const driver = this.driver;
      if (driver.waitForWork === undefined) return sleep(timeoutMs, signal);
      if (this.#connected) return driver.waitForWork(queue, timeoutMs, signal);
      const wait = () => this.waitForWork(queue, timeoutMs, signal);
      return this.#open().then(wait, () => driver.waitForWork?.(queue, timeoutMs, signal));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * {@link StorageAdapter.waitForJobs} through the driver's, checked as {@link waitForWork}
   * is; without one, a {@link waitForWork} that hands nothing over. A class whose driver
   * hands jobs over declares `waitForJobs` and calls this: the method stays absent from
   * adapters without handoff, as the contract asks.
   */
  protected handOff(
    request: ClaimRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ClaimedJob[]> {
    try {
      checkClaim(request);
      if (this.#closed || signal.aborted || !(timeoutMs > 0)) return Promise.resolve([]);
      const driver = this.driver;
      if (driver.waitForJobs === undefined) {
        return this.waitForWork(request.queue, timeoutMs, signal).then(() => []);
      }
      if (this.#connected) return driver.waitForJobs(request, timeoutMs, signal);
      const wait = () => this.handOff(request, timeoutMs, signal);
      return this.#open().then(wait, () => driver.waitForJobs?.(request, timeoutMs, signal) ?? []);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Checks the names a call addresses, then waits for the connection if there is none yet. */
  async #enter(queue: string, id?: string): Promise<void> {
    this.#assertOpen();
    checkString(queue, "queue");
    if (id !== undefined) checkString(id, "id");
    if (!this.#connected) await this.#open();
  }

  #open(): Promise<void> {
    this.#opening ??= (this.driver.connect?.() ?? Promise.resolve()).then(
      () => {
        this.#connected = true;
        this.#opening = null;
      },
      (err: unknown) => {
        this.#opening = null;
        throw mapStoreError(this.driver, err, "connect");
      },
    );
    return this.#opening;
  }

  #assertOpen(): void {
    if (this.#closed) {
      const { adapter, afterClose } = this.driver.storeInfo;
      throw new QueueFlowError(
        "QF_CLOSED",
        `This ${adapter} was closed; create a new one (${afterClose}).`,
      );
    }
  }
}
