import type {
  AdapterCapabilities,
  AdvanceScheduleRequest,
  ClaimRequest,
  ClaimResult,
  CleanRequest,
  DeadLetterStats,
  EnqueueOptions,
  EnqueueResult,
  HealthStatus,
  JobCounts,
  JobPage,
  JobRecord,
  JobState,
  Json,
  ListJobsRequest,
  NewJob,
  QueueSettings,
  RecoverRequest,
  RecoverResult,
  RetryRequest,
  ScheduleRecord,
  Settlement,
  SettleOutcome,
  StorageAdapter,
} from "@queueflow/core";
import {
  checkClaim,
  checkLeaseMs,
  checkLimit,
  checkNewJob,
  checkRetryRequest,
  checkSettingsPatch,
  checkSettlements,
  checkState,
  isTerminal,
  pickJobFilter,
  QueueFlowError,
  refuseTransaction,
} from "@queueflow/core";
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
import { removeOutcome, toStoreError } from "./errors.js";
import { checkString } from "./input-checks.js";
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
export class MongoAdapter implements StorageAdapter {
  readonly name = "mongo";
  /** `wakeUp` is decided at connect (see {@link MongoAdapterOptions.wakeUp}). */
  readonly capabilities: AdapterCapabilities = { wakeUp: false, transactions: false, groups: true };

  private readonly client: MongoClient | null;
  private readonly ownsClient: boolean;
  private readonly db: Db;
  private readonly c: Collections;
  private readonly clock: ServerClock;
  private readonly ops: Operations;
  private readonly wakeUpMode: WakeUpMode;
  private wake: ChangeStreamWakeUp | null = null;
  private connecting: Promise<void> | null = null;
  private connected = false;
  private closed = false;

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

  async connect(): Promise<void> {
    this.assertOpen();
    if (this.connected) return;
    this.connecting ??= this.prepare().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wake = this.wake;
    this.wake = null;
    if (wake !== null) await wake.close();
    if (this.ownsClient && this.client !== null) await this.client.close();
  }

  async health(): Promise<HealthStatus> {
    if (this.closed) return { ok: false, latencyMs: 0, message: "MongoAdapter is closed." };
    const started = performance.now();
    try {
      await this.db.command({ ping: 1 });
      return { ok: true, latencyMs: performance.now() - started };
    } catch (err) {
      return {
        ok: false,
        latencyMs: performance.now() - started,
        message: err instanceof Error ? err.message : String(err),
      };
    }
  }

  async now(): Promise<number> {
    return this.run("now", async () => this.ops.now());
  }

  async enqueue(jobs: NewJob[], options?: EnqueueOptions): Promise<EnqueueResult[]> {
    this.assertOpen();
    refuseTransaction(
      options,
      "The MongoDB adapter enqueues without transactions: call enqueue without `tx` (each job is stored atomically on its own).",
    );
    // Check the whole batch first so a bad job cannot leave half of it stored.
    for (const job of jobs) {
      checkString(job.queue, "job.queue");
      checkString(job.id, "job.id");
      checkString(job.name, "job.name");
      if (job.dedupKey !== null) checkString(job.dedupKey, "job.dedupKey");
      checkNewJob(job);
    }
    if (jobs.length === 0) return [];
    return this.run("enqueue", () => this.ops.enqueue(jobs));
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.assertOpen();
    checkString(request.queue, "queue");
    checkString(request.workerId, "workerId");
    checkClaim(request);
    if (request.limit === 0) return { jobs: [], nextWakeAt: null };
    return this.run("claim", () => this.ops.claim(request));
  }

  async settle(queue: string, settlements: Settlement[]): Promise<SettleOutcome[]> {
    this.assertOpen();
    checkString(queue, "queue");
    checkSettlements(settlements);
    for (const s of settlements) {
      checkString(s.id, "settlement id");
      checkString(s.token, "settlement token");
    }
    if (settlements.length === 0) return [];
    return this.run("settle", () => this.ops.settle(queue, settlements));
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    this.assertOpen();
    checkString(queue, "queue");
    checkLeaseMs(leaseMs);
    for (const l of leases) {
      checkString(l.id, "lease id");
      checkString(l.token, "lease token");
    }
    if (leases.length === 0) return [];
    return this.run("extendLeases", () => this.ops.extendLeases(queue, leases, leaseMs));
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    this.assertOpen();
    checkString(queue, "queue");
    checkString(id, "id");
    checkString(token, "token");
    return this.run("updateProgress", () => this.ops.updateProgress(queue, id, token, progress));
  }

  async cancel(queue: string, id: string): Promise<JobState | null> {
    this.assertOpen();
    checkString(queue, "queue");
    checkString(id, "id");
    return this.run("cancel", () => this.ops.cancel(queue, id));
  }

  async recoverStalled(request: RecoverRequest): Promise<RecoverResult> {
    this.assertOpen();
    checkString(request.queue, "queue");
    checkLimit(request.limit, "recoverStalled", 0);
    if (request.limit === 0) return { recovered: [], dead: [] };
    return this.run("recoverStalled", () =>
      this.ops.recoverStalled(request.queue, request.maxStalls, request.limit),
    );
  }

  async getJob(queue: string, id: string): Promise<JobRecord | null> {
    this.assertOpen();
    checkString(queue, "queue");
    checkString(id, "id");
    return this.run("getJob", async () => {
      const doc = await this.ops.getJob(queue, id);
      return doc === null ? null : toJobRecord(doc, this.ops.now());
    });
  }

