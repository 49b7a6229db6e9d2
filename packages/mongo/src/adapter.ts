import type * as qf from "@queueflow/core/adapter";
import type { Json } from "@queueflow/core/adapter";
import {
  CheckedAdapter,
  invalidCursor,
  mapStoreError,
  pickJobFilter,
  QueueFlowError,
  sleep,
} from "@queueflow/core/adapter";
import { type Db, MongoClient, type MongoClientOptions, ObjectId } from "mongodb";
import { ChangeStreamWakeUp } from "./change-stream.js";
import { ServerClock } from "./clock.js";
import { scheduleDoc, toJobRecord, toQueueSettings, toScheduleRecord } from "./codec.js";
import {
  type Collections,
  DEFAULT_PREFIX,
  ensureIndexes,
  jobKey,
  openCollections,
} from "./collections.js";
import { isUnavailable, MONGO, removeOutcome } from "./errors.js";
import { Operations } from "./operations.js";

/** How often a waiter re-checks for work a change stream may not have announced. */
const RECHECK_MS = 500;
/**
 * Polling in `waitForWork` once the server turned out to ignore `maxAwaitTimeMS` (see
 * {@link ChangeStreamWakeUp.streaming}): the first look after this, then each look twice
 * as late, up to {@link POLL_MAX_MS} apart.
 */
const POLL_MIN_MS = 25;
const POLL_MAX_MS = 200;
/** How `waitForWork` learns of new work. */
export type WakeUpMode = "auto" | "change-stream" | "poll";

/** Options of {@link MongoAdapter}. */
export interface MongoAdapterOptions {
  /**
   * A connection string (the adapter creates, and on close closes, its own client), or your
   * `MongoClient` or `Db` (left open on close).
   */
  connection: string | MongoClient | Db;
  /** Database name for a string or a client. Default: the one in the URL, else `queueflow`. */
  dbName?: string;
  /** Collection name prefix. Default `qf_`. */
  prefix?: string;
  /**
   * `auto` (default): change streams when the server offers them (a replica set or an
   * oplog), detected at connect, else polling. `change-stream`: require them (connect
   * fails without). `poll`: never open one; the core polls.
   */
  wakeUp?: WakeUpMode;
  /** Options for the client created from a connection string. */
  clientOptions?: MongoClientOptions;
  /**
   * A concurrency permit older than this with no active job is released by recovery
   * (a claimer crashed between permit and claim). Default 30 000 ms.
   */
  permitGraceMs?: number;
}

const DEFAULT_DB = "queueflow";

function isDb(value: unknown): value is Db {
  const v = value as { collection?: unknown; databaseName?: unknown };
  return typeof v.collection === "function" && typeof v.databaseName === "string";
}

function isClient(value: unknown): value is MongoClient {
  const v = value as { db?: unknown; connect?: unknown };
  return typeof v.db === "function" && typeof v.connect === "function";
}

/** The MongoDB store behind {@link MongoAdapter}; the checked edge validates its input. */
class MongoDriver implements qf.StorageDriver {
  readonly name = "mongo";
  readonly storeInfo = MONGO;
  readonly isUnavailable = isUnavailable;
  /** `wakeUp` is decided at connect (see {@link MongoAdapterOptions.wakeUp}). */
  readonly capabilities = { wakeUp: false, transactions: false, groups: true };

  private readonly client: MongoClient | null;
  private readonly ownsClient: boolean;
  private readonly db: Db;
  private readonly c: Collections;
  private readonly clock: ServerClock;
  private readonly ops: Operations;
  private readonly wakeUpMode: WakeUpMode;
  /** The change-stream wake-up chosen at connect, or null when waits poll. */
  wake: ChangeStreamWakeUp | null = null;

