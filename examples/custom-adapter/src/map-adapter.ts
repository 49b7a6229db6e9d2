import { randomUUID } from "node:crypto";
import {
  type AdvanceScheduleRequest,
  type AgeBucket,
  ageBucketIndex,
  CheckedAdapter,
  type ClaimedJob,
  type ClaimRequest,
  type ClaimResult,
  type CleanRequest,
  type DeadLetterStats,
  type EnqueueResult,
  emptyDeadLetterStats,
  isTerminal,
  type JobCounts,
  type JobPage,
  type JobRecord,
  type JobState,
  type Json,
  type ListJobsRequest,
  latestErrorClass,
  matchesJobFilter,
  type NewJob,
  type QueueSettings,
  type RecoverRequest,
  type RecoverResult,
  type RetryRequest,
  replacementPayload,
  type ScheduleRecord,
  type Settlement,
  type SettleOutcome,
  type StorageDriver,
  type StoreInfo,
} from "@queueflow/core/adapter";

/** A job as this store keeps it: the record, plus the two orders the contract asks for. */
interface Row {
  record: JobRecord;
  /** Insertion order in the queue: the last tie-breaker of claim order. */
  seq: number;
  /** When the job entered its current state: the order (and cursor) of `listJobs`. */
  stateSeq: number;
}

/** One queue: its jobs, the dedup keys its live jobs hold, its settings, its recent starts. */
interface QueueData {
  rows: Map<string, Row>;
  dedup: Map<string, string>;
  settings: QueueSettings;
  /** Claim times inside the rate-limit window, oldest first. */
  starts: number[];
}

/** How the errors core words for this store name it. */
const STORE: StoreInfo = {
  adapter: "MapAdapter",
  server: "map",
  settings: "nothing: it keeps jobs in this process",
  afterClose: "its jobs were released on close",
};

/**
 * The store behind {@link MapAdapter}: every queue in Maps in this process, the shape of a
 * real driver without a server to run. Each method is one atomic step because none awaits
 * between reading and writing, the guarantee a real store gives with a transaction, a Lua
 * script or a conditional update. Scans are linear: fine for a guide, not for a million jobs.
 *
 * Core's checked edge (`CheckedAdapter`) calls it only with checked input, only while open:
 * no method here validates a request or tracks the closed state. A driver that talks to a
 * server also implements `connect`, and maps each store call's failure with
 * `mapStoreError(this, err, what)`, with `isUnavailable` saying which errors mean "cannot be
 * reached".
 */
class MapDriver implements StorageDriver {
  readonly name = "map";
  readonly storeInfo = STORE;
  readonly capabilities = { wakeUp: false, transactions: false };

  private readonly queues = new Map<string, QueueData>();
  private readonly schedules = new Map<string, Map<string, ScheduleRecord>>();
  private seq = 0;

  isUnavailable(): boolean {
    return false;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.queues.clear();
  }

  async now(): Promise<number> {
    return Date.now();
  }

