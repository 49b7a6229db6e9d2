import type { ChangeStream, ChangeStreamDocument, Collection, Document } from "mongodb";
import type { JobDoc, SettingsDoc } from "./codec.js";
import { queueOfKey } from "./collections.js";

/** Delay before a change stream that failed (connection loss) is opened again. */
const REOPEN_DELAY_MS = 1_000;

/** A change whose queue cannot be told: wakes every waiter. */
const ANY = Symbol("any queue");

/**
 * The queue a change belongs to, from its document key (`_id` starts with the queue name),
 * else from the document, else {@link ANY}: a change the adapter cannot attribute wakes
 * every waiter (a spurious wake costs one claim; a missed one costs a whole poll interval).
 * Servers that report update events with an incomplete `documentKey` take this path.
 */
function attribute(
  change: ChangeStreamDocument<Document>,
  fromKey: (key: string) => string,
): string | typeof ANY {
  const key = "documentKey" in change ? (change.documentKey as { _id?: unknown })._id : undefined;
  if (typeof key === "string") return fromKey(key);
  const doc =
    "fullDocument" in change ? (change.fullDocument as { queue?: unknown } | undefined) : undefined;
  if (typeof doc?.queue === "string") return doc.queue;
  return ANY;
}

interface Waiter {
  queue: string;
  finish: () => void;
}

/**
 * Wake-up through change streams: one stream on the jobs collection and one on the queues
 * collection per adapter, shared by every waiter. A change to a queue's jobs (an add, a
 * retry, a settle that frees a slot) or to its settings (a resume) wakes that queue's
 * waiters; the worker then claims, so a spurious wake costs one claim, never a missed job.
 * A claim's own update (state → active) wakes nobody.
 */
export class ChangeStreamWakeUp {
  private readonly waiters = new Set<Waiter>();
  private streams: ChangeStream[] = [];
  private closed = false;
  private reopenTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly jobs: Collection<JobDoc>,
    private readonly queues: Collection<SettingsDoc>,
  ) {}

  /**
   * Whether the server offers change streams: open one and read once. A standalone server
   * without an oplog refuses the `$changeStream` stage (MongoDB: code 40573).
   */
  static async supported(jobs: Collection<JobDoc>): Promise<boolean> {
    const probe = jobs.watch([], { maxAwaitTimeMS: 1 });
    try {
      await probe.tryNext();
      return true;
    } catch {
      return false;
    } finally {
      await probe.close().catch(() => undefined);
    }
  }

  start(): void {
    if (this.closed || this.streams.length > 0) return;
    const pipeline: Document[] = [
      { $match: { operationType: { $in: ["insert", "update", "replace"] } } },
    ];
    this.streams = [
      this.follow(this.jobs.watch<JobDoc>(pipeline), (change) => {
        // A claim (state → active) is no new work for anyone.
        if (change.operationType === "update") {
          const state =
            change.updateDescription?.updatedFields?.state ??
            (change.fullDocument as Partial<JobDoc> | undefined)?.state;
          if (state === "active") return null;
        }
        return attribute(change, queueOfKey);
      }),
      this.follow(this.queues.watch<SettingsDoc>(pipeline), (change) =>
        attribute(change, (key) => key),
      ),
    ];
  }

  /** Register a waiter; resolves on a change of its queue, a timeout or an abort. */
  wait(
    queue: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): { promise: Promise<void>; finish: () => void } {
    let finish: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        queue,
        finish: () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener("abort", waiter.finish);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      finish = waiter.finish;
      const timer = setTimeout(waiter.finish, Math.max(0, timeoutMs));
      signal.addEventListener("abort", waiter.finish, { once: true });
      this.waiters.add(waiter);
      if (signal.aborted || this.closed) waiter.finish();
    });
    return { promise, finish };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer !== null) clearTimeout(this.reopenTimer);
    for (const w of [...this.waiters]) w.finish();
    const streams = this.streams;
    this.streams = [];
    await Promise.all(streams.map((s) => s.close().catch(() => undefined)));
  }

  private follow<T extends Document>(
    stream: ChangeStream<T, ChangeStreamDocument<T>>,
    queueOf: (change: ChangeStreamDocument<T>) => string | null | typeof ANY,
  ): ChangeStream {
    stream.on("change", (change) => {
      const queue = queueOf(change);
      if (queue === null) return;
      for (const w of [...this.waiters]) if (queue === ANY || w.queue === queue) w.finish();
    });
    stream.on("error", () => {
      // Lost connection or a dropped collection: wake everyone (their next claim reports
      // the error and backs off), then reopen both streams after a pause.
      for (const w of [...this.waiters]) w.finish();
      this.restart();
    });
    return stream as unknown as ChangeStream;
  }

  private restart(): void {
    if (this.closed || this.reopenTimer !== null) return;
    const old = this.streams;
    this.streams = [];
    for (const s of old) void s.close().catch(() => undefined);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      this.start();
    }, REOPEN_DELAY_MS);
    this.reopenTimer.unref();
  }
}
