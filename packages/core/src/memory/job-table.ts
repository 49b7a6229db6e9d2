import type { JobCounts } from "../contract.js";
import type { JobState } from "../job.js";
import { isTerminal } from "../job.js";
import { GroupTable } from "./group-table.js";
import { EntryHeap, EntryQueue } from "./heap-entry.js";
import { StateIndex } from "./state-index.js";
import type { StoredJob } from "./stored-job.js";

/** Priorities are integers 0–20 (DESIGN.md, invariant 3): one waiting heap per level. */
export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 20;

/**
 * One queue's jobs and every index over them, kept in step by `insert`, `transition` and
 * `discard`, the only ways a job's state changes.
 *
 * - `jobs`: id → job. `dedup`: dedup key → the non-terminal job holding it.
 * - `waiting[p]`: due jobs of priority p by (runAt, seq). Taking from the highest non-empty
 *   level in range gives contract order by construction, and priority ranges stay O(log n).
 * - `delayed`: by (runAt, seq); due entries move to waiting in `promoteDue`.
 * - `leases`: active jobs by (leaseExpiresAt, seq), for recovery without a scan.
 * - `indexes[state]`: entry order per state, for listing, exact counts and `clean`.
 * Heaps and indexes delete lazily (see `StoredJob.stamp` and `StoredJob.stateSeq`).
 */
export class JobTable {
  readonly jobs = new Map<string, StoredJob>();
  readonly dedup = new Map<string, StoredJob>();
  /** Throttle windows by dedup key (see `DedupMode`). */
  private readonly throttles = new Map<string, { job: StoredJob; until: number }>();
  readonly indexes: Readonly<Record<JobState, StateIndex>> = {
    waiting: new StateIndex(),
    delayed: new StateIndex(),
    active: new StateIndex(),
    completed: new StateIndex(),
    dead: new StateIndex(),
    cancelled: new StateIndex(),
  };
  /** Grouped waiting jobs wait here, in per-group lines, not in `waiting`. */
  readonly groups = new GroupTable(() => this.ungroupedWaiting);
  private readonly waiting: EntryQueue[] = [];
  /** Live entries per waiting heap; a heap's size includes stale entries. */
  private readonly waitingLive: number[] = [];
  private readonly delayed = new EntryHeap();
  private readonly leases = new EntryHeap();
  private seq = 0;
  private stateSeq = 0;
  private ungroupedWaiting = 0;

