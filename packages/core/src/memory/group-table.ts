import type { RateLimit } from "../contract.js";
import { MAX_PRIORITY } from "../priority.js";
import { BinaryHeap } from "./heap.js";
import { EntryHeap } from "./heap-entry.js";
import { RateWindow } from "./rate-window.js";
import type { StoredJob } from "./stored-job.js";

/** The per-group limits a claim enforces (a queue's `groupConcurrency`/`groupRateLimit`). */
export interface GroupLimits {
  concurrency: number | null;
  rateLimit: RateLimit | null;
}

/** One group's waiting line (priority, then due time, then insertion) and its counters. */
class GroupLine {
  readonly heap = new EntryHeap();
  waiting = 0;
  active = 0;
  readonly starts = new RateWindow();
}

/** A turn in the rotation: a group's name, or null for the ungrouped jobs as one group. */
export type Turn = string | null;

// runAt stays below 2^42 ms (year 2109), so (inverted priority, runAt) packs into one
// exactly representable number and the heap needs no composite comparator.
const PRIORITY_STRIDE = 2 ** 42;

function lineKey(job: StoredJob): number {
  return (MAX_PRIORITY - job.priority) * PRIORITY_STRIDE + job.runAt;
}

/**
 * The groups of one queue and whose turn it is. A group is in the rotation while it has
 * waiting jobs and was not found at a limit; a group found at its concurrency cap sits in
 * `capped` until one of its jobs leaves active, one found at its rate limit in `rated`
 * until its window frees. A claim therefore never looks at a group that cannot start a job,
 * and each turn is O(log n): the cost does not grow with the number of groups or the
 * backlog of any of them.
 */
export class GroupTable {
  private readonly lines = new Map<string, GroupLine>();
  /** Idle groups kept only for their rate window's starts (see dropIfIdle, sweepIdle). */
  private readonly lingering = new Set<string>();
  private rotation: Turn[] = [];
  private head = 0;
  private readonly queued = new Set<Turn>();
  private readonly capped = new Set<string>();
  private readonly rated = new BinaryHeap<{ at: number; group: string }>((a, b) => a.at < b.at);
  private readonly ratedGroups = new Set<string>();

  /**
   * @param ungroupedWaiting how many ungrouped jobs wait (the job table's own count).
   */
  constructor(private readonly ungroupedWaiting: () => number) {}

  /** Groups this table keeps state for (waiting or active jobs, or recent starts). */
  get size(): number {
    return this.lines.size;
  }

  /** A grouped job entered waiting. */
  enterWaiting(job: StoredJob, group: string): void {
    const line = this.line(group);
    line.heap.push(job, lineKey(job));
    line.waiting++;
    if (!this.capped.has(group) && !this.ratedGroups.has(group)) this.enqueue(group);
  }

  /** A grouped job left waiting (its stamp already moved on). */
  leaveWaiting(group: string): void {
    const line = this.line(group);
    line.waiting--;
    line.heap.compactIfSparse(line.waiting);
    this.dropIfIdle(group, line);
  }

  /** An ungrouped job entered waiting: the ungrouped jobs need a turn. */
  ungroupedArrived(): void {
    this.enqueue(null);
  }

  enterActive(group: string): void {
    this.line(group).active++;
  }

  /** A grouped job left active: a capped group may take turns again. */
  leaveActive(group: string): void {
    const line = this.line(group);
    line.active--;
    if (this.capped.delete(group) && line.waiting > 0) this.enqueue(group);
    this.dropIfIdle(group, line);
  }

  /**
   * The next turn whose group can start a job now, or undefined when none can: groups found
   * at a limit on the way are set aside (see the class comment).
   */
  nextTurn(now: number, limits: GroupLimits): Turn | undefined {
    this.releaseRated(now);
    while (this.head < this.rotation.length) {
      const turn = this.rotation[this.head++] as Turn;
      this.queued.delete(turn);
      if (turn === null) {
        if (this.ungroupedWaiting() > 0) return null;
        continue;
      }
      const line = this.lines.get(turn);
      if (line === undefined || line.waiting === 0) continue;
      if (this.setAsideIfLimited(turn, line, now, limits)) continue;
      return turn;
    }
    return undefined;
  }

  /** Take the next waiting job of `group`; the caller transitions it to active at once. */
  takeFrom(group: string): StoredJob | undefined {
    return this.lines.get(group)?.heap.popLive()?.job;
  }

