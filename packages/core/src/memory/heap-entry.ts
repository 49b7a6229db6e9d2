import { BinaryHeap } from "./heap.js";
import type { StoredJob } from "./stored-job.js";

/**
 * One position of a job in a time-ordered heap (waiting at one priority, delayed, or lease
 * expiry). The key is copied in because the job's own field may change after the push;
 * the entry then goes stale through the stamp and is skipped when it surfaces.
 */
export class HeapEntry {
  constructor(
    readonly key: number,
    readonly job: StoredJob,
    readonly stamp: number,
  ) {}
}

function entryBefore(a: HeapEntry, b: HeapEntry): boolean {
  return a.key < b.key || (a.key === b.key && a.job.seq < b.job.seq);
}

function isLive(entry: HeapEntry): boolean {
  return entry.stamp === entry.job.stamp;
}

/** Stale entries tolerated before a heap is rebuilt: beyond this, and beyond the live count. */
const COMPACT_SLACK = 64;

/**
 * A heap of job entries ordered by (key, insertion seq), with lazy deletion: removing a job
 * from the middle only bumps its stamp, `popLive`/`peekLive` skip what went stale, and the
 * heap is rebuilt once stale entries outnumber live ones, so memory stays O(live) and the
 * rebuild is amortised O(1) per removal.
 */
export class EntryHeap {
  private readonly heap = new BinaryHeap<HeapEntry>(entryBefore);

  push(job: StoredJob, key: number): void {
    this.heap.push(new HeapEntry(key, job, job.stamp));
  }

  peekLive(): HeapEntry | undefined {
    const heap = this.heap;
    let top = heap.peek();
    while (top !== undefined && !isLive(top)) {
      heap.pop();
      top = heap.peek();
    }
    return top;
  }

  popLive(): HeapEntry | undefined {
    const heap = this.heap;
    let top = heap.pop();
    while (top !== undefined && !isLive(top)) top = heap.pop();
    return top;
  }

  /** Call after an entry went stale, with how many entries are still live. */
  compactIfSparse(liveCount: number): void {
    if (this.heap.size > 2 * liveCount + COMPACT_SLACK) this.heap.retain(isLive);
  }
}