  async enqueue(jobs: NewJob[]): Promise<EnqueueResult[]> {
    const now = Date.now();
    return jobs.map((job) => {
      const q = this.queue(job.queue, now);
      const existing = q.rows.get(job.id) ?? this.dedupHolder(q, job.dedupKey);
      if (existing !== undefined) return { job: copy(existing), created: false };
      const runAt = job.runAt ?? now + Math.max(0, job.delayMs);
      const row: Row = {
        record: {
          id: job.id,
          queue: job.queue,
          name: job.name,
          payload: structuredClone(job.payload),
          state: runAt > now ? "delayed" : "waiting",
          priority: job.priority,
          attempts: 0,
          maxAttempts: job.maxAttempts,
          backoff: structuredClone(job.backoff),
          timeoutMs: job.timeoutMs,
          dedupKey: job.dedupKey,
          metadata: structuredClone(job.metadata),
          createdAt: now,
          runAt,
          startedAt: null,
          finishedAt: null,
          leaseToken: null,
          leaseExpiresAt: null,
          workerId: null,
          progress: null,
          result: null,
          errors: [],
          stalls: 0,
        },
        seq: ++this.seq,
        stateSeq: ++this.seq,
      };
      q.rows.set(job.id, row);
      if (job.dedupKey !== null) q.dedup.set(job.dedupKey, job.id);
      return { job: copy(row), created: true };
    });
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const now = Date.now();
    const q = this.queue(request.queue, now);
    const { paused, concurrency, rateLimit } = q.settings;
    if (paused) return { jobs: [], nextWakeAt: null };
    let room = request.limit;
    if (concurrency !== null) room = Math.min(room, concurrency - this.inState(q, "active").length);
    if (rateLimit !== null) {
      // A start at exactly now - windowMs has left the window (now - windowMs, now].
      q.starts = q.starts.filter((at) => at > now - rateLimit.windowMs);
      room = Math.min(room, rateLimit.max - q.starts.length);
    }
    const range = request.priorityRange;
    const due = this.inState(q, "waiting")
      .filter(
        ({ record: r }) => range === null || (r.priority >= range.min && r.priority <= range.max),
      )
      .sort(claimOrder);
    const jobs: ClaimedJob[] = [];
    for (const row of due.slice(0, Math.max(0, room))) {
      const r = row.record;
      r.attempts++;
      r.startedAt = now;
      r.leaseToken = randomUUID();
      r.leaseExpiresAt = now + request.leaseMs;
      r.workerId = request.workerId;
      this.move(row, "active");
      if (rateLimit !== null) q.starts.push(now);
      jobs.push(copy(row) as ClaimedJob);
    }
    let nextWakeAt: number | null = null;
    if (jobs.length < request.limit) {
      for (const { record } of this.inState(q, "delayed")) {
        nextWakeAt = Math.min(nextWakeAt ?? record.runAt, record.runAt);
      }
      if (rateLimit !== null && q.starts.length >= rateLimit.max) {
        // The window admits a start again when the start that filled it leaves.
        const freeAt = (q.starts[q.starts.length - rateLimit.max] as number) + rateLimit.windowMs;
        nextWakeAt = Math.min(nextWakeAt ?? freeAt, freeAt);
      }
    }
    return { jobs, nextWakeAt };
  }

  async settle(queue: string, settlements: Settlement[]): Promise<SettleOutcome[]> {
    const now = Date.now();
    const q = this.queue(queue, now);
    return settlements.map((s) => {
      const row = this.owned(q, s.id, s.token);
      if (row === undefined) return "lease_lost";
      const r = row.record;
      r.leaseToken = null;
      r.leaseExpiresAt = null;
      switch (s.kind) {
        case "complete":
          r.result = structuredClone(s.result);
          this.finish(q, row, "completed", now);
          if (s.remove === true) q.rows.delete(r.id);
          break;
        case "retry":
          r.errors.push(structuredClone(s.error));
          this.reschedule(row, now + s.delayMs, now);
          break;
        case "dead":
          r.errors.push(structuredClone(s.error));
          this.finish(q, row, "dead", now);
          break;
        case "snooze":
          // The claim counted an attempt; a snooze gives it back.
          r.attempts = Math.max(0, r.attempts - 1);
          this.reschedule(row, now + s.delayMs, now);
          break;
      }
      return "ok";
    });
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    const now = Date.now();
    const q = this.queue(queue, now);
    return leases.map(({ id, token }) => {
      const row = this.owned(q, id, token);
      if (row !== undefined) row.record.leaseExpiresAt = now + leaseMs;
      return row !== undefined;
    });
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    const row = this.owned(this.queue(queue, Date.now()), id, token);
    if (row !== undefined) row.record.progress = structuredClone(progress);
    return row !== undefined;
  }

  async cancel(queue: string, id: string): Promise<JobState | null> {
    const now = Date.now();
    const q = this.queue(queue, now);
    const row = q.rows.get(id);
    if (row === undefined) return null;
    if (isTerminal(row.record.state)) return row.record.state;
    // Voiding the lease is what refuses the running worker's settle.
    row.record.leaseToken = null;
    row.record.leaseExpiresAt = null;
    this.finish(q, row, "cancelled", now);
    return "cancelled";
  }

  async recoverStalled(request: RecoverRequest): Promise<RecoverResult> {
    const now = Date.now();
    const q = this.queue(request.queue, now);
    const expired = this.inState(q, "active")
      .filter(({ record }) => (record.leaseExpiresAt as number) < now)
      .sort((a, b) => (a.record.leaseExpiresAt as number) - (b.record.leaseExpiresAt as number))
      .slice(0, request.limit);
    const result: RecoverResult = { recovered: [], dead: [] };
    for (const row of expired) {
      const r = row.record;
      r.stalls++;
      r.leaseToken = null;
      r.leaseExpiresAt = null;
      if (r.stalls > request.maxStalls) {
        r.errors.push({
          attempt: r.attempts,
          name: "StalledError",
          message: `lease expired ${r.stalls} times; the worker crashed or blocked its event loop`,
          at: now,
          errorClass: "stalled",
        });
        this.finish(q, row, "dead", now);
        result.dead.push(r.id);
      } else {
        // runAt is kept, so the job goes back to its old place in line.
        this.move(row, "waiting");
        result.recovered.push(r.id);
      }
    }
    return result;
  }

