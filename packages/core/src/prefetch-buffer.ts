import type { ClaimedJob } from "./contract.js";

/** A job claimed ahead of a free slot, and when its lease was last known to start. */
export interface Buffered {
  job: ClaimedJob;
  /**
   * performance.now() when the call that leased it (the claim, or the latest lease extension)
   * was sent: its lease cannot end before `leasedAt + leaseMs`.
   */
  leasedAt: number;
}

/**
 * The Worker's prefetch: jobs claimed beyond its concurrency, held under lease in claim order
 * until a slot frees. A buffered job is never started once half its lease has gone by
 * unextended (the heartbeat failing means the store may be gone, and a job started that late
 * could lose its lease mid-run to another worker); it is handed back instead.
 */
export class PrefetchBuffer {
  readonly #jobs: Buffered[] = [];

  constructor(private readonly leaseMs: number) {}

  get size(): number {
    return this.#jobs.length;
  }

  add(job: ClaimedJob, leasedAt: number): void {
    this.#jobs.push({ job, leasedAt });
  }

  /**
   * The next job safe to start at `now`, in claim order, or undefined. Jobs passed over as too
   * old are given to `stale`, to be handed back.
   */
  take(now: number, stale: (job: ClaimedJob) => void): Buffered | undefined {
    for (;;) {
      const next = this.#jobs.shift();
      if (next === undefined) return undefined;
      if (now - next.leasedAt < this.leaseMs / 2) return next;
      stale(next.job);
    }
  }

  /** Every buffered job, for a lease extension sent at `sentAt`; see {@link extended}. */
  snapshot(): readonly Buffered[] {
    return [...this.#jobs];
  }

  /**
   * Record an extension's answer for the jobs of a {@link snapshot}: extended ones have a new
   * lease from `sentAt`; the others are no longer ours (cancelled, or recovered elsewhere) and
   * leave the buffer. Jobs started since the snapshot are not touched. Returns those dropped.
   */
  extended(jobs: readonly Buffered[], ok: readonly boolean[], sentAt: number): ClaimedJob[] {
    const present = new Set(this.#jobs);
    const lost = new Set<Buffered>();
    jobs.forEach((b, i) => {
      if (!present.has(b)) return;
      if (ok[i]) b.leasedAt = sentAt;
      else lost.add(b);
    });
    if (lost.size === 0) return [];
    const kept = this.#jobs.filter((b) => !lost.has(b));
    this.#jobs.splice(0, this.#jobs.length, ...kept);
    return [...lost].map((b) => b.job);
  }

  /** Empty the buffer (close, or concurrency set to 0): the jobs to hand back. */
  drain(): ClaimedJob[] {
    return this.#jobs.splice(0).map((b) => b.job);
  }
}
