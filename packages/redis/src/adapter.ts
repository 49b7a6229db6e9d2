import { randomBytes } from "node:crypto";
import type * as qf from "@queueflow/core/adapter";
import type { Json } from "@queueflow/core/adapter";
import { CheckedAdapter, MAX_PRIORITY, MIN_PRIORITY, mapStoreError } from "@queueflow/core/adapter";
import type { RedisOptions } from "ioredis";
import { asArray, asStrings, chunks, encodeSettlement, numberOrNull } from "./args.js";
import {
  claimedJob,
  createdJob,
  decodeJob,
  decodeSchedule,
  encodeNewJob,
  encodeSchedule,
  type FlatHash,
} from "./codec.js";
import { closeOwned, ensureConnected, openClient, type RedisClient } from "./connection.js";
import { cleanJobs, deadLetterStats, listJobs, type RunScript, retryJobs } from "./dead-letters.js";
import { isUnavailable, outcome } from "./errors.js";
import { checkPrefix, DEFAULT_PREFIX, KeyCache, type QueueKeys } from "./keys.js";
import { type ScriptName, scripts } from "./scripts.generated.js";
import { decodeSettings, SETTINGS_FIELDS, settingsArgs } from "./settings.js";
import { BlockingWaits } from "./wake-up.js";

/** Options of {@link RedisAdapter}. Give one of `client`, `url` or `redis` (or none). */
export interface RedisAdapterOptions {
  /**
   * A connected or lazy ioredis client, or an ioredis `Cluster`. It stays yours: `close()`
   * leaves it open. The adapter defines its script commands on it (`qf_*`).
   */
  client?: RedisClient;
  /** A connection URL (`redis://:password@host:6379/2`, `rediss://` for TLS). */
  url?: string;
  /**
   * ioredis options (host, port, password, db, tls, …), merged over the adapter's defaults
   * for a client it creates (see the README). With `url`, they add to it.
   */
  redis?: RedisOptions;
  /** First part of every key, before the `{queue}` hash tag. Default `qf`. */
  prefix?: string;
}

type ScriptFn = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/** Jobs, settlements or leases per script call: keeps each call's arguments and run time small. */
const BATCH = 500;
/** Jobs examined per clean or recover call; larger limits loop. */
const SWEEP = 1_000;

const STORE: qf.StoreInfo = {
  adapter: "RedisAdapter",
  server: "Redis",
  settings: "the URL and options",
  afterClose: "its jobs stay in Redis",
};

/** The Redis store behind {@link RedisAdapter}; the checked edge validates its input. */
class RedisDriver implements qf.StorageDriver {
  readonly name = "redis";
  readonly storeInfo = STORE;
  readonly isUnavailable = isUnavailable;
  readonly capabilities = { wakeUp: true, transactions: false, groups: true, handoff: true };

  /** The client the adapter runs its scripts on (the one passed in, or its own). */
  readonly client: RedisClient;
  private readonly owned: boolean;
  private readonly keys: KeyCache;
  private readonly waits: BlockingWaits;
  private readonly runner: RunScript = (queue, name, argv) => this.run(queue, name, argv);
  /**
   * Lease tokens are `<this adapter's random base><claim number>.<i>`: unique without asking
   * the OS for random bytes on every claim (a syscall that took 5% of a worker's CPU at
   * concurrency 1). The base has a fixed length, so no two (base, number) pairs collide.
   */
  private readonly tokenBase = randomBytes(9).toString("base64url");
  private claims = 0;

  constructor(options: RedisAdapterOptions = {}) {
    const { client, owned } = openClient(options);
    this.client = client;
    this.owned = owned;
    this.keys = new KeyCache(checkPrefix(options.prefix ?? DEFAULT_PREFIX));
    this.waits = new BlockingWaits(client);
    // defineCommand calls by EVALSHA and reloads on NOSCRIPT (after a restart, a failover or
    // SCRIPT FLUSH), so scripts need no loading step.
    for (const script of Object.values(scripts)) {
      client.defineCommand(script.command, { numberOfKeys: script.keys.length, lua: script.lua });
    }
  }

  /** The key prefix in use (`qf` unless configured). */
  get prefix(): string {
    return this.keys.prefix;
  }

  /**
   * A client that has not connected yet is connected; one that is reconnecting on its own is
   * left to it (see {@link ensureConnected}).
   */
  async connect(): Promise<void> {
    await ensureConnected(this.client);
  }

