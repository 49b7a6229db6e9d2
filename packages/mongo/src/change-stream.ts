import type { ChangeStream, ChangeStreamDocument, Collection, Document } from "mongodb";
import type { JobDoc, SettingsDoc } from "./codec.js";
import { queueOfKey } from "./collections.js";

/** After a change stream failed (connection loss), it is not opened again before this. */
const REOPEN_DELAY_MS = 1_000;
/**
 * Streams with no waiter for this long are closed; the next waiter opens them again. A busy
 * worker (every claim a full batch) never waits, so it holds no stream, and the server does
 * not send it every other worker's changes.
 */
export const IDLE_CLOSE_MS = 2_000;
/** `maxAwaitTimeMS` of the await check's read (see {@link ChangeStreamWakeUp.streaming}). */
const AWAIT_CHECK_MS = 10_000;
/** An await check's read still pending after this long shows that the server waits. */
const AWAIT_OK_MS = 3_000;
/** Empty answers in a row, each before {@link AWAIT_OK_MS}, that mean "ignores it". */
const AWAIT_CHECK_STRIKES = 2;
/** A stream stage no change matches: the await check's reads can only come back empty. */
const NO_CHANGE: Document[] = [{ $match: { operationType: "queueflow-await-check" } }];

/** A change whose queue cannot be told: wakes every waiter. */
const ANY = Symbol("any queue");

/** Job states whose arrival is new work for a waiter (a due or a future job to time). */
const WORK_STATES = ["waiting", "delayed"];

/**
 * Server-side filter of the jobs stream: inserts and replacements, and updates that move a
 * job to waiting or delayed (a retry, a recovery, a replay, a promotion). Claims (→ active),
 * settles (→ completed, dead), cancels, lease extensions and progress reports are dropped
 * on the server, so a waiter's stream carries only changes that can be work. A freed
 * concurrency slot shows on the queues stream (the permit is released there). The
 * `fullDocument.state` clause serves servers that report an update's `$set` fields as its
 * `fullDocument` instead of in `updateDescription` (the test server does).
 */
const JOBS_PIPELINE: Document[] = [
  {
    $match: {
      $or: [
        { operationType: { $in: ["insert", "replace"] } },
        {
          operationType: "update",
          $or: [
            { "updateDescription.updatedFields.state": { $in: WORK_STATES } },
            { "fullDocument.state": { $in: WORK_STATES } },
          ],
        },
      ],
    },
  },
];

/** Every change of a queue's settings: a resume, a limit change, a released permit. */
const QUEUES_PIPELINE: Document[] = [
  { $match: { operationType: { $in: ["insert", "update", "replace"] } } },
];

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

/** Whether a jobs change can be work (the client-side twin of {@link JOBS_PIPELINE}). */
function isWork(change: ChangeStreamDocument<JobDoc>): boolean {
  if (change.operationType !== "update") return true;
  const state =
    change.updateDescription?.updatedFields?.state ??
    (change.fullDocument as Partial<JobDoc> | undefined)?.state;
  return state !== undefined && WORK_STATES.includes(state);
}

interface Waiter {
  queue: string;
  /** Whether this waiter also needs the queues stream (see {@link ChangeStreamWakeUp.wait}). */
  settings: boolean;
  finish: () => void;
}

/** One change stream, opened while it has users and closed {@link IDLE_CLOSE_MS} after. */
class Feed<T extends Document> {
  private stream: ChangeStream<T, ChangeStreamDocument<T>> | null = null;
  private ready: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;
  private reopenTimer: NodeJS.Timeout | null = null;
  /** No opening before this time (ms since epoch), after a failure. */
  private reopenAt = 0;
  private closed = false;

  constructor(
    private readonly open: () => ChangeStream<T, ChangeStreamDocument<T>>,
    private readonly onChange: (change: ChangeStreamDocument<T>) => void,
    private readonly onFail: () => void,
    private readonly inUse: () => boolean,
  ) {}

  get isOpen(): boolean {
    return this.stream !== null;
  }