  constructor() {
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) {
      this.waiting.push(new EntryQueue());
      this.waitingLive.push(0);
    }
  }

  /**
   * The job that opened a throttle window for `key`, while the window lasts and the job
   * still exists.
   */
  throttled(key: string, now: number): StoredJob | undefined {
    const window = this.throttles.get(key);
    if (window === undefined) return undefined;
    if (window.until > now && this.jobs.get(window.job.id) === window.job) return window.job;
    this.throttles.delete(key);
    return undefined;
  }

  /** Open a throttle window for `key` until `until`, held by `job`. */
  openThrottle(key: string, job: StoredJob, until: number, now: number): void {
    this.throttles.delete(key);
    this.throttles.set(key, { job, until });
    // Windows are kept in insertion order; expire a few from the front on each open, so
    // keys never added again do not accumulate.
    let checked = 0;
    for (const [oldKey, window] of this.throttles) {
      if (++checked > 8 || window.until > now) break;
      this.throttles.delete(oldKey);
    }
  }

  /** The next insertion sequence number, for a job about to be inserted. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** Add a new job in the state its constructor chose. */
  insert(job: StoredJob): void {
    this.jobs.set(job.id, job);
    if (job.dedupKey !== null) this.dedup.set(job.dedupKey, job);
    job.stateSeq = ++this.stateSeq;
    this.indexes[job.state].append(job);
    this.enterHeap(job);
  }

  /**
   * Move a job to another state. Set the fields the new state's heap keys on (runAt,
   * leaseExpiresAt) first. Entering a terminal state frees the job's dedup key.
   */
  transition(job: StoredJob, to: JobState): void {
    const from = job.state;
    job.stamp++;
    job.stateSeq = ++this.stateSeq;
    job.state = to;
    this.leave(job, from);
    this.indexes[to].append(job);
    this.enterHeap(job);
    const key = job.dedupKey;
    if (key !== null && isTerminal(to) && this.dedup.get(key) === job) this.dedup.delete(key);
  }

  /** Delete a job from every structure. */
  discard(job: StoredJob): void {
    job.stamp++;
    job.stateSeq = -1;
    this.leave(job, job.state);
    this.jobs.delete(job.id);
    const key = job.dedupKey;
    if (key !== null && this.dedup.get(key) === job) this.dedup.delete(key);
  }

  /** Move delayed jobs due at `now` to waiting; true if any moved. O(1) when none did. */
  promoteDue(now: number): boolean {
    let promoted = false;
    for (;;) {
      const top = this.delayed.peekLive();
      if (top === undefined || top.key > now) return promoted;
      this.delayed.popLive();
      this.transition(top.job, "waiting");
      promoted = true;
    }
  }

  /**
   * Pop the next waiting job with priority in [lowest, highest], in contract order. The
   * caller must transition it out of waiting at once.
   */
  takeWaiting(lowest: number, highest: number): StoredJob | undefined {
    let level = Math.min(MAX_PRIORITY, highest);
    const floor = Math.max(MIN_PRIORITY, lowest);
    while (level >= floor && this.waitingLive[level] === 0) level--;
    if (level < floor) return undefined;
    const entry = (this.waiting[level] as EntryQueue).popLive();
    if (entry === undefined) {
      throw new Error(`memory adapter: waiting heap ${level} lost a live entry (a bug)`);
    }
    return entry.job;
  }

  /** When the next delayed job falls due, or null when none is delayed. */
  nextDueAt(): number | null {
    return this.delayed.peekLive()?.key ?? null;
  }

  /**
   * Pop an active job whose lease expired before `now`, earliest expiry first. The caller
   * must transition it out of active at once.
   */
  takeExpiredLease(now: number): StoredJob | undefined {
    const top = this.leases.peekLive();
    if (top === undefined || !(top.key < now)) return undefined;
    this.leases.popLive();
    return top.job;
  }

  /** Move an active job's lease expiry, keeping the lease heap in step. */
  extendLease(job: StoredJob, expiresAt: number): void {
    job.leaseExpiresAt = expiresAt;
    job.stamp++;
    this.leases.push(job, expiresAt);
    this.leases.compactIfSparse(this.indexes.active.live);
  }

  counts(): JobCounts {
    const i = this.indexes;
    return {
      waiting: i.waiting.live,
      delayed: i.delayed.live,
      active: i.active.live,
      completed: i.completed.live,
      dead: i.dead.live,
      cancelled: i.cancelled.live,
    };
  }

  /** Account for a job leaving `from`; its stamp and stateSeq have already moved on. */
  private leave(job: StoredJob, from: JobState): void {
    this.indexes[from].release();
    const group = job.group;
    if (group !== null && (from === "waiting" || from === "active")) {
      if (from === "waiting") this.groups.leaveWaiting(group);
      else {
        this.groups.leaveActive(group);
        this.leases.compactIfSparse(this.indexes.active.live);
      }
      return;
    }
    if (from === "waiting") {
      this.ungroupedWaiting--;
      const live = (this.waitingLive[job.priority] as number) - 1;
      this.waitingLive[job.priority] = live;
      (this.waiting[job.priority] as EntryQueue).compactIfSparse(live);
    } else if (from === "delayed") {
      this.delayed.compactIfSparse(this.indexes.delayed.live);
    } else if (from === "active") {
      this.leases.compactIfSparse(this.indexes.active.live);
    }
  }

  private enterHeap(job: StoredJob): void {
    const group = job.group;
    if (group !== null && job.state === "waiting") {
      this.groups.enterWaiting(job, group);
    } else if (job.state === "waiting") {
      this.ungroupedWaiting++;
      this.groups.ungroupedArrived();
      (this.waiting[job.priority] as EntryQueue).push(job, job.runAt);
      this.waitingLive[job.priority] = (this.waitingLive[job.priority] as number) + 1;
    } else if (job.state === "delayed") {
      this.delayed.push(job, job.runAt);
    } else if (job.state === "active") {
      this.leases.push(job, job.leaseExpiresAt as number);
      if (group !== null) this.groups.enterActive(group);
    }
  }
}
