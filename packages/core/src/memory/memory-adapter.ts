import { CheckedAdapter } from "../checked-adapter.js";
import type {
  AdapterCapabilities,
  AdvanceScheduleRequest,
  ClaimRequest,
  ClaimResult,
  CleanRequest,
  DeadLetterStats,
  EnqueueResult,
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
} from "../contract.js";
import type { StorageDriver, StoreInfo } from "../driver.js";
import type { JobRecord, JobState, Json, NewJob } from "../job.js";
import { LeaseTokens } from "./lease-tokens.js";
import { QueueStore } from "./queue-store.js";
import { ScheduleStore } from "./schedule-store.js";
import { WakeUpRegistry } from "./wake-up.js";

/** Options of {@link MemoryAdapter}. */
export interface MemoryAdapterOptions {
  /**
   * The store's clock, ms since the epoch. Default `Date.now`. Inject a fake clock in
   * tests to make delays, leases and rate windows pass without sleeping.
   */
  now?: () => number;
}

const STORE: StoreInfo = {
  adapter: "MemoryAdapter",
  server: "memory",
  settings: "nothing: it keeps jobs in this process",
  afterClose: "its jobs were released on close",
};

/** The memory store behind {@link MemoryAdapter}; the checked edge validates its input. */
class MemoryDriver implements StorageDriver {
  readonly name = "memory";
  readonly storeInfo = STORE;
  readonly capabilities: AdapterCapabilities = { wakeUp: true, transactions: false, groups: true };

  private readonly clock: () => number;
  private readonly queues = new Map<string, QueueStore>();
  private readonly schedules = new ScheduleStore();
  private readonly wakeUps = new WakeUpRegistry();
  private readonly tokens = new LeaseTokens();

  constructor(options: MemoryAdapterOptions) {
    this.clock = options.now ?? Date.now;
  }

  isUnavailable(): boolean {
    return false;
  }

  async close(): Promise<void> {
    this.wakeUps.notifyAll();
    this.queues.clear();
  }

  async ping(): Promise<void> {}

  async now(): Promise<number> {
    return this.clock();
  }

  async enqueue(jobs: NewJob[]): Promise<EnqueueResult[]> {
    const now = this.clock();
    return jobs.map((job) => this.store(job.queue).enqueue(job, now));
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.store(request.queue).claim(request, this.clock());
  }

  async settle(queue: string, settlements: Settlement[]): Promise<SettleOutcome[]> {
    return this.store(queue).settle(settlements, this.clock());
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    return this.store(queue).extendLeases(leases, leaseMs, this.clock());
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    return this.store(queue).updateProgress(id, token, progress, this.clock());
  }

  async cancel(queue: string, id: string): Promise<JobState | null> {
    return this.store(queue).cancel(id, this.clock());
  }

  async recoverStalled(request: RecoverRequest): Promise<RecoverResult> {
    return this.store(request.queue).recoverStalled(request.maxStalls, request.limit, this.clock());
  }

  async getJob(queue: string, id: string): Promise<JobRecord | null> {
    return this.store(queue).getJob(id, this.clock());
  }

  async listJobs(request: ListJobsRequest): Promise<JobPage> {
    return this.store(request.queue).listJobs(request, this.clock());
  }

  async counts(queue: string): Promise<JobCounts> {
    return this.store(queue).counts(this.clock());
  }

  async getSettings(queue: string): Promise<QueueSettings> {
    return this.store(queue).getSettings();
  }

  async updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    return this.store(queue).updateSettings(patch);
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    return this.store(queue).remove(id, this.clock());
  }

  async retryJobs(request: RetryRequest): Promise<string[]> {
    return this.store(request.queue).retryJobs(request, this.clock());
  }

  async promote(queue: string, id: string): Promise<boolean> {
    return this.store(queue).promote(id, this.clock());
  }

  async clean(request: CleanRequest): Promise<number> {
    return this.store(request.queue).clean(request, this.clock());
  }

  async deadLetterStats(queue: string): Promise<DeadLetterStats> {
    return this.store(queue).deadLetterStats(this.clock());
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    this.schedules.upsert(schedule);
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    return this.schedules.remove(queue, id);
  }

  async listSchedules(queue: string): Promise<ScheduleRecord[]> {
    return this.schedules.list(queue);
  }

  async advanceSchedule(request: AdvanceScheduleRequest): Promise<boolean> {
    return this.schedules.advance(request);
  }

  async waitForWork(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    // Work that arrived between the caller's empty claim and this call would otherwise
    // wait out the whole timeout: nothing notifies twice.
    const store = this.store(queue);
    const now = this.clock();
    if (store.hasClaimableWork(now)) return;
    // Nothing notifies when a delayed job falls due: end the wait then (a retry's backoff
    // waited out the caller's whole poll interval before).
    const dueAt = store.nextDueAt(now);
    const untilDue = dueAt === null ? timeoutMs : Math.max(1, dueAt - now);
    return this.wakeUps.wait(queue, Math.min(timeoutMs, untilDue), signal);
  }

  private store(queue: string): QueueStore {
    let store = this.queues.get(queue);
    if (store === undefined) {
      store = new QueueStore(this.tokens, () => this.wakeUps.notify(queue));
      this.queues.set(queue, store);
    }
    return store;
  }
}

/**
 * A {@link StorageAdapter} that keeps every queue in this process's memory: the default
 * adapter, and the one to test against. Jobs do not survive a restart and are not shared
 * between processes; everything else (ordering, leases and fencing, dedup, limits, wake-up)
 * behaves as in the durable adapters, and it passes the same conformance suite.
 *
 * Claims, settles and recovery are O(log n) in queue size; records handed out are copies.
 *
 * @throws QueueFlowError `QF_CLOSED` from every method but `close` and `health` after
 * `close()`; `QF_NOT_SUPPORTED` from `enqueue` given a transaction; `QF_INVALID_ARGUMENT`
 * for input that would corrupt its indexes (a priority outside 0–20, a NaN time).
 *
 * @example
 * const adapter = new MemoryAdapter();
 * await adapter.connect();
 * await adapter.enqueue([job]);
 * const { jobs } = await adapter.claim({
 *   queue: "emails", workerId: "w1", limit: 10, leaseMs: 30_000, priorityRange: null,
 * });
 */
export class MemoryAdapter extends CheckedAdapter<MemoryDriver> {
  constructor(options: MemoryAdapterOptions = {}) {
    super(new MemoryDriver(options));
  }
}
