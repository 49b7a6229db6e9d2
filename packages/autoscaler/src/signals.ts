import type { StorageAdapter } from "@queueflow/core";
import type { Sample, Signals } from "./types.js";

/**
 * Turn successive samples into signals: rates over the newest `windowMs` of samples. Pure,
 * so the live sampler and the simulator derive signals the same way.
 *
 * Arrivals are not read from the store (no adapter counts them); they follow from flow
 * conservation: what arrived = what finished + how much the backlog (depth + delayed +
 * active) grew. That holds however many finished jobs retention deletes meanwhile, as long
 * as `finishedTotal` itself is kept monotonic (see {@link SignalSampler}).
 */
export function deriveSignals(samples: readonly Sample[], windowMs: number): Signals {
  const last = samples[samples.length - 1];
  if (!last) throw new RangeError("deriveSignals needs at least one sample");
  let first = last;
  let activeSum = 0;
  let n = 0;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    if (last.at - s.at > windowMs) break;
    first = s;
    activeSum += s.active;
    n++;
  }
  const base = {
    at: last.at,
    depth: last.depth,
    delayed: last.delayed,
    active: last.active,
    oldestWaitMs: last.oldestWaitMs,
    workers: last.workers,
  };
  const dt = (last.at - first.at) / 1000;
  if (dt <= 0) {
    return { ...base, arrivalRate: 0, completionRate: 0, errorRate: 0, serviceTimeMs: null };
  }
  const finished = last.finishedTotal - first.finishedTotal;
  const backlog = (s: Sample) => s.depth + s.delayed + s.active;
  const arrived = Math.max(0, finished + backlog(last) - backlog(first));
  const completed = last.completedTotal - first.completedTotal;
  const failed = last.failedTotal - first.failedTotal;
  const attempts = completed + failed;
  // Little's law on the service stage: mean busy workers = attempt rate × time per attempt.
  const meanActive = activeSum / n;
  const serviceTimeMs = attempts > 0 ? (meanActive / (attempts / dt)) * 1000 : null;
  return {
    ...base,
    arrivalRate: arrived / dt,
    completionRate: finished / dt,
    errorRate: attempts > 0 ? (failed / attempts) * 100 : 0,
    serviceTimeMs,
  };
}

/** Something that emits a Worker's settle events (a `Worker` of any job map). */
export interface TrackableWorker {
  on(event: "completed", listener: (...args: never[]) => void): () => void;
  on(event: "failed", listener: (...args: never[]) => void): () => void;
  on(event: "dead", listener: (...args: never[]) => void): () => void;
}

/**
 * Reads a queue's signals from its store: one `counts`, one `listJobs('waiting', limit 1)`
 * and one `now()` per sample, all on the store's clock.
 *
 * Finished jobs: with workers attached through {@link SignalSampler.track}, completions and
 * failures are counted from their events, which retention cannot erase (but which only see
 * this process's workers). Otherwise they come from the growth of the store's finished
 * counts; a retention pass that deletes finished jobs makes that growth negative, and such
 * an interval counts as zero instead of as a negative rate, so rates read low for one
 * interval after each cleanup.
 */
export class SignalSampler {
  readonly #adapter: StorageAdapter;
  readonly #queue: string;
  #tracked = 0;
  #completed = 0;
  #failed = 0;
  #finished = 0;
  #last: { completed: number; dead: number; cancelled: number } | null = null;

  constructor(adapter: StorageAdapter, queue: string) {
    this.#adapter = adapter;
    this.#queue = queue;
  }

  /** Count a worker's completions and failures from its events; returns an untrack function. */
  track(worker: TrackableWorker): () => void {
    this.#tracked++;
    const offs = [
      worker.on("completed", () => {
        this.#completed++;
        this.#finished++;
      }),
      worker.on("failed", () => {
        this.#failed++;
      }),
      worker.on("dead", () => {
        this.#finished++;
      }),
    ];
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#tracked--;
      for (const off of offs) off();
    };
  }

  /** Take one sample; `workers` is what the actuator has provisioned now. */
  async sample(workers: number): Promise<Sample> {
    const [at, counts, oldest] = await Promise.all([
      this.#adapter.now(),
      this.#adapter.counts(this.#queue),
      this.#adapter.listJobs({ queue: this.#queue, state: "waiting", limit: 1 }),
    ]);
    const prev = this.#last;
    this.#last = { completed: counts.completed, dead: counts.dead, cancelled: counts.cancelled };
    if (this.#tracked === 0 && prev) {
      const grew = (a: number, b: number) => Math.max(0, a - b);
      const completed = grew(counts.completed, prev.completed);
      const dead = grew(counts.dead, prev.dead);
      this.#completed += completed;
      // Without events only attempts that ended dead are visible as failures.
      this.#failed += dead;
      this.#finished += completed + dead + grew(counts.cancelled, prev.cancelled);
    }
    const head = oldest.jobs[0];
    return {
      at,
      depth: counts.waiting,
      delayed: counts.delayed,
      active: counts.active,
      finishedTotal: this.#finished,
      completedTotal: this.#completed,
      failedTotal: this.#failed,
      oldestWaitMs: head ? Math.max(0, at - Math.max(head.runAt, head.createdAt)) : 0,
      workers,
    };
  }
}