  async listJobs(request: ListJobsRequest): Promise<JobPage> {
    this.assertOpen();
    checkString(request.queue, "queue");
    checkState(request.state);
    checkLimit(request.limit, "listJobs", 1);
    const filter = pickJobFilter(request);
    const cursor = request.cursor;
    if (cursor != null && (typeof cursor !== "string" || !/^[0-9a-f]{24}$/.test(cursor))) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        `Invalid cursor ${JSON.stringify(cursor)}: pass back the nextCursor of a previous page.`,
      );
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

  async counts(queue: string): Promise<JobCounts> {
    this.assertOpen();
    checkString(queue, "queue");
    return this.run("counts", () => this.ops.counts(queue));
  }

  async getSettings(queue: string): Promise<QueueSettings> {
    this.assertOpen();
    checkString(queue, "queue");
    return this.run("getSettings", async () => toQueueSettings(await this.ops.getSettings(queue)));
  }

  async updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    this.assertOpen();
    checkString(queue, "queue");
    checkSettingsPatch(patch);
    if (patch.paused !== undefined && typeof patch.paused !== "boolean") {
      throw new QueueFlowError("QF_INVALID_ARGUMENT", "paused must be a boolean.");
    }
    return this.run("updateSettings", async () =>
      toQueueSettings(await this.ops.updateSettings(queue, patch)),
    );
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    this.assertOpen();
    checkString(queue, "queue");
    checkString(id, "id");
    return this.run("remove", async () => {
      const { deleted, remaining } = await this.ops.remove(queue, id);
      return removeOutcome(deleted, remaining);
    });
  }

  async retryJobs(request: RetryRequest): Promise<string[]> {
    this.assertOpen();
    checkString(request.queue, "queue");
    checkRetryRequest(request);
    if (request.payloadPatch !== null && typeof request.payloadPatch !== "object") {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        "retryJobs payloadPatch must be an object or null.",
      );
    }
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
    this.assertOpen();
    checkString(queue, "queue");
    checkString(id, "id");
    return this.run("promote", () => this.ops.promote(queue, id));
  }

  async clean(request: CleanRequest): Promise<number> {
    this.assertOpen();
    checkString(request.queue, "queue");
    if (!isTerminal(request.state)) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        `clean only removes terminal jobs (completed, dead, cancelled), not ${JSON.stringify(request.state)}.`,
      );
    }
    checkLimit(request.limit, "clean", 0);
    // Typed fields only (finishedBefore included: a NaN or non-number is refused).
    const filter = pickJobFilter(request);
    if (typeof request.finishedBefore !== "number") {
      throw new QueueFlowError("QF_INVALID_ARGUMENT", "clean needs finishedBefore, a time in ms.");
    }
    if (request.limit === 0) return 0;
    return this.run("clean", () => this.ops.clean(request, filter));
  }

  async deadLetterStats(queue: string): Promise<DeadLetterStats> {
    this.assertOpen();
    checkString(queue, "queue");
    return this.run("deadLetterStats", () => this.ops.deadLetterStats(queue));
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    this.assertOpen();
    checkString(schedule.queue, "schedule.queue");
    checkString(schedule.id, "schedule.id");
    const doc = scheduleDoc(schedule);
    await this.run("upsertSchedule", () =>
      this.c.schedules.replaceOne({ _id: doc._id }, doc, { upsert: true }),
    );
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    this.assertOpen();
    checkString(queue, "queue");
    checkString(id, "id");
    const res = await this.run("removeSchedule", () =>
      this.c.schedules.deleteOne({ _id: jobKey(queue, id) }),
    );
    return res.deletedCount === 1;
  }

  async listSchedules(queue: string): Promise<ScheduleRecord[]> {
    this.assertOpen();
    checkString(queue, "queue");
    const docs = await this.run("listSchedules", () =>
      this.c.schedules.find({ queue }, { sort: { id: 1 } }).toArray(),
    );
    return docs.map(toScheduleRecord);
  }

  async advanceSchedule(request: AdvanceScheduleRequest): Promise<boolean> {
    this.assertOpen();
    checkString(request.queue, "queue");
    checkString(request.id, "id");
    if (typeof request.expectedRunAt !== "number") {
      throw new QueueFlowError("QF_INVALID_ARGUMENT", "expectedRunAt must be a number.");
    }
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
    this.assertOpen();
    checkString(queue, "queue");
    if (signal.aborted || !(timeoutMs > 0)) return;
    const wake = this.wake;
    if (wake === null) {
      // Polling mode: the core does not call this (capabilities.wakeUp is false); a direct
      // caller gets a plain abortable sleep.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
      return;
    }
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

  private async prepare(): Promise<void> {
    try {
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
      this.connected = true;
    } catch (err) {
      throw toStoreError(err, "connect");
    }
  }

  /** Run one operation (connecting first if needed), mapping driver errors. */
  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    if (!this.connected) await this.connect();
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, what);
    }
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new QueueFlowError(
        "QF_CLOSED",
        "This MongoAdapter was closed; create a new one (jobs stay in the database).",
      );
    }
  }
}

/** The database named in a connection string's path, or the default. */
function dbNameOf(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url);
  const name = match?.[1] === undefined ? "" : decodeURIComponent(match[1]);
  return name === "" ? DEFAULT_DB : name;
}
