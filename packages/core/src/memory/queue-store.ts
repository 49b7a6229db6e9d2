import type {
  AgeBucket,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  CleanRequest,
  DeadLetterStats,
  EnqueueResult,
  JobCounts,
  JobPage,
  ListJobsRequest,
  QueueSettings,
  RecoverResult,
  RetryRequest,
  Settlement,
  SettleOutcome,
} from "../contract.js";
import { ageBucketIndex, emptyDeadLetterStats } from "../dead-letter-stats.js";
import type { DedupMode, JobRecord, JobState, Json, NewJob } from "../job.js";
import { isTerminal } from "../job.js";
import { latestErrorClass, matchesJobFilter, replacementPayload } from "../job-filter.js";
import type { GroupLimits } from "./group-table.js";
import { JobTable, MAX_PRIORITY, MIN_PRIORITY } from "./job-table.js";
import { cloneAttemptError, cloneJson, cloneJsonObject, isPlainObject } from "./json-clone.js";
import type { LeaseTokens } from "./lease-tokens.js";
import { RateWindow } from "./rate-window.js";
import { decodeCursor, encodeCursor } from "./state-index.js";
import { StoredJob } from "./stored-job.js";

/** Idle groups looked at per recoverStalled call to forget those whose rate window emptied. */
const SWEEP_IDLE_GROUPS = 1000;

/**
 * One queue: its jobs, settings and rate window, and the contract's transitions on them.
 * Each method is one atomic step, since the adapter is single-threaded and none awaits.
 * Each starts by promoting delayed jobs that fell due, so a due job is never observable as
 * delayed and never missed by a claim.
 */
export class QueueStore {
  private readonly table = new JobTable();
  private readonly starts = new RateWindow();
  private settings: QueueSettings = { paused: false, concurrency: null, rateLimit: null };

  /**
   * @param onWork called when the queue may have new claimable work (wakes `waitForWork`).
   */
  constructor(
    private readonly tokens: LeaseTokens,
    private readonly onWork: () => void,
  ) {}

  enqueue(input: NewJob, now: number): EnqueueResult {
    this.sync(now);
    const table = this.table;
    const existing = table.jobs.get(input.id);
    if (existing !== undefined) return { job: existing.toRecord(), created: false };
    const key = input.dedupKey;
    const mode = input.dedupMode ?? "live";
    if (key !== null) {
      const held = this.heldBy(key, mode, input, now);
      if (held !== undefined) return { job: held.toRecord(), created: false };
    }
    const runAt = input.runAt ?? now + Math.max(0, input.delayMs);
    const job = new StoredJob(input, table.nextSeq(), now, runAt);
    table.insert(job);
    if (key !== null && mode === "throttle") {
      table.openThrottle(key, job, now + (input.dedupTtlMs ?? 0), now);
    }
    // A delayed job wakes waiters too: they learn when it falls due (see waitForWork).
    this.onWork();
    return { job: job.toRecord(), created: true };
  }

  /**
   * The job an add with dedup key `key` collapses into, if any (see `DedupMode`). A
   * debounced add updates that job here: new payload, due time pushed to now + its delay.
   */
  private heldBy(key: string, mode: DedupMode, input: NewJob, now: number): StoredJob | undefined {
    const table = this.table;
    const holder = table.dedup.get(key);
    if (mode !== "debounce")
      return holder ?? (mode === "throttle" ? table.throttled(key, now) : undefined);
    if (holder === undefined || (holder.state !== "waiting" && holder.state !== "delayed")) {
      return undefined;
    }
    holder.payload = cloneJson(input.payload);
    const runAt = input.runAt ?? now + Math.max(0, input.delayMs);
    this.reschedule(holder, runAt, now);
    // Its new due time may come before the one waiters sleep until (see waitForWork).
    this.onWork();
    return holder;
  }