  /**
   * Open the stream unless it is open; resolves once it is established on the server (its
   * first read returned) or failed. Right after a failure it does not open (resolves at
   * once) but schedules an opening for when the pause is over, if still in use.
   */
  ensure(): Promise<void> {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.stream !== null || this.closed) return this.ready;
    const pause = this.reopenAt - Date.now();
    if (pause > 0) {
      this.reopenTimer ??= setTimeout(() => {
        this.reopenTimer = null;
        if (this.inUse()) void this.ensure();
      }, pause);
      this.reopenTimer.unref();
      return Promise.resolve();
    }
    const stream = this.open();
    this.stream = stream;
    this.ready = new Promise<void>((established) => {
      void (async () => {
        try {
          for (let first = true; this.stream === stream; first = false) {
            // One getMore (the driver resumes after a resumable error by itself); on a
            // server that honours awaitData it waits there for a change.
            const change = await stream.tryNext();
            if (first) established();
            if (change !== null && this.stream === stream) this.onChange(change);
          }
        } catch {
          established();
          if (this.stream !== stream) return; // closed by us
          this.stream = null;
          void stream.close().catch(() => undefined);
          this.reopenAt = Date.now() + REOPEN_DELAY_MS;
          this.onFail();
        }
      })();
    });
    return this.ready;
  }

  /** The last user left: close after {@link IDLE_CLOSE_MS} unless one comes back. */
  idle(): void {
    if (this.stream === null || this.idleTimer !== null || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.inUse()) void this.shut();
    }, IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    if (this.reopenTimer !== null) clearTimeout(this.reopenTimer);
    await this.shut();
  }

  private async shut(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    this.ready = Promise.resolve();
    if (stream !== null) await stream.close().catch(() => undefined);
  }
}

/**
 * Wake-up through change streams, shared by every waiter of the adapter: a stream on the
 * jobs collection, and one on the queues collection. A change to a queue's jobs that can
 * be work (an add, a retry) or to its settings (a resume, a released permit) wakes that
 * queue's waiters; the worker then claims, so a spurious wake costs one claim, never a
 * missed job.
 *
 * Streams are open only while someone waits, and only once the await check found that the
 * server holds a read until a change comes (see {@link streaming}; until then, and for good
 * where it does not, waiters poll): a waiter opens them (its caller looks for work once they
 * are established, see {@link wait}), and they close
 * {@link IDLE_CLOSE_MS} after the last waiter left. A process that only enqueues, or a
 * worker busy enough never to wait, holds no stream. The queues stream is opened only for
 * waiters whose queue is paused or limited: on a plain queue no settings change is work.
 */
export class ChangeStreamWakeUp {
  private readonly waiters = new Set<Waiter>();
  private readonly jobsFeed: Feed<JobDoc>;
  private readonly queuesFeed: Feed<SettingsDoc>;
  private closed = false;
  /** See {@link streaming}: `checking` until the await check has a verdict. */
  private mode: "checking" | "streaming" | "polling" = "checking";
  private awaitCheck: Promise<void> | null = null;
  private awaitCheckStream: ChangeStream | null = null;

  /**
   * @param checkAwait run the await check (`wakeUp: "auto"`); without it (`wakeUp:
   * "change-stream"`, the caller insisting on streams) streams are used from the start.
   */
  constructor(
    private readonly jobs: Collection<JobDoc>,
    queues: Collection<SettingsDoc>,
    checkAwait: boolean,
  ) {
    if (!checkAwait) this.mode = "streaming";
    // A failed stream wakes everyone: their next claim reports the error and backs off, or
    // finds the work the stream could not announce.
    const wakeAll = () => this.wake(ANY);
    this.jobsFeed = new Feed(
      () => jobs.watch<JobDoc>(JOBS_PIPELINE),
      (change) => {
        if (isWork(change)) this.wake(attribute(change, queueOfKey));
      },
      wakeAll,
      () => this.waiters.size > 0,
    );
    this.queuesFeed = new Feed(
      () => queues.watch<SettingsDoc>(QUEUES_PIPELINE),
      (change) => this.wake(attribute(change, (key) => key)),
      wakeAll,
      () => [...this.waiters].some((w) => w.settings),
    );
  }

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