  constructor(options: MongoAdapterOptions) {
    const { connection } = options;
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    this.wakeUpMode = options.wakeUp ?? "auto";
    if (!["auto", "change-stream", "poll"].includes(this.wakeUpMode)) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        `wakeUp must be "auto", "change-stream" or "poll", got ${JSON.stringify(this.wakeUpMode)}.`,
      );
    }
    if (typeof connection === "string") {
      this.client = new MongoClient(connection, options.clientOptions);
      this.ownsClient = true;
      this.db = this.client.db(options.dbName ?? dbNameOf(connection));
    } else if (isDb(connection)) {
      this.client = null;
      this.ownsClient = false;
      this.db = connection;
    } else if (isClient(connection)) {
      this.client = connection;
      this.ownsClient = false;
      this.db = connection.db(options.dbName ?? (connection.options?.dbName || DEFAULT_DB));
    } else {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        "MongoAdapter needs `connection`: a connection string, a MongoClient or a Db.",
      );
    }
    this.c = openCollections(this.db, prefix);
    this.clock = new ServerClock(this.db);
    this.ops = new Operations(this.c, this.clock, {
      permitGraceMs: options.permitGraceMs ?? 30_000,
    });
    this.prefix = prefix;
  }

  /** The collection name prefix. */
  readonly prefix: string;

  /** The database the adapter keeps its collections in. */
  get database(): Db {
    return this.db;
  }

  async close(): Promise<void> {
    const wake = this.wake;
    this.wake = null;
    if (wake !== null) await wake.close();
    if (this.ownsClient && this.client !== null) await this.client.close();
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async now(): Promise<number> {
    return this.run("now", async () => this.ops.now());
  }

  async enqueue(jobs: qf.NewJob[]): Promise<qf.EnqueueResult[]> {
    return this.run("enqueue", () => this.ops.enqueue(jobs));
  }

  async claim(request: qf.ClaimRequest): Promise<qf.ClaimResult> {
    if (request.limit === 0) return { jobs: [], nextWakeAt: null };
    return this.run("claim", () => this.ops.claim(request));
  }

  async settle(queue: string, settlements: qf.Settlement[]): Promise<qf.SettleOutcome[]> {
    return this.run("settle", () => this.ops.settle(queue, settlements));
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    return this.run("extendLeases", () => this.ops.extendLeases(queue, leases, leaseMs));
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    return this.run("updateProgress", () => this.ops.updateProgress(queue, id, token, progress));
  }

  async cancel(queue: string, id: string): Promise<qf.JobState | null> {
    return this.run("cancel", () => this.ops.cancel(queue, id));
  }

  async recoverStalled(request: qf.RecoverRequest): Promise<qf.RecoverResult> {
    return this.run("recoverStalled", () =>
      this.ops.recoverStalled(request.queue, request.maxStalls, request.limit),
    );
  }

  async getJob(queue: string, id: string): Promise<qf.JobRecord | null> {
    return this.run("getJob", async () => {
      const doc = await this.ops.getJob(queue, id);
      return doc === null ? null : toJobRecord(doc, this.ops.now());
    });
  }

  async listJobs(request: qf.ListJobsRequest): Promise<qf.JobPage> {
    const filter = pickJobFilter(request);
    const cursor = request.cursor;
    if (cursor != null && (typeof cursor !== "string" || !/^[0-9a-f]{24}$/.test(cursor))) {
      throw invalidCursor(cursor);
    }
    return this.run("listJobs", async () => {
      const now = this.ops.now();
      const docs = await this.ops.listJobs({
        queue: request.queue,
        state: request.state,
        filter,
        after: cursor == null ? null : new ObjectId(cursor),
        fetch: request.limit + 1,
        now,
      });
      const page = docs.slice(0, request.limit);
      const last = page.at(-1);
      return {
        jobs: page.map((d) => toJobRecord(d, now)),
        nextCursor:
          docs.length > request.limit && last !== undefined ? last.stateSeq.toHexString() : null,
      };
    });
  }

  async counts(queue: string): Promise<qf.JobCounts> {
    return this.run("counts", () => this.ops.counts(queue));
  }

  async getSettings(queue: string): Promise<qf.QueueSettings> {
    return this.run("getSettings", async () => toQueueSettings(await this.ops.getSettings(queue)));
  }

  async updateSettings(queue: string, patch: Partial<qf.QueueSettings>): Promise<qf.QueueSettings> {
    return this.run("updateSettings", async () =>
      toQueueSettings(await this.ops.updateSettings(queue, patch)),
    );
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    return this.run("remove", async () => {
      const { deleted, remaining } = await this.ops.remove(queue, id);
      return removeOutcome(deleted, remaining);
    });
  }

  async retryJobs(request: qf.RetryRequest): Promise<string[]> {
    const ids = [...new Set(request.ids)];
    return this.run("retryJobs", async () => {
      const moved: string[] = [];
      // One by one: two jobs of the batch with one dedup key must not both revive. Each
      // move is one conditional update, so concurrent calls move each job once.
      for (const id of ids) {
        if (await this.ops.retryJob(request, id)) moved.push(id);
      }
      return moved;
    });
  }

  async promote(queue: string, id: string): Promise<boolean> {
    return this.run("promote", () => this.ops.promote(queue, id));
  }

  async clean(request: qf.CleanRequest): Promise<number> {
    // Typed fields only: other keys a caller passed never reach the filter.
    const filter = pickJobFilter(request);
    return this.run("clean", () => this.ops.clean(request, filter));
  }

  async deadLetterStats(queue: string): Promise<qf.DeadLetterStats> {
    return this.run("deadLetterStats", () => this.ops.deadLetterStats(queue));
  }

  async upsertSchedule(schedule: qf.ScheduleRecord): Promise<void> {
    const doc = scheduleDoc(schedule);
    await this.run("upsertSchedule", () =>
      this.c.schedules.replaceOne({ _id: doc._id }, doc, { upsert: true }),
    );
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    const res = await this.run("removeSchedule", () =>
      this.c.schedules.deleteOne({ _id: jobKey(queue, id) }),
    );
    return res.deletedCount === 1;
  }

  async listSchedules(queue: string): Promise<qf.ScheduleRecord[]> {
    const docs = await this.run("listSchedules", () =>
      this.c.schedules.find({ queue }, { sort: { id: 1 } }).toArray(),
    );
    return docs.map(toScheduleRecord);
  }

  async advanceSchedule(request: qf.AdvanceScheduleRequest): Promise<boolean> {
    // Compare-and-set on the stored next run: of several schedulers, one matches.
    const res = await this.run("advanceSchedule", () =>
      this.c.schedules.updateOne(
        { _id: jobKey(request.queue, request.id), nextRunAt: request.expectedRunAt },
        { $set: { nextRunAt: request.nextRunAt } },
      ),
    );
    return res.matchedCount === 1;
  }

  async waitForWork(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const wake = this.wake;
    // Polling mode: the core does not call this (capabilities.wakeUp is false); a direct
    // caller gets a plain abortable sleep.
    if (wake === null) return sleep(timeoutMs, signal);
    // A queue last seen unpaused and unlimited needs no settings stream: no settings change
    // of it can be work (were it paused since, the periodic look below still sees it resumed).
    const waiter = wake.wait(queue, timeoutMs, signal, !this.ops.isPlain(queue));
    // Work that arrived between the caller's empty claim and the stream's start notified
    // nobody: look once the stream is established (a look before could miss a job added in
    // between). Change streams can also drop an event (a stream reopening after an error;
    // the test server lost one in ~1 of 10 loaded runs), so look again every RECHECK_MS
    // while waiting: a missed event then costs at most that, never a whole poll.
    let looking = false;
    const look = () => {
      if (looking) return;
      looking = true;
      this.ops.hasClaimableWork(queue).then(
        (has) => {
          looking = false;
          if (has) waiter.finish();
        },
        // The worker's next claim meets the same error and backs off.
        () => waiter.finish(),
      );
    };
    if (!wake.streaming) {
      // No streams on this server (it ignores maxAwaitTimeMS): poll, sooner than the core
      // would, since the worker keeps calling this instead of polling by itself.
      let delay = POLL_MIN_MS;
      let timer: NodeJS.Timeout;
      const next = () => {
        timer = setTimeout(() => {
          look();
          delay = Math.min(delay * 2, POLL_MAX_MS);
          next();
        }, delay);
        timer.unref();
      };
      next();
      return waiter.promise.finally(() => clearTimeout(timer));
    }
    void waiter.ready.then(look);
    const recheck = setInterval(look, RECHECK_MS);
    recheck.unref();
    return waiter.promise.finally(() => clearInterval(recheck));
  }

  /** Connect, sync the clock, build the indexes and decide how to wake up. */
  async connect(): Promise<void> {
    if (this.client !== null) await this.client.connect();
    await this.clock.sync();
    await ensureIndexes(this.c);
    let wakeUp = false;
    if (this.wakeUpMode !== "poll") {
      wakeUp = await ChangeStreamWakeUp.supported(this.c.jobs);
      if (!wakeUp && this.wakeUpMode === "change-stream") {
        throw new QueueFlowError(
          "QF_NOT_SUPPORTED",
          'This MongoDB server offers no change streams (it is a standalone server without an oplog): run a replica set (a one-node one will do), or use wakeUp: "auto" or "poll".',
        );
      }
    }
    if (wakeUp) {
      // Opens its streams when a worker first waits (a producer never does).
      this.wake = new ChangeStreamWakeUp(this.c.jobs, this.c.queues, this.wakeUpMode === "auto");
    }
    this.capabilities.wakeUp = wakeUp;
  }

  /** Run one operation, mapping driver errors. */
  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapStoreError(this, err, what);
    }
  }
}