  claim(request: ClaimRequest, now: number): ClaimResult {
    this.sync(now);
    const table = this.table;
    const settings = this.settings;
    if (settings.paused) return { jobs: [], nextWakeAt: null };
    let room = request.limit;
    if (settings.concurrency !== null) {
      room = Math.min(room, settings.concurrency - table.indexes.active.live);
    }
    const rateLimit = settings.rateLimit;
    if (rateLimit !== null) room = Math.min(room, this.starts.available(now, rateLimit));

    const range = request.priorityRange;
    const leaseExpiresAt = now + request.leaseMs;
    const claimed: ClaimedJob[] = [];
    const start = (job: StoredJob) => {
      job.attempts++;
      job.startedAt = now;
      job.leaseToken = this.tokens.next();
      job.leaseExpiresAt = leaseExpiresAt;
      job.workerId = request.workerId;
      table.transition(job, "active");
      if (rateLimit !== null) this.starts.record(now);
      claimed.push(job.toRecord() as ClaimedJob);
    };
    if (range !== null) {
      // A priority range orders ungrouped jobs only (see ClaimRequest.priorityRange).
      const lowest = Math.ceil(range.min);
      const highest = Math.floor(range.max);
      while (claimed.length < room) {
        const job = table.takeWaiting(lowest, highest);
        if (job === undefined) break;
        start(job);
      }
    } else {
      const limits = this.groupLimits();
      while (claimed.length < room) {
        const turn = table.groups.nextTurn(now, limits);
        if (turn === undefined) break;
        const job =
          turn === null
            ? table.takeWaiting(MIN_PRIORITY, MAX_PRIORITY)
            : table.groups.takeFrom(turn);
        if (job === undefined) {
          throw new Error(`memory adapter: the turn of ${String(turn)} had no job (a bug)`);
        }
        start(job);
        table.groups.endTurn(turn, now, limits);
      }
    }

    let nextWakeAt: number | null = null;
    if (claimed.length < request.limit) {
      nextWakeAt = earliest(table.nextDueAt(), table.groups.nextFreeAt());
      if (rateLimit !== null) nextWakeAt = earliest(nextWakeAt, this.starts.nextFreeAt(rateLimit));
    }
    return { jobs: claimed, nextWakeAt };
  }

  settle(settlements: readonly Settlement[], now: number): SettleOutcome[] {
    this.sync(now);
    const table = this.table;
    const outcomes: SettleOutcome[] = [];
    let wake = false;
    for (const settlement of settlements) {
      const job = this.ownedJob(settlement.id, settlement.token);
      if (job === undefined) {
        outcomes.push("lease_lost");
        continue;
      }
      job.leaseToken = null;
      job.leaseExpiresAt = null;
      switch (settlement.kind) {
        case "complete":
          job.finishedAt = now;
          table.transition(job, "completed");
          if (settlement.remove === true) table.discard(job);
          else job.result = cloneJson(settlement.result);
          break;
        case "retry":
          job.errors.push(cloneAttemptError(settlement.error));
          this.reschedule(job, now + settlement.delayMs, now);
          break;
        case "dead":
          job.errors.push(cloneAttemptError(settlement.error));
          job.finishedAt = now;
          table.transition(job, "dead");
          break;
        case "snooze":
          // Claiming counted an attempt; a snooze gives it back.
          job.attempts = Math.max(0, job.attempts - 1);
          this.reschedule(job, now + settlement.delayMs, now);
          break;
      }
      // A freed concurrency slot is new work for a capped queue; a retry or snooze due later
      // moves the time a waiter must wake at.
      wake ||= this.capped() || job.state === "waiting" || job.state === "delayed";
      outcomes.push("ok");
    }
    if (wake) this.onWork();
    return outcomes;
  }

  extendLeases(
    leases: readonly { id: string; token: string }[],
    leaseMs: number,
    now: number,
  ): boolean[] {
    this.sync(now);
    const extended: boolean[] = [];
    for (const lease of leases) {
      const job = this.ownedJob(lease.id, lease.token);
      if (job !== undefined) this.table.extendLease(job, now + leaseMs);
      extended.push(job !== undefined);
    }
    return extended;
  }

  updateProgress(id: string, token: string, progress: Json, now: number): boolean {
    this.sync(now);
    const job = this.ownedJob(id, token);
    if (job === undefined) return false;
    job.progress = cloneJson(progress);
    return true;
  }

  cancel(id: string, now: number): JobState | null {
    this.sync(now);
    const job = this.table.jobs.get(id);
    if (job === undefined) return null;
    if (isTerminal(job.state)) return job.state;
    const wasActive = job.state === "active";
    job.leaseToken = null;
    job.leaseExpiresAt = null;
    job.finishedAt = now;
    this.table.transition(job, "cancelled");
    if (wasActive && this.capped()) this.onWork();
    return "cancelled";
  }