  /**
   * Whether waiters are woken by streams (else their caller polls, see
   * `MongoAdapter.waitForWork`). A server that ignores `maxAwaitTimeMS` answers every
   * getMore at once, so an open stream there is a busy loop of getMores; on one whose
   * getMore reads its whole change log (the test server's oplog, never trimmed) that loop
   * slows every other command on the server, claims and inserts included. So the first
   * waiter starts a check, once per adapter, before any stream opens: a stream that no
   * change matches, read with `maxAwaitTimeMS` {@link AWAIT_CHECK_MS}. A read still pending
   * after {@link AWAIT_OK_MS} means the server waits (MongoDB holds an empty getMore for the
   * whole await time): streams from then on. {@link AWAIT_CHECK_STRIKES} empty answers in a
   * row, each sooner, mean it does not: polling for good. A check that fails (connection
   * loss) counts as waiting: the feeds deal with failures. Until the verdict, waiters poll.
   */
  get streaming(): boolean {
    return this.mode === "streaming";
  }

  private checkAwait(): Promise<void> {
    this.awaitCheck ??= (async () => {
      const stream = this.jobs.watch(NO_CHANGE, { maxAwaitTimeMS: AWAIT_CHECK_MS });
      this.awaitCheckStream = stream;
      let waited = false;
      const timer = setTimeout(() => {
        waited = true;
        void stream.close().catch(() => undefined);
      }, AWAIT_OK_MS);
      timer.unref();
      let ignores = false;
      try {
        for (let strikes = 0; strikes < AWAIT_CHECK_STRIKES; strikes++) {
          const change = await stream.tryNext();
          if (waited || this.closed || change !== null) break;
          ignores = strikes === AWAIT_CHECK_STRIKES - 1;
        }
      } catch {
        // Closed by the timer (the server waited), or failed: streams.
      } finally {
        clearTimeout(timer);
        this.awaitCheckStream = null;
        await stream.close().catch(() => undefined);
      }
      this.mode = ignores && !waited ? "polling" : "streaming";
    })();
    return this.awaitCheck;
  }

  /** Which streams are open now (for tests and diagnostics). */
  get openStreams(): { jobs: boolean; queues: boolean } {
    return { jobs: this.jobsFeed.isOpen, queues: this.queuesFeed.isOpen };
  }

  /**
   * Register a waiter; `promise` resolves on a change of its queue, a timeout or an abort.
   * `settings`: also wake on changes of the queue's settings (pass true unless the queue
   * is known to be unpaused and unlimited).
   *
   * `ready` resolves once the streams are established: changes after that point wake the
   * waiter, so the caller looks for work that arrived before it (then, not earlier: a look
   * before the stream starts could miss a job added in between). When a stream cannot open
   * now (it failed a moment ago), `ready` resolves at once and the caller's periodic look
   * is what finds work until it reopens.
   */
  wait(
    queue: string,
    timeoutMs: number,
    signal: AbortSignal,
    settings = true,
  ): { promise: Promise<void>; finish: () => void; ready: Promise<void> } {
    let finish: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        queue,
        settings,
        finish: () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener("abort", waiter.finish);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.jobsFeed.idle();
          if (settings && ![...this.waiters].some((w) => w.settings)) this.queuesFeed.idle();
          resolve();
        },
      };
      finish = waiter.finish;
      const timer = setTimeout(waiter.finish, Math.max(0, timeoutMs));
      signal.addEventListener("abort", waiter.finish, { once: true });
      this.waiters.add(waiter);
      if (signal.aborted || this.closed) waiter.finish();
    });
    if (signal.aborted || this.closed || this.mode !== "streaming") {
      if (this.mode === "checking" && !this.closed && !signal.aborted) void this.checkAwait();
      return { promise, finish, ready: Promise.resolve() };
    }
    const ready = settings
      ? Promise.all([this.jobsFeed.ensure(), this.queuesFeed.ensure()]).then(() => undefined)
      : this.jobsFeed.ensure();
    return { promise, finish, ready };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.waiters]) w.finish();
    await Promise.all([
      this.jobsFeed.close(),
      this.queuesFeed.close(),
      this.awaitCheckStream?.close().catch(() => undefined),
    ]);
  }

  private wake(queue: string | typeof ANY): void {
    for (const w of [...this.waiters]) if (queue === ANY || w.queue === queue) w.finish();
  }
}
