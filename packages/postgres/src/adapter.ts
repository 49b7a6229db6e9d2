import { setTimeout as sleep } from "node:timers/promises";
import type * as qf from "@queueflow/core/adapter";
import type { Json } from "@queueflow/core/adapter";
import {
  CheckedAdapter,
  cloneAttemptError,
  fencedOutcome,
  isTerminal,
  mapStoreError,
  QueueFlowError,
} from "@queueflow/core/adapter";
import type { ClientConfig, Pool, PoolClient, QueryResultRow } from "pg";
import { type ClaimMemory, claimJobs } from "./claiming.js";
import {
  encodeNewJobs,
  type JobRow,
  jsonParam,
  type NewJobParam,
  num,
  type ScheduleRow,
  type SettingsRow,
  splitDebounced,
  toJobRecord,
  toQueueSettings,
  toScheduleRecord,
} from "./codec.js";
import {
  type PostgresAdapterOptions,
  type Queryable,
  resolvePool,
  toQueryable,
} from "./connection.js";
import * as dl from "./dead-letters.js";
import { isConflictError, isConnectionError, POSTGRES_ERRORS, refineError } from "./errors.js";
import { WakeUpListener } from "./listen.js";
import { checkMigrated, runMigrations } from "./migrate.js";
import * as q from "./queries.js";
import { DEFAULT_SCHEMA, type Schema, schemaOf } from "./schema.js";

/** A row of the plain enqueue: the server's fields of a created job, or the stored job. */
type PlainEnqueueRow = JobRow & {
  ord: number;
  inserted: boolean;
  first: boolean;
  new_state: qf.JobState | null;
  new_created_at: string | null;
  new_run_at: string | null;
};

/** Jobs the plain enqueue takes: no dedup key, no group. */
function isPlain(job: qf.NewJob): boolean {
  return job.dedupKey === null && (job.group ?? null) === null;
}

/** The record of a job the plain enqueue created, from what was sent and the server's fields. */
function createdRecord(sent: NewJobParam, row: PlainEnqueueRow): qf.JobRecord {
  return {
    id: sent.id,
    queue: sent.queue,
    name: sent.name,
    payload: sent.payload ?? null,
    state: row.new_state!,
    priority: sent.priority,
    attempts: 0,
    maxAttempts: sent.max_attempts,
    backoff: sent.backoff ?? null,
    timeoutMs: sent.timeout_ms ?? null,
    dedupKey: null,
    metadata: sent.metadata ?? {},
    createdAt: num(row.new_created_at!),
    runAt: num(row.new_run_at!),
    startedAt: null,
    finishedAt: null,
    leaseToken: null,
    leaseExpiresAt: null,
    workerId: null,
    progress: null,
    result: null,
    errors: [],
    stalls: 0,
  };
}

/** Enqueue rows whose holder a concurrent transaction committed mid-statement are re-run. */
const MAX_ENQUEUE_ROUNDS = 5;
/** Cancel re-runs when a concurrent transition beat it to the row. */
const MAX_RACE_ROUNDS = 3;
/** Runs of a statement the server rolled back to break a deadlock, before giving up. */
const CONFLICT_ATTEMPTS = 4;
/** SQLSTATE of an insert whose key is taken. */
const UNIQUE_VIOLATION = "23505";
/** Plain batches that skip the plain insert after one met a taken id (see `enqueuePlain`). */
const TAKEN_ID_MEMORY = 100;
/** Idle group rows deleted per recoverStalled call (one bounded statement). */
const PRUNE_GROUPS_LIMIT = 1000;

/** The PostgreSQL store behind {@link PostgresAdapter}; the checked edge validates its input. */
class PostgresDriver implements qf.StorageDriver {
  readonly name = "postgres";
  readonly storeInfo = POSTGRES_ERRORS.storeInfo;
  readonly isUnavailable = isConnectionError;
  readonly refineError = refineError;
  readonly capabilities = { wakeUp: true, transactions: true, groups: true };

  private readonly s: Schema;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly clientConfig: ClientConfig;
  private readonly migrate: boolean;
  private listener: WakeUpListener | null = null;
  /** {@link run} on the pool, for the statement helpers in dead-letters.ts. */
  private readonly runner: dl.Run = (statement, what) => this.run(statement, what);
  /** Which claim statement each queue takes, and grouped claims' retry waits. */
  private readonly claimMemory: ClaimMemory = {
    grouped: new Set(),
    held: new Set(),
    skipRetry: new Map(),
  };
  /** Plain batches left to start with the conflict-safe statement (see enqueuePlain). */
  private takenIdBatches = 0;
  /** Per queue, the listener's mark when its latest claim was sent (see waitForWork). */
  private readonly claimMarks = new Map<string, string | null>();