  recoverStalled(maxStalls: number, limit: number, now: number): RecoverResult {
    this.sync(now);
    const table = this.table;
    const recovered: string[] = [];
    const dead: string[] = [];
    while (recovered.length + dead.length < limit) {
      const job = table.takeExpiredLease(now);
      if (job === undefined) break;
      job.stalls++;
      job.leaseToken = null;
      job.leaseExpiresAt = null;
      if (job.stalls > maxStalls) {
        job.errors.push({
          attempt: job.attempts,
          name: "StalledError",
          message: `lease expired ${job.stalls} times; worker probably crashed or blocked the event loop`,
          at: now,
          errorClass: "stalled",
        });
        job.finishedAt = now;
        table.transition(job, "dead");
        dead.push(job.id);
      } else {
        // runAt is kept, so the job goes back to its old place in line.
        table.transition(job, "waiting");
        recovered.push(job.id);
      }
    }
    if (recovered.length > 0 || (dead.length > 0 && this.capped())) {
      this.onWork();
    }
    table.groups.sweepIdle(now, this.groupLimits().rateLimit, SWEEP_IDLE_GROUPS);
    return { recovered, dead };
  }

  getJob(id: string, now: number): JobRecord | null {
    this.sync(now);
    return this.table.jobs.get(id)?.toRecord() ?? null;
  }

  listJobs(request: ListJobsRequest, now: number): JobPage {
    this.sync(now);
    const after = request.cursor == null ? 0 : decodeCursor(request.cursor);
    const page = this.table.indexes[request.state].page(after, request.limit, request);
    const jobs: JobRecord[] = [];
    for (const job of page.jobs) jobs.push(job.toRecord());
    return { jobs, nextCursor: page.hasMore ? encodeCursor(page.lastSeq) : null };
  }

  counts(now: number): JobCounts {
    this.sync(now);
    return this.table.counts();
  }

  getSettings(): QueueSettings {
    return copySettings(this.settings);
  }

  updateSettings(patch: Partial<QueueSettings>): QueueSettings {
    const next = copySettings(this.settings);
    if (patch.paused !== undefined) next.paused = patch.paused;
    if (patch.concurrency !== undefined) next.concurrency = patch.concurrency;
    if (patch.rateLimit !== undefined) {
      next.rateLimit = patch.rateLimit === null ? null : { ...patch.rateLimit };
    }
    if (patch.groupConcurrency !== undefined) next.groupConcurrency = patch.groupConcurrency;
    if (patch.groupRateLimit !== undefined) {
      next.groupRateLimit = patch.groupRateLimit === null ? null : { ...patch.groupRateLimit };
    }
    if (next.rateLimit === null) this.starts.clear();
    this.settings = next;
    this.table.groups.limitsChanged();
    // A resume, a higher cap or a looser limit may each make waiting jobs claimable.
    if (!next.paused) this.onWork();
    return copySettings(next);
  }

  remove(id: string, now: number): "removed" | "active" | "not_found" {
    this.sync(now);
    const job = this.table.jobs.get(id);
    if (job === undefined) return "not_found";
    if (job.state === "active") return "active";
    this.table.discard(job);
    return "removed";
  }

  retryJobs(request: RetryRequest, now: number): string[] {
    this.sync(now);
    const table = this.table;
    const patch = request.payloadPatch;
    const moved: string[] = [];
    for (const id of request.ids) {
      const job = table.jobs.get(id);
      if (job === undefined || (job.state !== "dead" && job.state !== "cancelled")) continue;
      if (request.asOf !== undefined && !((job.finishedAt as number) <= request.asOf)) continue;
      // The job is terminal, so whoever holds its key now is another, live job.
      const key = job.dedupKey;
      if (key !== null && table.dedup.has(key)) continue;
      const replacement = replacementPayload(request, id);
      if (replacement !== undefined) {
        job.payload = cloneJson(replacement);
      } else if (patch !== null) {
        if (!isPlainObject(job.payload)) continue;
        job.payload = { ...job.payload, ...cloneJsonObject(patch) };
      }
      if (request.maxAttempts !== undefined) job.maxAttempts = request.maxAttempts;
      job.attempts = 0;
      job.stalls = 0;
      job.finishedAt = null;
      job.result = null;
      job.leaseToken = null;
      job.leaseExpiresAt = null;
      // Due now: a replay joins the line behind jobs already due, not at its old place.
      job.runAt = now;
      table.transition(job, "waiting");
      if (key !== null) table.dedup.set(key, job);
      moved.push(id);
    }
    if (moved.length > 0) this.onWork();
    return moved;
  }