/**
 * A {@link StorageAdapter} on MongoDB (the official `mongodb` driver). Every transition is
 * one single-document atomic write: claims are findOneAndUpdate on the claim-order index,
 * settles a bulkWrite of token-fenced updates; queue limits hold through a compare-and-set
 * on a per-queue permit document. No transactions, so a standalone server works; wake-up
 * uses change streams where the server has them, else the core polls. Times come from the
 * server's clock.
 *
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` from the constructor for bad options and from
 * methods for malformed input; `QF_STORE_UNAVAILABLE` when the server cannot be reached;
 * `QF_CLOSED` after `close()`; `QF_NOT_SUPPORTED` from `enqueue` given a transaction, and
 * from `connect` with `wakeUp: "change-stream"` on a server without change streams.
 *
 * @example
 * const adapter = new MongoAdapter({ connection: process.env.MONGO_URL! });
 * await adapter.connect();
 * const queue = new Queue("emails", { adapter });
 */
export class MongoAdapter extends CheckedAdapter<MongoDriver> {
  constructor(options: MongoAdapterOptions) {
    super(new MongoDriver(options));
  }

  /** The collection name prefix. */
  get prefix(): string {
    return this.driver.prefix;
  }

  /** The database the adapter keeps its collections in. */
  get database(): Db {
    return this.driver.database;
  }

  /** How waits learn of new work, chosen at connect: null when the core polls. */
  protected get wake(): ChangeStreamWakeUp | null {
    return this.driver.wake;
  }
}

/** The database named in a connection string's path, or the default. */
function dbNameOf(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url);
  const name = match?.[1] === undefined ? "" : decodeURIComponent(match[1]);
  return name === "" ? DEFAULT_DB : name;
}