  constructor(options: PostgresAdapterOptions) {
    this.s = schemaOf(options.schema ?? DEFAULT_SCHEMA);
    this.migrate = options.migrate ?? true;
    const resolved = resolvePool(options.connection);
    this.pool = resolved.pool;
    this.ownsPool = resolved.ownsPool;
    this.clientConfig = resolved.clientConfig;
  }

  /** The schema this adapter keeps its tables in. */
  get schema(): string {
    return this.s.name;
  }

  async close(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    if (listener !== null) await listener.close();
    if (this.ownsPool) await this.pool.end();
  }

  async ping(): Promise<void> {
    await this.pool.query("select 1");
  }

  async now(): Promise<number> {
    const [row] = await this.run<{ now: string }>(q.serverNow(this.s), "now");
    return num(row!.now);
  }

  async enqueue(jobs: qf.NewJob[], options?: qf.EnqueueOptions): Promise<qf.EnqueueResult[]> {
    const tx = options?.tx;
    const client = tx === undefined || tx === null ? undefined : toQueryable(tx);
    const results: (qf.EnqueueResult | undefined)[] = new Array(jobs.length);
    let pending = jobs.map((_, i) => i);
    let races = 0;
    while (pending.length > 0 && races < MAX_ENQUEUE_ROUNDS) {
      // A debounced key goes once per round, so each add of a burst applies in order.
      const { now: current, later } = splitDebounced(jobs, pending);
      pending = current;
      const batch = pending.map((i) => jobs[i]!);
      const unresolved: number[] = [];
      if (batch.every(isPlain)) {
        const encoded = encodeNewJobs(batch);
        // Fresh copies of what was stored (the records must not alias the caller's objects).
        const sent = JSON.parse(encoded) as NewJobParam[];
        const rows = await this.enqueuePlain(sent, encoded, client);
        const key = (ord: number) => `${sent[ord]!.queue}\u0000${sent[ord]!.id}`;
        const created = new Map<string, qf.JobRecord>();
        for (const row of rows) {
          const index = pending[row.ord]!;
          if (row.inserted) {
            if (!row.first) continue; // a later twin: below, once its first is known
            const job = createdRecord(sent[row.ord]!, row);
            created.set(key(row.ord), job);
            results[index] = { job, created: true };
          } else if (row.id !== null) {
            results[index] = { job: toJobRecord(row), created: false };
          } else unresolved.push(index);
        }
        // A later twin of an id created in this batch gets that job (its own copy).
        for (const row of rows) {
          if (!row.inserted || row.first) continue;
          const job = structuredClone(created.get(key(row.ord))!);
          results[pending[row.ord]!] = { job, created: false };
        }
      } else {
        const rows = await this.run<JobRow & { ord: number; created: boolean | null }>(
          q.enqueueJobs(this.s, encodeNewJobs(batch)),
          "enqueue",
          client,
        );
        for (const row of rows) {
          const index = pending[row.ord]!;
          if (row.id === null) unresolved.push(index);
          else results[index] = { job: toJobRecord(row), created: row.created === true };
        }
      }
      if (unresolved.length > 0) races++;
      pending = [...unresolved, ...later].sort((x, y) => x - y);
    }
    if (pending.length > 0) {
      throw new QueueFlowError(
        "QF_STORE_UNAVAILABLE",
        `Enqueue of ${pending.length} job(s) kept racing jobs with the same id or dedup key that finished at once; retry the call.`,
      );
    }
    return results as qf.EnqueueResult[];
  }

