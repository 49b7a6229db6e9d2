import type { Logger } from "@queueflow/app-kit";
import type { Job, JobCounts, Queue, Worker } from "@queueflow/core";
import { jobView } from "./http/job-view.js";
import type { Queues } from "./queues.js";

/** One live event, as the SSE stream sends it. */
export interface LiveEvent {
  type: string;
  queue: string;
  jobId?: string;
  at: string;
  data: unknown;
}

/** What one subscriber wants: some queues (null: all) and, within one queue, some job ids. */
export interface Subscription {
  queues: Set<string> | null;
  jobs: { queue: string; ids: Set<string> } | null;
}

interface Subscriber extends Subscription {
  send: (event: LiveEvent) => void;
  /** Last signature sent per counts/job key, so polls only send changes, and a new subscriber first gets a snapshot. */
  seen: Map<string, string>;
}

/**
 * Live events from two sources. Local: what this process's queues and workers emit (adds,
 * pauses, and when a worker runs here, every attempt's start, progress and end), sent at once.
 * Derived: queues and jobs are changed by other processes too, and core's events do not cross
 * processes, so while anyone listens the hub reads the store every `pollMs`: each watched
 * queue's counts (`queue:counts`) and each watched job (`job:state`), sent when they change.
 * Polling costs one `counts` per watched queue and one `getJob` per watched job per interval,
 * whatever the number of listeners.
 */
export class EventHub {
  readonly #subscribers = new Set<Subscriber>();
  readonly #queues: Queues;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #detach: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(queues: Queues, pollMs: number, log: Logger) {
    this.#queues = queues;
    this.#pollMs = pollMs;
    this.#log = log;
    for (const queue of queues.all()) this.#attachQueue(queue);
  }

  subscribe(subscription: Subscription, send: (event: LiveEvent) => void): () => void {
    const subscriber: Subscriber = { ...subscription, send, seen: new Map() };
    this.#subscribers.add(subscriber);
    this.#schedule(0);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  get listeners(): number {
    return this.#subscribers.size;
  }

  /** Forward a worker's events (the one-process mode). Returns a function that stops. */
  attachWorker(worker: Worker): () => void {
    const queue = worker.queue;
    const job = (type: string, j: Job, data: unknown) =>
      this.publish({ type, queue, jobId: j.id, at: new Date().toISOString(), data });
    const offs = [
      worker.on("active", (j) =>
        job("job:active", j, { attempt: j.attempts, workerId: j.workerId }),
      ),
      worker.on("progress", (j, progress) => job("job:progress", j, { progress })),
      worker.on("completed", (j, result) => job("job:completed", j, { result })),
      worker.on("failed", (j, error) =>
        job("job:failed", j, { attempt: error.attempt, name: error.name, message: error.message }),
      ),
      worker.on("retrying", (j, _error, delayMs) => job("job:retrying", j, { delayMs })),
      worker.on("dead", (j, error) =>
        job("job:dead", j, { name: error.name, message: error.message }),
      ),
    ];
    const off = () => {
      for (const o of offs) o();
    };
    this.#detach.push(off);
    return off;
  }

  publish(event: LiveEvent): void {
    for (const s of this.#subscribers) {
      if (s.queues && !s.queues.has(event.queue)) continue;
      s.send(event);
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const off of this.#detach.splice(0)) off();
    this.#subscribers.clear();
  }

  #attachQueue(queue: Queue): void {
    const at = () => new Date().toISOString();
    this.#detach.push(
      queue.on("added", (job) =>
        this.publish({
          type: "job:added",
          queue: queue.name,
          jobId: job.id,
          at: at(),
          data: { name: job.name, state: job.state },
        }),
      ),
      queue.on("paused", () =>
        this.publish({ type: "queue:paused", queue: queue.name, at: at(), data: null }),
      ),
      queue.on("resumed", () =>
        this.publish({ type: "queue:resumed", queue: queue.name, at: at(), data: null }),
      ),
    );
  }

  #schedule(delayMs: number): void {
    if (this.#subscribers.size === 0 || this.#polling) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#poll(), delayMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    try {
      await this.#pollOnce();
    } catch (err) {
      // The store is away: /health reports it; the stream resumes when it answers again.
      this.#log.debug({ err }, "live events: store read failed");
    } finally {
      this.#polling = false;
      this.#schedule(this.#pollMs);
    }
  }

  async #pollOnce(): Promise<void> {
    const queues = new Set<string>();
    const jobs = new Map<string, { queue: string; id: string }>();
    for (const s of this.#subscribers) {
      for (const q of s.queues ?? this.#queues.all().map((x) => x.name)) queues.add(q);
      for (const id of s.jobs?.ids ?? [])
        jobs.set(`${s.jobs!.queue}/${id}`, { queue: s.jobs!.queue, id });
    }
    const at = new Date().toISOString();
    const counts = new Map<string, JobCounts>();
    await Promise.all([
      ...[...queues].map(async (q) => counts.set(q, await this.#queues.get(q).counts())),
      ...[...jobs.entries()].map(async ([key, { queue, id }]) => {
        const job = await this.#queues.get(queue).getJob(id);
        const view = job ? jobView(job) : null;
        const signature = view
          ? `${view.state}|${view.attempts}|${JSON.stringify(view.progress)}`
          : "missing";
        for (const s of this.#subscribers) {
          if (s.jobs?.queue !== queue || !s.jobs.ids.has(id) || s.seen.get(key) === signature)
            continue;
          s.seen.set(key, signature);
          s.send({ type: "job:state", queue, jobId: id, at, data: view });
        }
      }),
    ]);
    for (const [queue, c] of counts) {
      const signature = JSON.stringify(c);
      for (const s of this.#subscribers) {
        if ((s.queues && !s.queues.has(queue)) || s.seen.get(queue) === signature) continue;
        s.seen.set(queue, signature);
        s.send({ type: "queue:counts", queue, at, data: c });
      }
    }
  }
}