  async close(): Promise<void> {
    this.waits.close();
    if (this.owned) await closeOwned(this.client);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async now(): Promise<number> {
    try {
      const [seconds, micros] = await this.client.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    } catch (err) {
      throw mapStoreError(this, err, "now");
    }
  }

  async enqueue(jobs: qf.NewJob[]): Promise<qf.EnqueueResult[]> {
    const byQueue = new Map<string, number[]>();
    for (const [i, job] of jobs.entries()) {
      this.keys.get(job.queue);
      let indexes = byQueue.get(job.queue);
      if (indexes === undefined) {
        indexes = [];
        byQueue.set(job.queue, indexes);
      }
      indexes.push(i);
    }
    const results: qf.EnqueueResult[] = new Array(jobs.length);
    const calls: Promise<void>[] = [];
    for (const [queue, indexes] of byQueue) {
      // Chunks of one queue go out back to back on one connection, so they run in order.
      for (const part of chunks(indexes, BATCH)) {
        const argv: (string | Buffer)[] = [String(part.length)];
        const sent = part.map((i) => encodeNewJob(jobs[i] as qf.NewJob, argv));
        calls.push(
          this.run(queue, "add", argv).then((reply) => {
            const list = asArray(reply, "add");
            for (const [j, i] of part.entries()) {
              const id = list[j * 3 + 1] as string;
              const created = list[j * 3] === 1;
              const rest = list[j * 3 + 2] as FlatHash;
              const job = created
                ? createdJob(
                    queue,
                    jobs[i] as qf.NewJob,
                    sent[j] as string[],
                    rest[0] as string,
                    rest[1] as string,
                  )
                : decodeJob(queue, id, rest);
              results[i] = { job, created };
            }
          }),
        );
      }
    }
    await Promise.all(calls);
    return results;
  }

  async claim(request: qf.ClaimRequest): Promise<qf.ClaimResult> {
    const range = request.priorityRange;
    const lowest = range === null ? "" : String(Math.max(MIN_PRIORITY, Math.ceil(range.min)));
    const highest = range === null ? "" : String(Math.min(MAX_PRIORITY, Math.floor(range.max)));
    const leaseMs = Math.ceil(request.leaseMs);
    const tokenPrefix = this.tokenBase + (this.claims++).toString(36);
    const reply = asArray(
      await this.run(request.queue, "claim", [
        request.workerId,
        String(request.limit),
        String(leaseMs),
        lowest,
        highest,
        tokenPrefix,
      ]),
      "claim",
    );
    const flat = asArray(reply[0], "claim");
    const lease = { now: Number(reply[2]), leaseMs, tokenPrefix, workerId: request.workerId };
    const jobs: qf.ClaimedJob[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      jobs.push(
        claimedJob(request.queue, flat[i] as string, flat[i + 1] as FlatHash, lease, i / 2 + 1),
      );
    }
    return { jobs, nextWakeAt: numberOrNull(reply[1]) };
  }

  async settle(queue: string, settlements: qf.Settlement[]): Promise<qf.SettleOutcome[]> {
    const encoded = settlements.map(encodeSettlement);
    const parts = await Promise.all(
      chunks(encoded, BATCH).map(async (part) =>
        asArray(await this.run(queue, "settle", [String(part.length), ...part.flat()]), "settle"),
      ),
    );
    return parts.flat().map((code) => outcome("settle", code));
  }

  async extendLeases(
    queue: string,
    leases: { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    const parts = await Promise.all(
      chunks(leases, BATCH).map(async (part) =>
        asArray(
          await this.run(queue, "extend", [
            String(Math.ceil(leaseMs)),
            String(part.length),
            ...part.flatMap((l) => [l.id, l.token]),
          ]),
          "extend",
        ),
      ),
    );
    return parts.flat().map((code) => code === 1);
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    const reply = await this.run(queue, "progress", [id, token, JSON.stringify(progress ?? null)]);
    return reply === 1;
  }

  async cancel(queue: string, id: string): Promise<qf.JobState | null> {
    const reply = await this.run(queue, "cancel", [id]);
    return reply === null ? null : (reply as qf.JobState);
  }

  async recoverStalled(request: qf.RecoverRequest): Promise<qf.RecoverResult> {
    const result: qf.RecoverResult = { recovered: [], dead: [] };
    let left = request.limit;
    while (left > 0) {
      const ask = Math.min(left, SWEEP);
      const [recovered, dead] = asArray(
        await this.run(request.queue, "recover", [String(request.maxStalls), String(ask)]),
        "recover",
      ) as [string[], string[]];
      result.recovered.push(...recovered);
      result.dead.push(...dead);
      const got = recovered.length + dead.length;
      left -= got;
      if (got < ask) break;
    }
    return result;
  }

  async getJob(queue: string, id: string): Promise<qf.JobRecord | null> {
    const flat = asStrings(await this.run(queue, "getJob", [id]), "getJob");
    return flat.length === 0 ? null : decodeJob(queue, id, flat);
  }

  async listJobs(request: qf.ListJobsRequest): Promise<qf.JobPage> {
    return listJobs(this.runner, request);
  }

  async counts(queue: string): Promise<qf.JobCounts> {
    const [waiting, delayed, active, completed, dead, cancelled] = asArray(
      await this.run(queue, "counts", []),
      "counts",
    ) as number[];
    return {
      waiting: waiting as number,
      delayed: delayed as number,
      active: active as number,
      completed: completed as number,
      dead: dead as number,
      cancelled: cancelled as number,
    };
  }

  async getSettings(queue: string): Promise<qf.QueueSettings> {
    const keys = this.keys.get(queue);
    try {
      return decodeSettings(await this.client.hmget(keys.settings, ...SETTINGS_FIELDS));
    } catch (err) {
      throw mapStoreError(this, err, "getSettings");
    }
  }

  async updateSettings(queue: string, patch: Partial<qf.QueueSettings>): Promise<qf.QueueSettings> {
    return decodeSettings(await this.run(queue, "updateSettings", settingsArgs(patch)));
  }

  async remove(queue: string, id: string): Promise<"removed" | "active" | "not_found"> {
    return outcome("remove", await this.run(queue, "remove", [id]));
  }

  async retryJobs(request: qf.RetryRequest): Promise<string[]> {
    return retryJobs(this.runner, request);
  }

  async promote(queue: string, id: string): Promise<boolean> {
    return (await this.run(queue, "promote", [id])) === 1;
  }

  async clean(request: qf.CleanRequest): Promise<number> {
    return cleanJobs(this.runner, request);
  }

  async deadLetterStats(queue: string): Promise<qf.DeadLetterStats> {
    return deadLetterStats(this.runner, queue);
  }

  async upsertSchedule(schedule: qf.ScheduleRecord): Promise<void> {
    const { record, next } = encodeSchedule(schedule);
    await this.run(schedule.queue, "upsertSchedule", [schedule.id, record, next]);
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    return (await this.run(queue, "removeSchedule", [id])) === 1;
  }

  async listSchedules(queue: string): Promise<qf.ScheduleRecord[]> {
    const keys = this.keys.get(queue);
    // HSCAN pages through the hash; it may repeat a field while the hash rehashes, hence the map.
    const records = new Map<string, string>();
    try {
      let cursor = "0";
      do {
        const [nextCursor, flat] = await this.client.hscan(keys.schedules, cursor, "COUNT", 100);
        for (let i = 0; i + 1 < flat.length; i += 2) {
          records.set(flat[i] as string, flat[i + 1] as string);
        }
        cursor = nextCursor;
      } while (cursor !== "0");
      const ids = [...records.keys()];
      const nexts = ids.length === 0 ? [] : await this.client.hmget(keys.scheduleNext, ...ids);
      return ids.map((id, i) => decodeSchedule(records.get(id) as string, nexts[i] ?? null));
    } catch (err) {
      throw mapStoreError(this, err, "listSchedules");
    }
  }

  async advanceSchedule(request: qf.AdvanceScheduleRequest): Promise<boolean> {
    const reply = await this.run(request.queue, "advanceSchedule", [
      request.id,
      String(request.expectedRunAt),
      request.nextRunAt === null ? "null" : String(request.nextRunAt),
    ]);
    return reply === 1;
  }

  async waitForWork(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const wait = await this.timeToWait(queue, timeoutMs, "");
    if (wait > 0) await this.waits.wait([this.keys.get(queue).marker], wait, signal);
  }

  /**
   * {@link waitForWork}, registered as a waiting worker: an add while it waits may lease its
   * job to this request and push it onto the queue's handoff list (lua/includes/handoff.lua),
   * which the blocking pop takes along with the marker. Resolves with that job, or none.
   */
  async waitForJobs(
    request: qf.ClaimRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<qf.ClaimedJob[]> {
    const { queue, workerId } = request;
    const leaseMs = Math.ceil(request.leaseMs);
    const registration = `${leaseMs}|${workerId}`;
    const wait = await this.timeToWait(queue, timeoutMs, registration);
    if (wait <= 0) return [];
    const keys = this.keys.get(queue);
    // An abort (the worker stopping) ends the registration, then the pop through a cancel list
    // of its own: an add before the registration ends hands its job to this wait, which
    // returns it; an add after it hands nothing to a worker that is leaving.
    const cancel = {
      key: `${keys.waitPrefix}${randomBytes(8).toString("hex")}`,
      leave: [keys.idle, registration] as [string, string],
    };
    const popped = await this.waits.wait([keys.handoff, keys.marker], wait, signal, cancel);
    // Aborted before the pop started (during the has-work call): nothing ended the
    // registration yet.
    if (popped === null && signal.aborted) await this.client.zrem(...cancel.leave).catch(() => 0);
    if (popped === null || popped[0] !== keys.handoff) return [];
    const [id, tokenPrefix, now, grantedMs, grantedTo, ...fields] = JSON.parse(
      popped[1],
    ) as string[];
    const lease = {
      now: Number(now),
      leaseMs: Number(grantedMs),
      tokenPrefix: tokenPrefix as string,
      workerId: grantedTo as string,
    };
    return [claimedJob(queue, id as string, fields, lease, 1)];
  }

  /**
   * How long a wait may block (0: work is claimable now). Work that arrived between the
   * caller's empty claim and this call is claimable at once; a delayed job added since then
   * shortens the wait to its due time. `registration` ("<leaseMs>|<workerId>", or "")
   * registers the caller for handoffs until the wait ends.
   */
  private async timeToWait(
    queue: string,
    timeoutMs: number,
    registration: string,
  ): Promise<number> {
    try {
      const [claimable, dueInMs] = asArray(
        await this.run(queue, "hasWork", [registration, String(Math.ceil(timeoutMs))]),
        "hasWork",
      );
      if (claimable === 1) return 0;
      // +1: a job due at t is claimable once the server clock has passed t.
      if (typeof dueInMs === "number") return Math.min(timeoutMs, dueInMs + 1);
    } catch {
      // The store is unreachable: the blocking wait fails too and waits out the timeout,
      // and the worker's next claim reports the error. A wait never rejects.
    }
    return timeoutMs;
  }

  /** Run one script on `queue`'s keys; failures come back mapped by `mapStoreError`. */
  private async run(
    queue: string,
    name: ScriptName,
    argv: readonly (string | Buffer)[],
  ): Promise<unknown> {
    const script = scripts[name];
    const keys: QueueKeys = this.keys.get(queue);
    const args: (string | Buffer)[] = script.keys.map((k) => keys[k]);
    for (const a of argv) args.push(a);
    const fn = (this.client as unknown as Record<string, ScriptFn>)[script.command] as ScriptFn;
    try {
      return await fn.apply(this.client, args);
    } catch (err) {
      throw mapStoreError(this, err, name);
    }
  }
}

/**
 * A {@link StorageAdapter} on Redis: every transition is one Lua script (see `lua/`), every
 * key of a queue shares the queue's hash tag, so it runs unchanged on Redis Cluster. Due
 * times, leases and rate windows use the Redis server's clock. Declares wake-up: idle
 * workers block on a per-queue marker list instead of polling.
 *
 * Needs Redis 6.2 or later (tested on 7). Claims, settles and recovery are O(log n) in queue
 * size and take one round trip per batch.
 *
 * @throws QueueFlowError `QF_STORE_UNAVAILABLE` when Redis cannot be reached; `QF_CLOSED`
 * after `close()`; `QF_NOT_SUPPORTED` from `enqueue` given a transaction;
 * `QF_INVALID_ARGUMENT` for input that would corrupt its indexes (a priority outside 0–20, a
 * NaN time, a queue name that is not a valid key part).
 *
 * @example
 * const adapter = new RedisAdapter({ url: "redis://127.0.0.1:6379" });
 * await adapter.connect();
 * const queue = new Queue("emails", { adapter });
 */
export class RedisAdapter extends CheckedAdapter<RedisDriver> {
  /** The client the adapter runs its scripts on (the one passed in, or its own). */
  readonly client: RedisClient;

  constructor(options: RedisAdapterOptions = {}) {
    const driver = new RedisDriver(options);
    super(driver);
    this.client = driver.client;
  }

  /** The key prefix in use (`qf` unless configured). */
  get prefix(): string {
    return this.driver.prefix;
  }

  /**
   * {@link waitForWork}, registered as a waiting worker: an add while it waits may lease its
   * job to this request, which the wait then resolves with (see `lua/includes/handoff.lua`).
   */
  waitForJobs(
    request: qf.ClaimRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<qf.ClaimedJob[]> {
    return this.handOff(request, timeoutMs, signal);
  }
}