  promote(id: string, now: number): boolean {
    this.sync(now);
    const job = this.table.jobs.get(id);
    if (job === undefined || job.state !== "delayed") return false;
    job.runAt = now;
    this.table.transition(job, "waiting");
    this.onWork();
    return true;
  }

  /**
   * Remove up to `limit` jobs matching `request` that finished before `finishedBefore`. A
   * terminal job's finishedAt is when it entered the state, so the state's index is in
   * finishedAt order and the walk stops at the first job too young: O(jobs older than the
   * bound that the filter passes over + removed).
   */
  clean(request: CleanRequest, now: number): number {
    this.sync(now);
    const doomed: StoredJob[] = [];
    this.table.indexes[request.state].walk((job) => {
      if (doomed.length >= request.limit) return false;
      if (job.finishedAt === null || !(job.finishedAt < request.finishedBefore)) return false;
      if (matchesJobFilter(job, request)) doomed.push(job);
      return true;
    });
    for (const job of doomed) this.table.discard(job);
    return doomed.length;
  }

  deadLetterStats(now: number): DeadLetterStats {
    this.sync(now);
    const stats = emptyDeadLetterStats();
    const count = (tally: Record<string, number>, key: string) => {
      tally[key] = (tally[key] ?? 0) + 1;
    };
    this.table.indexes.dead.walk((job) => {
      stats.total++;
      count(stats.byName, job.name);
      const errorName = job.lastErrorName();
      if (errorName !== null) count(stats.byError, errorName);
      count(stats.byErrorClass, latestErrorClass(job.errors) ?? "unknown");
      const at = job.finishedAt as number;
      // The index is in finishedAt order: the first job is the oldest, the last the newest.
      stats.oldestFinishedAt ??= at;
      stats.newestFinishedAt = at;
      (stats.byAge[ageBucketIndex(now - at)] as AgeBucket).count++;
      return true;
    });
    return stats;
  }

  /** When the next delayed job falls due (store clock), or null when none is delayed. */
  nextDueAt(now: number): number | null {
    this.sync(now);
    return this.table.nextDueAt();
  }

  /** Whether a claim at `now` would lease at least one job (ignoring priority ranges). */
  hasClaimableWork(now: number): boolean {
    this.sync(now);
    const { paused, concurrency, rateLimit } = this.settings;
    const indexes = this.table.indexes;
    if (paused || indexes.waiting.live === 0) return false;
    if (concurrency !== null && indexes.active.live >= concurrency) return false;
    if (rateLimit !== null && this.starts.available(now, rateLimit) === 0) return false;
    return this.table.groups.hasTurn(now, this.groupLimits());
  }

  /** Whether a job leaving active frees a slot someone may wait for. */
  private capped(): boolean {
    const { concurrency, groupConcurrency } = this.settings;
    return concurrency !== null || (groupConcurrency ?? null) !== null;
  }

  private groupLimits(): GroupLimits {
    return {
      concurrency: this.settings.groupConcurrency ?? null,
      rateLimit: this.settings.groupRateLimit ?? null,
    };
  }

  private sync(now: number): void {
    if (this.table.promoteDue(now)) this.onWork();
  }

  /** The active job `id` if `token` is its current lease, else undefined (fencing). */
  private ownedJob(id: string, token: string): StoredJob | undefined {
    const job = this.table.jobs.get(id);
    if (job === undefined || job.state !== "active" || job.leaseToken !== token) return undefined;
    return job;
  }

  private reschedule(job: StoredJob, runAt: number, now: number): void {
    const due = !(runAt > now);
    job.runAt = due ? now : runAt;
    this.table.transition(job, due ? "waiting" : "delayed");
  }
}

/** A copy; group fields appear only when set, as the contract reads absent as null. */
function copySettings(settings: QueueSettings): QueueSettings {
  const copy: QueueSettings = {
    paused: settings.paused,
    concurrency: settings.concurrency,
    rateLimit: settings.rateLimit === null ? null : { ...settings.rateLimit },
  };
  const { groupConcurrency, groupRateLimit } = settings;
  if (groupConcurrency !== undefined && groupConcurrency !== null) {
    copy.groupConcurrency = groupConcurrency;
  }
  if (groupRateLimit !== undefined && groupRateLimit !== null) {
    copy.groupRateLimit = { ...groupRateLimit };
  }
  return copy;
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null || a <= b ? a : b;
}