  async getJob(queue: string, id: string): Promise<JobRecord | null> {
    const row = this.queue(queue, Date.now()).rows.get(id);
    return row === undefined ? null : copy(row);
  }

  async listJobs(request: ListJobsRequest): Promise<JobPage> {
    const q = this.queue(request.queue, Date.now());
    const after = request.cursor == null ? 0 : Number(request.cursor);
    const matching = this.inState(q, request.state)
      .filter((row) => row.stateSeq > after && matchesJobFilter(row.record, request))
      .sort((a, b) => a.stateSeq - b.stateSeq);
    const page = matching.slice(0, request.limit);
    const last = page[page.length - 1];
    return {
      jobs: page.map(copy),
      nextCursor: matching.length > page.length && last ? String(last.stateSeq) : null,
    };
  }

  async counts(queue: string): Promise<JobCounts> {
    const counts: JobCounts = {
      waiting: 0,
      delayed: 0,
      active: 0,
      completed: 0,
      dead: 0,
      cancelled: 0,
    };
    for (const { record } of this.queue(queue, Date.now()).rows.values()) counts[record.state]++;
    return counts;
  }

  async getSettings(queue: string): Promise<QueueSettings> {
    return structuredClone(this.queue(queue, Date.now()).settings);
  }

  async updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    const q = this.queue(queue, Date.now());
    const { paused, concurrency, rateLimit } = { ...q.settings, ...patch };
    q.settings = structuredClone({ paused, concurrency, rateLimit });
    // Starts are counted only under a limit; a new limit counts from now.
    if (rateLimit === null) q.starts = [];
    return structuredClone(q.settings);
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    const q = this.queue(queue, Date.now());
    const row = q.rows.get(id);
    if (row === undefined) return "not_found";
    if (row.record.state === "active") return "active";
    this.release(q, row);
    q.rows.delete(id);
    return "removed";
  }

  async retryJobs(request: RetryRequest): Promise<string[]> {
    const now = Date.now();
    const q = this.queue(request.queue, now);
    const moved: string[] = [];
    for (const id of request.ids) {
      const row = q.rows.get(id);
      const r = row?.record;
      if (row === undefined || r === undefined) continue;
      if (r.state !== "dead" && r.state !== "cancelled") continue;
      if (request.asOf !== undefined && !((r.finishedAt as number) <= request.asOf)) continue;
      // A finished job holds no key, so a holder now is another, live job.
      if (r.dedupKey !== null && q.dedup.has(r.dedupKey)) continue;
      const replacement = replacementPayload(request, id);
      if (replacement !== undefined) {
        r.payload = structuredClone(replacement);
      } else if (request.payloadPatch !== null) {
        if (!isObject(r.payload)) continue;
        r.payload = { ...r.payload, ...structuredClone(request.payloadPatch) };
      }
      if (request.maxAttempts !== undefined) r.maxAttempts = request.maxAttempts;
      Object.assign(r, { attempts: 0, stalls: 0, finishedAt: null, result: null, runAt: now });
      this.move(row, "waiting");
      if (r.dedupKey !== null) q.dedup.set(r.dedupKey, id);
      moved.push(id);
    }
    return moved;
  }

  async promote(queue: string, id: string): Promise<boolean> {
    const now = Date.now();
    const row = this.queue(queue, now).rows.get(id);
    if (row === undefined || row.record.state !== "delayed") return false;
    row.record.runAt = now;
    this.move(row, "waiting");
    return true;
  }

  async clean(request: CleanRequest): Promise<number> {
    const q = this.queue(request.queue, Date.now());
    const doomed = this.inState(q, request.state)
      .filter(({ record }) => (record.finishedAt as number) < request.finishedBefore)
      .filter(({ record }) => matchesJobFilter(record, request))
      .sort((a, b) => a.stateSeq - b.stateSeq)
      .slice(0, request.limit);
    for (const row of doomed) q.rows.delete(row.record.id);
    return doomed.length;
  }

  async deadLetterStats(queue: string): Promise<DeadLetterStats> {
    const now = Date.now();
    const stats = emptyDeadLetterStats();
    const tally = (counts: Record<string, number>, key: string) => {
      counts[key] = (counts[key] ?? 0) + 1;
    };
    const dead = this.inState(this.queue(queue, now), "dead").sort(
      (a, b) => a.stateSeq - b.stateSeq,
    );
    for (const { record } of dead) {
      const at = record.finishedAt as number;
      stats.total++;
      tally(stats.byName, record.name);
      const last = record.errors[record.errors.length - 1];
      if (last !== undefined) tally(stats.byError, last.name);
      tally(stats.byErrorClass, latestErrorClass(record.errors) ?? "unknown");
      stats.oldestFinishedAt ??= at;
      stats.newestFinishedAt = at;
      (stats.byAge[ageBucketIndex(now - at)] as AgeBucket).count++;
    }
    return stats;
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    let byId = this.schedules.get(schedule.queue);
    if (byId === undefined) {
      byId = new Map();
      this.schedules.set(schedule.queue, byId);
    }
    byId.set(schedule.id, structuredClone(schedule));
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    return this.schedules.get(queue)?.delete(id) ?? false;
  }

  async listSchedules(queue: string): Promise<ScheduleRecord[]> {
    return [...(this.schedules.get(queue)?.values() ?? [])].map((s) => structuredClone(s));
  }

  async advanceSchedule(request: AdvanceScheduleRequest): Promise<boolean> {
    // Compare-and-set: of the schedulers that fired one run, only the first advances it.
    const schedule = this.schedules.get(request.queue)?.get(request.id);
    if (schedule === undefined || schedule.nextRunAt !== request.expectedRunAt) return false;
    schedule.nextRunAt = request.nextRunAt;
    return true;
  }

  /**
   * The queue's data, with delayed jobs that fell due made waiting first: every method goes
   * through here, so a due job is never seen as delayed, nor missed by a claim.
   */
  private queue(name: string, now: number): QueueData {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = {
        rows: new Map(),
        dedup: new Map(),
        settings: { paused: false, concurrency: null, rateLimit: null },
        starts: [],
      };
      this.queues.set(name, q);
    }
    const due = this.inState(q, "delayed")
      .filter(({ record }) => record.runAt <= now)
      .sort(claimOrder);
    for (const row of due) this.move(row, "waiting");
    return q;
  }

  private inState(q: QueueData, state: JobState): Row[] {
    return [...q.rows.values()].filter((row) => row.record.state === state);
  }

  private dedupHolder(q: QueueData, key: string | null): Row | undefined {
    const id = key === null ? undefined : q.dedup.get(key);
    return id === undefined ? undefined : q.rows.get(id);
  }

  /** The active job `id` if `token` is its current lease: the fence on every settle. */
  private owned(q: QueueData, id: string, token: string): Row | undefined {
    const row = q.rows.get(id);
    const r = row?.record;
    return r?.state === "active" && r.leaseToken === token ? row : undefined;
  }

  private move(row: Row, state: JobState): void {
    row.record.state = state;
    row.stateSeq = ++this.seq;
  }

  private reschedule(row: Row, runAt: number, now: number): void {
    const due = !(runAt > now);
    row.record.runAt = due ? now : runAt;
    this.move(row, due ? "waiting" : "delayed");
  }

  private finish(q: QueueData, row: Row, state: "completed" | "dead" | "cancelled", now: number) {
    row.record.finishedAt = now;
    this.move(row, state);
    this.release(q, row);
  }

  /** Frees the job's dedup key, which only an unfinished job may hold. */
  private release(q: QueueData, row: Row): void {
    const key = row.record.dedupKey;
    if (key !== null && q.dedup.get(key) === row.record.id) q.dedup.delete(key);
  }
}

/**
 * A StorageAdapter that keeps every queue in this process's memory: {@link MapDriver} behind
 * core's checked edge, which adds the input guards, the closed state and `health()`.
 */
export class MapAdapter extends CheckedAdapter<MapDriver> {
  constructor() {
    super(new MapDriver());
  }
}

/** Contract order: priority high to low, then due time, then insertion. */
function claimOrder(a: Row, b: Row): number {
  return b.record.priority - a.record.priority || a.record.runAt - b.record.runAt || a.seq - b.seq;
}

/** A record the caller owns: changing it changes nothing stored. */
function copy(row: Row): JobRecord {
  return structuredClone(row.record);
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
