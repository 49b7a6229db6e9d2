import type { JobFilter } from "../contract.js";
import { QueueFlowError } from "../errors.js";
import { matchesJobFilter } from "../job-filter.js";
import type { StoredJob } from "./stored-job.js";

/** Stale entries tolerated before the arrays are rebuilt: beyond this, and beyond the live count. */
const COMPACT_SLACK = 64;

/** One page of an index walk. */
export interface IndexPage {
  jobs: StoredJob[];
  /** State sequence of the last job returned, the cursor for the next page. */
  lastSeq: number;
  /** Whether at least one more matching job follows. */
  hasMore: boolean;
}

/**
 * The jobs in one state, in the order they entered it (oldest first), for listing, `clean`
 * and dead-letter stats without sorting.
 *
 * Append-only parallel arrays of (state sequence, job). An entry is live while the job's
 * `stateSeq` still equals the one recorded; leaving the state only bumps that number, so
 * removal from the middle is O(1). Sequences only grow, so a cursor is found by binary
 * search. Stale entries at the front are skipped once (`head` moves past them), and the
 * arrays are rebuilt once stale entries outnumber live ones: amortised O(1) per removal.
 */
export class StateIndex {
  private seqs: number[] = [];
  private jobs: StoredJob[] = [];
  /** Entries before this position are all stale. */
  private head = 0;
  /** Jobs currently in the state: the exact count `counts()` reports. */
  live = 0;

  append(job: StoredJob): void {
    this.seqs.push(job.stateSeq);
    this.jobs.push(job);
    this.live++;
  }

  /** Record that one job left the state; its `stateSeq` must already have changed. */
  release(): void {
    this.live--;
    if (this.seqs.length > 2 * this.live + COMPACT_SLACK) this.compact();
  }

  /** The job that entered the state first and is still in it. */
  first(): StoredJob | undefined {
    const seqs = this.seqs;
    const jobs = this.jobs;
    while (this.head < seqs.length) {
      const job = jobs[this.head] as StoredJob;
      if (job.stateSeq === seqs[this.head]) return job;
      this.head++;
    }
    return undefined;
  }

  /**
   * Up to `limit` live jobs matching `filter` that entered after `afterSeq`, oldest first.
   * Finding the start is O(log n); non-matching entries after it are scanned, and the scan
   * stops one match past the page to tell whether another page exists.
   */
  page(afterSeq: number, limit: number, filter: JobFilter): IndexPage {
    const seqs = this.seqs;
    const jobs = this.jobs;
    const out: StoredJob[] = [];
    let lastSeq = afterSeq;
    let hasMore = false;
    for (let i = this.lowerBound(afterSeq + 1); i < seqs.length; i++) {
      const job = jobs[i] as StoredJob;
      const seq = seqs[i] as number;
      if (job.stateSeq !== seq || !matchesJobFilter(job, filter)) continue;
      if (out.length === limit) {
        hasMore = true;
        break;
      }
      out.push(job);
      lastSeq = seq;
    }
    return { jobs: out, lastSeq, hasMore };
  }

  /** Visit live jobs, oldest first, until `visit` returns false. */
  walk(visit: (job: StoredJob) => boolean): void {
    const seqs = this.seqs;
    const jobs = this.jobs;
    for (let i = this.head; i < seqs.length; i++) {
      const job = jobs[i] as StoredJob;
      if (job.stateSeq === seqs[i] && !visit(job)) return;
    }
  }

  /** Entries held, stale ones included (for tests of compaction). */
  get storedEntries(): number {
    return this.seqs.length;
  }

  private lowerBound(seq: number): number {
    const seqs = this.seqs;
    let lo = this.head;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((seqs[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const seqs: number[] = [];
    const jobs: StoredJob[] = [];
    for (let i = this.head; i < this.seqs.length; i++) {
      const job = this.jobs[i] as StoredJob;
      const seq = this.seqs[i] as number;
      if (job.stateSeq === seq) {
        seqs.push(seq);
        jobs.push(job);
      }
    }
    this.seqs = seqs;
    this.jobs = jobs;
    this.head = 0;
  }
}

const CURSOR = /^[0-9a-z]{1,11}$/;

/** A listing cursor: the state sequence of the last job of a page, opaque to callers. */
export function encodeCursor(stateSeq: number): string {
  return stateSeq.toString(36);
}

/** @throws QueueFlowError `QF_INVALID_ARGUMENT` for a string no page produced. */
export function decodeCursor(cursor: string): number {
  if (typeof cursor !== "string" || !CURSOR.test(cursor)) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      `Invalid cursor ${JSON.stringify(cursor)}: pass back the nextCursor of a previous page.`,
    );
  }
  return Number.parseInt(cursor, 36);
}
