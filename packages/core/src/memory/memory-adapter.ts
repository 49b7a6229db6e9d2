import {
  checkClaim,
  checkLimit,
  checkNewJob,
  checkSettingsPatch,
  checkState,
  refuseTransaction,
} from "../adapter-input.js";
import type {
  AdapterCapabilities,
  AdvanceScheduleRequest,
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
} from "../contract.js";
import { QueueFlowError } from "../errors.js";
import type { JobRecord, JobState, Json, NewJob } from "../job.js";
import { isTerminal } from "../job.js";
import { checkJobFilter, checkRetryRequest } from "../job-filter.js";
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

const SETTLE_KINDS = new Set(["complete", "retry", "dead", "snooze"]);

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
export class MemoryAdapter implements StorageAdapter {
  readonly name = "memory";
  readonly capabilities: AdapterCapabilities = { wakeUp: true, transactions: false, groups: true };

  private readonly clock: () => number;
  private readonly queues = new Map<string, QueueStore>();
  private readonly schedules = new ScheduleStore();
  private readonly wakeUps = new WakeUpRegistry();
  private readonly tokens = new LeaseTokens();
  private closed = false;

  constructor(options: MemoryAdapterOptions = {}) {
    this.clock = options.now ?? Date.now;
  }

  async connect(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeUps.notifyAll();
    this.queues.clear();
  }

  async health(): Promise<HealthStatus> {
    if (this.closed) return { ok: false, latencyMs: 0, message: "MemoryAdapter is closed." };
    return { ok: true, latencyMs: 0 };
  }

  async now(): Promise<number> {
    this.assertOpen();
    return this.clock();
  }

  async enqueue(jobs: NewJob[], options?: EnqueueOptions): Promise<EnqueueResult[]> {
    this.assertOpen();
    refuseTransaction(
      options,
      "The memory adapter has no transactions: enqueue without `tx`, or use a store that supports them (capabilities.transactions).",
    );
    // Check the whole batch first so a bad job cannot leave half of it stored.
    for (const job of jobs) checkNewJob(job);
    const now = this.clock();
    return jobs.map((job) => this.store(job.queue).enqueue(job, now));
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.assertOpen();
    checkClaim(request);
    return this.store(request.queue).claim(request, this.clock());
  }

  async settle(queue: string, settlements: Settlement[]): Promise<SettleOutcome[]> {
    this.assertOpen();
    for (const s of settlements) {
      if (!SETTLE_KINDS.has(s.kind)) {
        throw new QueueFlowError(
          "QF_INVALID_ARGUMENT",
          `Unknown settlement kind ${JSON.stringify(s.kind)} for job ${s.id}: use complete, retry, dead or snooze.`,
        );
      }
    }
    return this.store(queue).settle(settlements, this.clock());
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    this.assertOpen();
    return this.store(queue).extendLeases(leases, leaseMs, this.clock());
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    this.assertOpen();
    return this.store(queue).updateProgress(id, token, progress, this.clock());
  }

  async cancel(queue: string, id: string): Promise<JobState | null> {
    this.assertOpen();
    return this.store(queue).cancel(id, this.clock());
  }

  async recoverStalled(request: RecoverRequest): Promise<RecoverResult> {
    this.assertOpen();
    checkLimit(request.limit, "recoverStalled", 0);
    return this.store(request.queue).recoverStalled(request.maxStalls, request.limit, this.clock());
  }

  async getJob(queue: string, id: string): Promise<JobRecord | null> {
    this.assertOpen();
    return this.store(queue).getJob(id, this.clock());
  }

  async listJobs(request: ListJobsRequest): Promise<JobPage> {
    this.assertOpen();
    checkState(request.state);
    checkLimit(request.limit, "listJobs", 1);
    checkJobFilter(request);
    return this.store(request.queue).listJobs(request, this.clock());
  }

  async counts(queue: string): Promise<JobCounts> {
    this.assertOpen();
    return this.store(queue).counts(this.clock());
  }

  async getSettings(queue: string): Promise<QueueSettings> {
    this.assertOpen();
    return this.store(queue).getSettings();
  }

  async updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    this.assertOpen();
    checkSettingsPatch(patch);
    return this.store(queue).updateSettings(patch);
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    this.assertOpen();
    return this.store(queue).remove(id, this.clock());
  }

  async retryJobs(request: RetryRequest): Promise<string[]> {
    this.assertOpen();
    checkRetryRequest(request);
    return this.store(request.queue).retryJobs(request, this.clock());
  }

  async promote(queue: string, id: string): Promise<boolean> {
    this.assertOpen();
    return this.store(queue).promote(id, this.clock());
  }

  async clean(request: CleanRequest): Promise<number> {
    this.assertOpen();
    if (!isTerminal(request.state)) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        `clean only removes terminal jobs (completed, dead, cancelled), not ${JSON.stringify(request.state)}.`,
      );
    }
    checkLimit(request.limit, "clean", 0);
    checkJobFilter(request);
    return this.store(request.queue).clean(request, this.clock());
  }

  async deadLetterStats(queue: string): Promise<DeadLetterStats> {
    this.assertOpen();
    return this.store(queue).deadLetterStats(this.clock());
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    this.assertOpen();
    this.schedules.upsert(schedule);
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    this.assertOpen();
    return this.schedules.remove(queue, id);
  }

  async listSchedules(queue: string): Promise<ScheduleRecord[]> {
    this.assertOpen();
    return this.schedules.list(queue);
  }

  async advanceSchedule(request: AdvanceScheduleRequest): Promise<boolean> {
    this.assertOpen();
    return this.schedules.advance(request);
  }

  async waitForWork(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    this.assertOpen();
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

  private assertOpen(): void {
    if (this.closed) {
      throw new QueueFlowError(
        "QF_CLOSED",
        "This MemoryAdapter was closed; create a new one (its jobs were released on close).",
      );
    }
  }
}