  /**
   * A plain batch tries a plain insert first, outside a caller's transaction (where a failed
   * statement would abort it), and re-runs with `on conflict do nothing` when an id was taken.
   * After such a re-run the next {@link TAKEN_ID_MEMORY} batches start with the conflict-safe
   * statement: a caller that reuses its own ids (idempotent adds) pays one failed statement per
   * that many batches, not one per batch.
   */
  private async enqueuePlain(
    sent: NewJobParam[],
    encoded: string,
    client: Queryable | undefined,
  ): Promise<PlainEnqueueRow[]> {
    const statement = (conflicts: q.IdConflicts) =>
      sent.length === 1
        ? q.enqueueOnePlainJob(this.s, sent[0]!, conflicts)
        : q.enqueuePlainJobs(this.s, encoded, conflicts);
    if (client === undefined && this.takenIdBatches === 0) {
      try {
        return await this.run<PlainEnqueueRow>(statement("fail"), "enqueue");
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code !== UNIQUE_VIOLATION) throw err;
        this.takenIdBatches = TAKEN_ID_MEMORY;
      }
    } else if (this.takenIdBatches > 0) {
      this.takenIdBatches--;
    }
    return this.run<PlainEnqueueRow>(statement("skip"), "enqueue", client);
  }

  async claim(request: qf.ClaimRequest): Promise<qf.ClaimResult> {
    if (request.limit === 0) return { jobs: [], nextWakeAt: null };
    if (this.listener !== null) {
      this.claimMarks.set(request.queue, this.listener.mark(request.queue));
    }
    return claimJobs(this.runner, this.s, this.claimMemory, request);
  }

  async settle(queue: string, settlements: qf.Settlement[]): Promise<qf.SettleOutcome[]> {
    const rows = await this.run<{ id: string }>(this.settleStatement(queue, settlements), "settle");
    // A claim of this adapter skipped groups locked by settles like this one, and nothing
    // notifies when their locks go: wake this process's waiters now that these have.
    if (this.claimMemory.skipRetry.has(queue)) this.listener?.notify(queue);
    return this.fenced(
      settlements.map((st) => st.id),
      rows,
    );
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    const rows = await this.run<{ id: string }>(
      q.extendLeases(
        this.s,
        queue,
        leases.map((l) => l.id),
        leases.map((l) => l.token),
        Math.ceil(leaseMs),
      ),
      "extendLeases",
    );
    return this.fenced(
      leases.map((l) => l.id),
      rows,
    ).map((outcome) => outcome === "ok");
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    const rows = await this.run(
      q.updateProgress(this.s, queue, id, token, jsonParam(progress)),
      "updateProgress",
    );
    return rows.length > 0;
  }

  async cancel(queue: string, id: string): Promise<qf.JobState | null> {
    for (let round = 0; round < MAX_RACE_ROUNDS; round++) {
      const [row] = await this.run<{ cancelled: boolean; prior: qf.JobState | null }>(
        q.cancelJob(this.s, queue, id),
        "cancel",
      );
      if (row!.cancelled) return "cancelled";
      if (row!.prior === null) return null;
      if (isTerminal(row!.prior)) return row!.prior;
      // It was live in this statement's snapshot but finished concurrently: look again.
    }
    const job = await this.getJob(queue, id);
    return job === null ? null : job.state;
  }

  async recoverStalled(request: qf.RecoverRequest): Promise<qf.RecoverResult> {
    const rows = await this.run<{ id: string; state: qf.JobState }>(
      q.recoverStalled(this.s, request.queue, request.maxStalls, request.limit),
      "recoverStalled",
    );
    const recovered: string[] = [];
    const dead: string[] = [];
    for (const row of rows) (row.state === "dead" ? dead : recovered).push(row.id);
    // Workers call this every stalledIntervalMs: the natural beat for dropping the rows of
    // groups that went idle, so a queue grouped by ever-new keys does not grow without end.
    if (this.claimMemory.grouped.has(request.queue)) {
      await this.run(q.pruneIdleGroups(this.s, request.queue, PRUNE_GROUPS_LIMIT), "pruneGroups");
    }
    return { recovered, dead };
  }

  async getJob(queue: string, id: string): Promise<qf.JobRecord | null> {
    const [row] = await this.run<JobRow>(q.getJob(this.s, queue, id), "getJob");
    return row === undefined ? null : toJobRecord(row);
  }

  async listJobs(request: qf.ListJobsRequest): Promise<qf.JobPage> {
    return dl.listJobs(this.runner, this.s, request);
  }

  async counts(queue: string): Promise<qf.JobCounts> {
    const [row] = await this.run<Record<qf.JobState, string>>(q.countJobs(this.s, queue), "counts");
    return {
      waiting: num(row!.waiting),
      delayed: num(row!.delayed),
      active: num(row!.active),
      completed: num(row!.completed),
      dead: num(row!.dead),
      cancelled: num(row!.cancelled),
    };
  }

  async getSettings(queue: string): Promise<qf.QueueSettings> {
    const [row] = await this.run<SettingsRow>(q.getSettings(this.s, queue), "getSettings");
    return row === undefined
      ? { paused: false, concurrency: null, rateLimit: null }
      : toQueueSettings(row);
  }

  async updateSettings(queue: string, patch: Partial<qf.QueueSettings>): Promise<qf.QueueSettings> {
    const rate = patch.rateLimit;
    const [row] = await this.run<SettingsRow>(
      q.updateSettings(this.s, {
        queue,
        paused: patch.paused ?? null,
        setConcurrency: patch.concurrency !== undefined,
        concurrency: patch.concurrency ?? null,
        setRateLimit: rate !== undefined,
        rateMax: rate?.max ?? null,
        rateWindowMs: rate == null ? null : Math.ceil(rate.windowMs),
        setGroupConcurrency: patch.groupConcurrency !== undefined,
        groupConcurrency: patch.groupConcurrency ?? null,
        setGroupRateLimit: patch.groupRateLimit !== undefined,
        groupRateMax: patch.groupRateLimit?.max ?? null,
        groupRateWindowMs:
          patch.groupRateLimit == null ? null : Math.ceil(patch.groupRateLimit.windowMs),
      }),
      "updateSettings",
    );
    return toQueueSettings(row!);
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    const [row] = await this.run<{ removed: boolean; prior: qf.JobState | null }>(
      q.removeJob(this.s, queue, id),
      "remove",
    );
    if (row!.removed) return "removed";
    return row!.prior === "active" ? "active" : "not_found";
  }

  async retryJobs(request: qf.RetryRequest): Promise<string[]> {
    return dl.retryJobs(this.runner, this.s, request);
  }

  async promote(queue: string, id: string): Promise<boolean> {
    const [row] = await this.run<{ promoted: boolean }>(q.promoteJob(this.s, queue, id), "promote");
    return row!.promoted;
  }

  async clean(request: qf.CleanRequest): Promise<number> {
    return dl.clean(this.runner, this.s, request);
  }

  async deadLetterStats(queue: string): Promise<qf.DeadLetterStats> {
    return dl.deadLetterStats(this.runner, this.s, queue);
  }

  async upsertSchedule(schedule: qf.ScheduleRecord): Promise<void> {
    await this.run(
      q.upsertSchedule(
        this.s,
        schedule.queue,
        schedule.id,
        JSON.stringify(schedule.spec),
        JSON.stringify(schedule.job),
        schedule.nextRunAt,
      ),
      "upsertSchedule",
    );
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    const rows = await this.run(q.removeSchedule(this.s, queue, id), "removeSchedule");
    return rows.length > 0;
  }

  async listSchedules(queue: string): Promise<qf.ScheduleRecord[]> {
    const rows = await this.run<ScheduleRow>(q.listSchedules(this.s, queue), "listSchedules");
    return rows.map(toScheduleRecord);
  }

  async advanceSchedule(request: qf.AdvanceScheduleRequest): Promise<boolean> {
    const rows = await this.run(
      q.advanceSchedule(
        this.s,
        request.queue,
        request.id,
        request.expectedRunAt,
        request.nextRunAt,
      ),
      "advanceSchedule",
    );
    return rows.length > 0;
  }

  async waitForWork(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || !(timeoutMs > 0)) return;
    this.listener ??= new WakeUpListener(this.clientConfig, this.s.channel, this.s.channelIdent);
    const listener = this.listener;
    const waiter = listener.wait(queue, timeoutMs, signal);
    void (async () => {
      await listener.start();
      if (waiter.done) return;
      // Work committed after the latest claim's snapshot notified after that claim was sent:
      // if LISTEN was active since then and nothing arrived, the claim saw all there is, and
      // the check below (a round trip per wait) is skipped. Otherwise (first wait, LISTEN
      // just (re)started, a notification meanwhile) work that arrived before LISTEN took
      // effect, or raced the claim, sent its notification to nobody: look.
      const mark = this.claimMarks.get(queue);
      if (mark != null && mark === listener.mark(queue)) return;
      try {
        const [row] = await this.run<{ has_work: boolean }>(
          q.hasClaimableWork(this.s, queue),
          "waitForWork",
        );
        if (row?.has_work) waiter.finish();
      } catch {
        // Not swallowed: the worker's next claim meets the same error and backs off.
        waiter.finish();
      }
    })();
    return waiter.promise;
  }

  /** Check out a client and migrate (or check) the schema on it. */
  async connect(): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapStoreError(this, err, "connect");
    }
    // pg emits "error" on a checked-out client whose connection dies, even mid-query; the
    // pool listens only while a client is idle, and an unheard "error" ends the process.
    // The failed query rejects with the same error, so the listener only has to exist.
    const onError = (): void => undefined;
    client.on("error", onError);
    let failure: unknown;
    try {
      if (this.migrate) await runMigrations(client, this.s);
      else await checkMigrated(client, this.s);
    } catch (err) {
      failure = err;
      throw mapStoreError(this, err, "migrate");
    } finally {
      client.off("error", onError);
      // A client whose migration failed may be mid-transaction or dead: never reuse it.
      client.release(failure === undefined ? undefined : true);
    }
  }

  /** Run one statement on the pool or on the caller's client. */
  private async run<R extends QueryResultRow = QueryResultRow>(
    statement: q.Statement,
    what: string,
    client?: Queryable,
  ): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await (client ?? (this.pool as unknown as Queryable)).query<R>(statement);
        return result.rows;
      } catch (err) {
        // A statement of its own that the server rolled back to break a deadlock left nothing
        // behind: run it again. In the caller's transaction the whole transaction is aborted,
        // so the caller gets QF_STORE_CONFLICT and retries it.
        if (client === undefined && attempt < CONFLICT_ATTEMPTS && isConflictError(err)) {
          await sleep(attempt * 5 + Math.random() * 10);
          continue;
        }
        throw mapStoreError(this, err, what);
      }
    }
  }

  /** A batch of completions that all keep (or all remove) their jobs takes the hot path. */
  private settleStatement(queue: string, settlements: qf.Settlement[]): q.Statement {
    const first = settlements[0];
    const remove = first?.kind === "complete" && first.remove === true;
    const completes: Extract<qf.Settlement, { kind: "complete" }>[] = [];
    for (const st of settlements) {
      if (st.kind !== "complete" || (st.remove === true) !== remove) break;
      completes.push(st);
    }
    if (completes.length === settlements.length) {
      return q.completeJobs(
        this.s,
        queue,
        completes.map((st) => st.id),
        completes.map((st) => st.token),
        remove ? [] : completes.map((st) => JSON.stringify(st.result)),
        remove,
      );
    }
    const param = JSON.stringify(
      settlements.map((st, ord) => ({
        ord,
        id: st.id,
        token: st.token,
        kind: st.kind,
        result: st.kind === "complete" ? st.result : null,
        error: st.kind === "retry" || st.kind === "dead" ? cloneAttemptError(st.error) : null,
        delay_ms: st.kind === "retry" || st.kind === "snooze" ? Math.ceil(st.delayMs) : 0,
        remove: st.kind === "complete" && st.remove === true,
      })),
    );
    return q.settleJobs(this.s, queue, param);
  }

  /** Outcomes in input order from the ids a fenced statement matched; a repeat id is lost. */
  private fenced(ids: readonly string[], rows: readonly { id: string }[]): qf.SettleOutcome[] {
    const matched = new Set(rows.map((r) => r.id));
    return ids.map((id) => {
      const ok = matched.delete(id);
      return fencedOutcome(ok);
    });
  }
}

/**
 * A {@link StorageAdapter} on PostgreSQL (via `pg`): durable jobs shared by every process on
 * the database. Claims lease jobs with `FOR UPDATE SKIP LOCKED` in one statement that also
 * holds the queue's pause, concurrency cap and rate limit; settles are fenced by lease token,
 * a whole batch in one statement; `waitForWork` wakes on LISTEN/NOTIFY; `enqueue` accepts your
 * transaction client, so a job is added atomically with your own writes. Times come from the
 * server's clock.
 *
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` from the constructor for a bad schema name;
 * `QF_STORE_UNAVAILABLE` from any method when the server cannot be reached; `QF_CLOSED`
 * after `close()`; `QF_INVALID_STATE` from `connect()` with `migrate: false` on an
 * out-of-date schema.
 *
 * @example
 * const adapter = new PostgresAdapter({ connection: process.env.DATABASE_URL! });
 * await adapter.connect();
 * const queue = new Queue("emails", { adapter });
 */
export class PostgresAdapter extends CheckedAdapter<PostgresDriver> {
  constructor(options: PostgresAdapterOptions) {
    super(new PostgresDriver(options));
  }

  /** The schema this adapter keeps its tables in. */
  get schema(): string {
    return this.driver.schema;
  }
}