  /**
   * After a turn's job went active: record the start and give the turn back to the end of
   * the rotation if the group can start another job.
   */
  endTurn(turn: Turn, now: number, limits: GroupLimits): void {
    if (turn === null) {
      if (this.ungroupedWaiting() > 0) this.enqueue(null);
      return;
    }
    const line = this.line(turn);
    if (limits.rateLimit !== null) line.starts.record(now);
    if (line.waiting > 0 && !this.setAsideIfLimited(turn, line, now, limits)) this.enqueue(turn);
  }

  /** When a rate-limited group next frees a slot, or null. */
  nextFreeAt(): number | null {
    return this.rated.peek()?.at ?? null;
  }

  /** Whether a turn could start a job now (for `waitForWork`), setting aside limited groups. */
  hasTurn(now: number, limits: GroupLimits): boolean {
    const turn = this.nextTurn(now, limits);
    if (turn === undefined) return false;
    // Put the turn back at the front: looking must not cost the group its place. nextTurn
    // just advanced `head` past it and nothing compacted since, so the slot is free.
    this.rotation[--this.head] = turn;
    this.queued.add(turn);
    return true;
  }

  /** Limits changed: every group set aside gets another look. O(groups set aside), rare. */
  limitsChanged(): void {
    for (const group of this.capped) this.requeue(group);
    this.capped.clear();
    for (const group of this.ratedGroups) this.requeue(group);
    this.ratedGroups.clear();
    this.rated.retain(() => false);
  }

  private requeue(group: string): void {
    if ((this.lines.get(group)?.waiting ?? 0) > 0) this.enqueue(group);
  }

  private setAsideIfLimited(group: string, line: GroupLine, now: number, limits: GroupLimits) {
    if (limits.concurrency !== null && line.active >= limits.concurrency) {
      this.capped.add(group);
      return true;
    }
    const rate = limits.rateLimit;
    if (rate !== null && line.starts.available(now, rate) === 0) {
      const at = line.starts.nextFreeAt(rate) ?? now + rate.windowMs;
      this.rated.push({ at, group });
      this.ratedGroups.add(group);
      return true;
    }
    return false;
  }

  private releaseRated(now: number): void {
    for (let top = this.rated.peek(); top !== undefined && top.at <= now; top = this.rated.peek()) {
      this.rated.pop();
      this.ratedGroups.delete(top.group);
      if (!this.capped.has(top.group)) this.requeue(top.group);
    }
  }

  private enqueue(turn: Turn): void {
    if (this.queued.has(turn)) return;
    this.queued.add(turn);
    this.shrink();
    this.rotation.push(turn);
  }

  /** Drop the consumed prefix once it is most of the array: amortised O(1) per turn. */
  private shrink(): void {
    if (this.head > 1024 && this.head * 2 > this.rotation.length) {
      this.rotation = this.rotation.slice(this.head);
      this.head = 0;
    }
  }

  private line(group: string): GroupLine {
    let line = this.lines.get(group);
    if (line === undefined) {
      line = new GroupLine();
      this.lines.set(group, line);
    }
    return line;
  }

  /**
   * Forget a group with nothing waiting or running, so memory follows live groups, not
   * every group ever seen. A group with recent starts is kept: its rate window still counts.
   */
  private dropIfIdle(group: string, line: GroupLine): void {
    if (line.waiting !== 0 || line.active !== 0) return;
    if (line.starts.isEmpty()) {
      this.lines.delete(group);
      this.lingering.delete(group);
    } else {
      this.lingering.add(group);
    }
  }

  /**
   * Forget up to `limit` idle groups kept only for starts that have since left their rate
   * window (see dropIfIdle): a group that never comes back would otherwise stay for good.
   * Stall recovery calls it, so memory follows live groups under any group naming.
   */
  sweepIdle(now: number, rate: RateLimit | null, limit: number): void {
    let looked = 0;
    for (const group of this.lingering) {
      if (looked++ >= limit) break;
      const line = this.lines.get(group);
      if (line === undefined || line.waiting > 0 || line.active > 0) {
        this.lingering.delete(group);
        continue;
      }
      if (rate === null) line.starts.clear();
      else line.starts.available(now, rate);
      if (line.starts.isEmpty()) {
        this.lines.delete(group);
        this.lingering.delete(group);
      }
    }
  }
}
