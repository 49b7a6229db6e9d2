// Every atomic operation of the adapter against MongoDB, one method each. Each transition is
// one single-document atomic write (findOneAndUpdate / updateOne / insertOne / bulkWrite of
// independent fenced updates); nothing needs a multi-document transaction, so a standalone
// server works as well as a replica set. adapter.ts maps the contract onto these.
//
// Classic update operators only (no update pipelines): the adapter then runs on every
// MongoDB 4.x+ and wire-compatible server alike. Times come from the ServerClock offset.
import { randomUUID } from "node:crypto";
import type {
  AttemptError,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  DeadLetterStats,
  EnqueueResult,
  JobCounts,
  JobState,
  Json,
  NewJob,
  QueueSettings,
  RecoverResult,
  Settlement,
  SettleOutcome,
} from "@queueflow/core";
import type { AnyBulkWriteOperation, Filter, UpdateFilter } from "mongodb";
import { ObjectId } from "mongodb";
import type { ServerClock } from "./clock.js";
import {
  attemptErrorDoc,
  type DedupDoc,
  fromJson,
  type JobDoc,
  newJobDoc,
  type Permit,
  type SettingsDoc,
  type Start,
  toClaimedJob,
  toJobRecord,
  toJson,
} from "./codec.js";
import { type Collections, jobKey } from "./collections.js";
import { fencedOutcome, isDuplicateKey } from "./errors.js";

/** Claim order: priority high to low, due time, insertion (the `claim_order` index). */
const CLAIM_SORT = { priority: -1, runAt: 1, seq: 1 } as const;
/** Rounds of a batch claim that lost candidates to concurrent claimers (see takeJobs). */
const MAX_CLAIM_ROUNDS = 8;
/** Rounds of claim's compare-and-set on a limited queue before it answers "nothing now". */
const MAX_PERMIT_ROUNDS = 32;
/** A dedup key younger than this whose holder is not stored yet is being inserted. */
const DEDUP_INSERT_GRACE_MS = 5_000;

/** Tunables of {@link Operations}. */
export interface OperationsOptions {
  /**
   * A concurrency permit older than this whose lease token no active job carries is
   * released by recovery (its claimer crashed between permit and claim, or its release was
   * lost). Must exceed the longest pause between taking a permit and claiming a job.
   */
  permitGraceMs: number;
}

/** Settlement stamps: `${call}:${index}`, unique per operation of a bulk write. */
function stamp(call: string, i: number): string {
  return `${call}:${i}`;
}

/** Contract order among claimed jobs: priority high to low, due time, insertion. */
function claimOrder(a: JobDoc, b: JobDoc): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.runAt !== b.runAt) return a.runAt - b.runAt;
  return a.seq.toHexString() < b.seq.toHexString() ? -1 : 1;
}

const LIVE: JobState[] = ["waiting", "delayed", "active"];

export class Operations {
  /** Lease tokens this process took a concurrency permit for, by queue: released on settle. */
  private readonly permitTokens = new Map<string, string>();
  /** Queues whose last claim in this process came back short (see {@link claim}). */
  private readonly shortLast = new Set<string>();
  /** Queues last seen unpaused and unlimited (see {@link isPlain}). */
  private readonly plain = new Set<string>();

  constructor(
    private readonly c: Collections,
    private readonly clock: ServerClock,
    private readonly options: OperationsOptions,
  ) {}

  now(): number {
    return this.clock.now();
  }

  // ---------------------------------------------------------------- enqueue

  /**
   * Store jobs. Jobs without a dedup key go in one unordered insertMany (a duplicate `_id`
   * means the id exists: its job is returned). A job with a dedup key first takes the key
   * (insert into the dedup collection, `_id: queue:key`), then inserts itself; see
   * {@link takeDedupKey}. Keyed jobs go one by one, so a later job of the batch sees an
   * earlier one's key.
   */
  async enqueue(jobs: readonly NewJob[]): Promise<EnqueueResult[]> {
    const now = this.now();
    const docs = jobs.map((job) => newJobDoc(job, now, new ObjectId()));
    const results: (EnqueueResult | undefined)[] = new Array(jobs.length);
    const plain = docs.map((d, i) => [d, i] as const).filter(([d]) => d.dedupKey === null);
    if (plain.length > 0) {
      const failed = new Set<number>();
      try {
        await this.c.jobs.insertMany(
          plain.map(([d]) => d),
          { ordered: false },
        );
      } catch (err) {
        const writeErrors = (err as { writeErrors?: { index: number; code: number }[] })
          .writeErrors;
        if (!isDuplicateKey(err) || writeErrors === undefined) throw err;
        const list = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
        for (const w of list) {
          if (w.code !== 11000) throw err;
          failed.add(w.index);
        }
      }
      for (let k = 0; k < plain.length; k++) {
        const [doc, i] = plain[k]!;
        if (!failed.has(k)) {
          results[i] = { job: toJobRecord(doc, now), created: true };
          continue;
        }
        const existing = await this.c.jobs.findOne({ _id: doc._id });
        if (existing === null) throw new Error(`job ${doc._id} vanished after a duplicate key`);
        results[i] = { job: toJobRecord(existing, now), created: false };
      }
    }
    for (let i = 0; i < docs.length; i++) {
      const doc = docs[i]!;
      if (doc.dedupKey === null) continue;
      results[i] = await this.enqueueKeyed(doc, now);
    }
    return results as EnqueueResult[];
  }

  private async enqueueKeyed(doc: JobDoc, now: number): Promise<EnqueueResult> {
    const existing = await this.c.jobs.findOne({ _id: doc._id });
    if (existing !== null) return { job: toJobRecord(existing, now), created: false };
    const holder = await this.takeDedupKey(doc.queue, doc.dedupKey!, doc.id);
    if (holder !== null) return { job: toJobRecord(holder, this.now()), created: false };
    try {
      await this.c.jobs.insertOne(doc);
      return { job: toJobRecord(doc, now), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // The id was added concurrently: give the key back (it is ours) and return that job.
      await this.c.dedup.deleteOne({ _id: jobKey(doc.queue, doc.dedupKey!), jobId: doc.id });
      const raced = await this.c.jobs.findOne({ _id: doc._id });
      if (raced === null) throw err;
      return { job: toJobRecord(raced, now), created: false };
    }
  }

  /**
   * Take dedup key `key` of `queue` for job `jobId`. Returns null when taken (the caller
   * inserts its job next), or the live job holding it.
   *
   * The dedup document is the lock: `_id` uniqueness lets exactly one of several racing
   * enqueuers insert it. A holder that is terminal, or whose job is gone (removed, or its
   * enqueuer crashed between key and insert), no longer holds the key: it is replaced with a
   * compare-and-delete on the holder's job id. Terminal transitions do not delete keys
   * themselves (that would cost settle a second write); the holder's state decides. A holder
   * not stored yet but younger than {@link DEDUP_INSERT_GRACE_MS} is being inserted: wait
   * for it briefly rather than take the key from under it.
   */
  async takeDedupKey(queue: string, key: string, jobId: string): Promise<JobDoc | null> {
    const _id = jobKey(queue, key);
    for (let round = 0; ; round++) {
      const at = this.now();
      try {
        await this.c.dedup.insertOne({ _id, queue, jobId, at });
        return null;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const lock = await this.c.dedup.findOne({ _id });
      if (lock === null) continue;
      if (lock.jobId === jobId) return null;
      const holder = await this.c.jobs.findOne({ _id: jobKey(queue, lock.jobId) });
      if (holder !== null && holder.dedupKey === key && LIVE.includes(holder.state)) {
        return holder;
      }
      if (holder === null && this.now() - lock.at < DEDUP_INSERT_GRACE_MS && round < 200) {
        await new Promise((r) => setTimeout(r, Math.min(50, 2 + round * 2)));
        continue;
      }
      await this.c.dedup.deleteOne({ _id, jobId: lock.jobId });
    }
  }

  // ---------------------------------------------------------------- claim

  /**
   * Lease up to `limit` due jobs. Each job is leased by one findOneAndUpdate whose filter
   * requires it due and not leased: atomic per job, so racing claimers never share one. A
   * batch walks the claim order (`claim_order` index) once and leases its candidates in
   * parallel ({@link takeJobs}): two round trips per batch, whatever its size; the results
   * are sorted into contract order here.
   *
   * Queue limits: see {@link takePermits}. A queue without a settings document, or with one
   * that sets no cap and no rate, takes no permit.
   */
  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const settings = await this.c.queues.findOne({ _id: request.queue });
    this.noteSettings(request.queue, settings);
    if (settings?.paused === true) return { jobs: [], nextWakeAt: null };
    const limited =
      settings !== null && (settings.concurrency !== null || settings.rateMax !== null);
    let tokens: string[];
    let rateFreeAt: number | null = null;
    let now: number;
    let withPermits = false;
    if (limited) {
      const permit = await this.takePermits(request.queue, request.limit);
      if (permit === null) return { jobs: [], nextWakeAt: null };
      ({ tokens, now, rateFreeAt } = permit);
      withPermits = permit.withPermits;
    } else {
      now = this.now();
      tokens = Array.from({ length: request.limit }, () => randomUUID());
    }

    const range = request.priorityRange;
    const filter: Filter<JobDoc> = {
      queue: request.queue,
      state: { $in: ["waiting", "delayed"] },
      runAt: { $lte: now },
    };
    if (range !== null) {
      filter.priority = { $gte: Math.ceil(range.min), $lte: Math.floor(range.max) };
    }
    const leaseExpiresAt = now + Math.ceil(request.leaseMs);
    // The next due time matters only after a short batch (the worker then waits until it at
    // most). A queue whose last claim here came back short is likely idle: look it up
    // alongside the claims, costing no extra round trip; under load (full batches) skip it,
    // and look it up after the claims should this batch come back short.
    const nextDue = this.shortLast.has(request.queue) ? this.nextDueAt(request.queue, now) : null;
    nextDue?.catch(() => undefined);
    const docs = await this.takeJobs(filter, tokens, (token) => ({
      $set: {
        state: "active",
        leaseToken: token,
        leaseExpiresAt,
        startedAt: now,
        workerId: request.workerId,
        stateSeq: new ObjectId(),
      },
      $inc: { attempts: 1 },
    }));
    const claimed = docs.sort(claimOrder);
    const used = new Set(claimed.map((d) => d.leaseToken!));
    const unused = tokens.filter((t) => !used.has(t));
    if (limited && unused.length > 0) await this.releasePermits(request.queue, unused);
    if (withPermits) for (const t of used) this.permitTokens.set(t, request.queue);

    let nextWakeAt: number | null = null;
    if (claimed.length < request.limit) this.shortLast.add(request.queue);
    else this.shortLast.delete(request.queue);
    if (claimed.length < request.limit) {
      // Only a short batch needs the next due time (the worker waits until then at most);
      // after a full one it claims again at once.
      const due = await (nextDue ?? this.nextDueAt(request.queue, now));
      nextWakeAt =
        due === null ? rateFreeAt : rateFreeAt === null ? due : Math.min(due, rateFreeAt);
    }
    const jobs: ClaimedJob[] = claimed.map((d) => toClaimedJob(d, now));
    return { jobs, nextWakeAt };
  }

  /**
   * Lease up to `tokens.length` jobs matching `filter`, best first, one lease token each.
   *
   * One job: a single findOneAndUpdate with the claim sort. A batch: read the best
   * candidates' `_id`s with one sorted find (limit = batch size), then lease each with a
   * findOneAndUpdate on its `_id` that repeats the whole filter, in parallel. So the claim
   * order is walked once per batch, not once per job, and the batch's own updates never
   * contend for the same document. A candidate a concurrent claimer took no longer matches
   * (null); when that left the batch short while more jobs may be due, read again.
   */
  private async takeJobs(
    filter: Filter<JobDoc>,
    tokens: readonly string[],
    update: (token: string) => UpdateFilter<JobDoc>,
  ): Promise<JobDoc[]> {
    if (tokens.length === 0) return [];
    if (tokens.length === 1) {
      const doc = await this.c.jobs.findOneAndUpdate(filter, update(tokens[0]!), {
        sort: CLAIM_SORT,
        returnDocument: "after",
      });
      return doc === null ? [] : [doc];
    }
    const taken: JobDoc[] = [];
    let free = [...tokens];
    for (let round = 0; round < MAX_CLAIM_ROUNDS && free.length > 0; round++) {
      const wanted = free.length;
      const candidates = await this.c.jobs
        .find(filter, { sort: CLAIM_SORT, limit: wanted, projection: { _id: 1 } })
        .toArray();
      const docs = await Promise.all(
        candidates.map((c, i) =>
          this.c.jobs.findOneAndUpdate({ ...filter, _id: c._id }, update(free[i]!), {
            returnDocument: "after",
          }),
        ),
      );
      const got = docs.filter((d): d is JobDoc => d !== null);
      taken.push(...got);
      const used = new Set(got.map((d) => d.leaseToken));
      free = free.filter((t) => !used.has(t));
      // Fewer candidates than wanted: nothing else is due. None lost: the batch is done.
      if (candidates.length < wanted || got.length === candidates.length) break;
    }
    return taken;
  }

  /**
   * Take up to `limit` permits on a capped or rate-limited queue, before any job is taken.
   *
   * Protocol (one compare-and-set on the queue's settings document): read it; drop rate
   * starts that left the window; room = min(limit, cap − permits held, max − starts in the
   * window); write permits (lease tokens) and starts for `room` jobs with `updateOne({_id,
   * v}, {$set, $inc: {v: 1}})`. The write applies only if nothing changed since the read
   * (every writer bumps `v`), so two claimers can never both take the last slot; the loser
   * reads again. Permits a claim could not use are given back at once
   * ({@link releasePermits}); a settle gives its job's permit back.
   *
   * Failure modes: a claimer that dies between permit and claim, or a settle whose release
   * is lost, leaves a permit with no active job: {@link reconcilePermits} releases permits
   * older than `permitGraceMs` whose token no active job carries (run from recoverStalled,
   * and from claim when the cap looks full). A rate start whose claim found no job is given
   * back too; a crashed claimer's start simply ages out of the window (too strict for one
   * window, never too loose).
   */
  async takePermits(
    queue: string,
    limit: number,
  ): Promise<{
    tokens: string[];
    now: number;
    rateFreeAt: number | null;
    withPermits: boolean;
  } | null> {
    let reconciled = false;
    for (let round = 0; round < MAX_PERMIT_ROUNDS; round++) {
      const doc = await this.c.queues.findOne({ _id: queue });
      if (doc === null || doc.paused) return null;
      const now = this.now();
      const cap = doc.concurrency;
      const rateMax = doc.rateMax;
      const windowMs = doc.rateWindowMs ?? 0;
      const permits: Permit[] = doc.permits ?? [];
      let starts: Start[] = doc.starts ?? [];
      if (rateMax !== null) starts = starts.filter((s) => s.t > now - windowMs).slice(-rateMax);
      else starts = [];
      let room = limit;
      if (cap !== null) room = Math.min(room, cap - permits.length);
      if (rateMax !== null) room = Math.min(room, rateMax - starts.length);
      let rateFreeAt: number | null = null;
      if (rateMax !== null && rateMax > 0 && starts.length >= rateMax) {
        rateFreeAt = starts[starts.length - rateMax]!.t + windowMs;
      }
      if (room <= 0) {
        const stale = permits.some((p) => p.at < now - this.options.permitGraceMs);
        if (cap !== null && permits.length >= cap && stale && !reconciled) {
          reconciled = true;
          await this.reconcilePermits(queue);
          continue;
        }
        return { tokens: [], now, rateFreeAt, withPermits: false };
      }
      const tokens = Array.from({ length: room }, () => randomUUID());
      const update: Partial<SettingsDoc> = {};
      if (cap !== null) {
        update.permits = [...permits, ...tokens.map((id) => ({ id, at: now }))];
      }
      if (rateMax !== null) {
        update.starts = [...starts, ...tokens.map((id) => ({ id, t: now }))].slice(-rateMax);
        if (starts.length + room >= rateMax) {
          const all = update.starts;
          rateFreeAt = all[all.length - rateMax]!.t + windowMs;
        }
      } else {
        update.starts = [];
      }
      const res = await this.c.queues.updateOne(
        { _id: queue, v: doc.v },
        { $set: update, $inc: { v: 1 } },
      );
      if (res.matchedCount === 1) return { tokens, now, rateFreeAt, withPermits: cap !== null };
    }
    // Heavy contention: answer "nothing now"; the caller claims again shortly.
    return null;
  }

  /** Give permits and rate starts back by lease token. */
  async releasePermits(queue: string, tokens: readonly string[]): Promise<void> {
    if (tokens.length === 0) return;
    for (const t of tokens) this.permitTokens.delete(t);
    await this.c.queues.updateOne(
      { _id: queue },
      {
        $pull: { permits: { id: { $in: [...tokens] } }, starts: { id: { $in: [...tokens] } } },
        $inc: { v: 1 },
      },
    );
  }

  /** Release permits older than the grace whose token no active job of the queue carries. */
  async reconcilePermits(queue: string): Promise<number> {
    const doc = await this.c.queues.findOne({ _id: queue });
    if (doc === null || (doc.permits ?? []).length === 0) return 0;
    const cutoff = this.now() - this.options.permitGraceMs;
    const old = doc.permits.filter((p) => p.at < cutoff).map((p) => p.id);
    if (old.length === 0) return 0;
    const active = await this.c.jobs
      .find({ queue, state: "active", leaseToken: { $in: old } }, { projection: { leaseToken: 1 } })
      .toArray();
    const live = new Set(active.map((d) => d.leaseToken));
    const leaked = old.filter((t) => !live.has(t));
    if (leaked.length === 0) return 0;
    await this.c.queues.updateOne(
      { _id: queue },
      { $pull: { permits: { id: { $in: leaked } } }, $inc: { v: 1 } },
    );
    return leaked.length;
  }

  /** The earliest future due time of a delayed job of the queue, or null. */
  async nextDueAt(queue: string, now: number): Promise<number | null> {
    const next = await this.c.jobs.findOne(
      { queue, state: "delayed", runAt: { $gt: now } },
      { sort: { runAt: 1 }, projection: { runAt: 1 } },
    );
    return next === null ? null : next.runAt;
  }

  /** Whether a claim now would find a job (ignoring priority ranges and limits' room). */
  async hasClaimableWork(queue: string): Promise<boolean> {
    const [settings, job] = await Promise.all([
      this.c.queues.findOne({ _id: queue }),
      this.c.jobs.findOne(
        { queue, state: { $in: ["waiting", "delayed"] }, runAt: { $lte: this.now() } },
        { projection: { _id: 1 } },
      ),
    ]);
    this.noteSettings(queue, settings);
    return job !== null && settings?.paused !== true;
  }

  /**
   * Whether the queue was, when this process last read its settings, unpaused and without
   * a concurrency cap or rate limit: then no change of its settings can be work for a
   * waiter, and the wake-up does not watch them. Unknown queues count as not plain.
   */
  isPlain(queue: string): boolean {
    return this.plain.has(queue);
  }

  private noteSettings(queue: string, settings: SettingsDoc | null): void {
    const plain =
      settings === null ||
      (settings.paused !== true && settings.concurrency === null && settings.rateMax === null);
    if (plain) this.plain.add(queue);
    else this.plain.delete(queue);
  }

  // ---------------------------------------------------------------- settle

  /**
   * Apply settlements in one unordered bulkWrite of updateOne operations, each fenced by
   * `{_id, state: "active", leaseToken}`. A bulk result only counts matches, so every
   * operation also stamps `op` with its own id: when fewer matched than were sent, one read
   * tells which applied. Dedup keys of jobs that end here are freed lazily (see
   * takeDedupKey); concurrency permits this process took are given back.
   */
  async settle(queue: string, settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    const now = this.now();
    const call = randomUUID();
    const ops: AnyBulkWriteOperation<JobDoc>[] = settlements.map((s, i) => ({
      updateOne: {
        filter: { _id: jobKey(queue, String(s.id)), state: "active", leaseToken: String(s.token) },
        update: settleUpdate(s, now, stamp(call, i)),
      },
    }));
    const applied = await this.fencedBulk(
      ops,
      settlements.map((s) => jobKey(queue, String(s.id))),
      call,
    );
    const released: string[] = [];
    settlements.forEach((s, i) => {
      if (this.permitTokens.has(s.token)) {
        if (applied[i]) released.push(s.token);
        else this.permitTokens.delete(s.token);
      }
    });
    await this.releasePermits(queue, released);
    return applied.map(fencedOutcome);
  }

  async extendLeases(
    queue: string,
    leases: readonly { id: string; token: string }[],
    leaseMs: number,
  ): Promise<boolean[]> {
    const until = this.now() + Math.ceil(leaseMs);
    const call = randomUUID();
    const ops: AnyBulkWriteOperation<JobDoc>[] = leases.map((l, i) => ({
      updateOne: {
        filter: { _id: jobKey(queue, String(l.id)), state: "active", leaseToken: String(l.token) },
        update: { $set: { leaseExpiresAt: until, op: stamp(call, i) } },
      },
    }));
    return this.fencedBulk(
      ops,
      leases.map((l) => jobKey(queue, String(l.id))),
      call,
    );
  }

  /** Run fenced updates; which applied, in input order (see {@link settle}). */
  private async fencedBulk(
    ops: AnyBulkWriteOperation<JobDoc>[],
    keys: readonly string[],
    call: string,
  ): Promise<boolean[]> {
    if (ops.length === 0) return [];
    const res = await this.c.jobs.bulkWrite(ops, { ordered: true });
    if (res.matchedCount === ops.length) return ops.map(() => true);
    if (res.matchedCount === 0) return ops.map(() => false);
    const docs = await this.c.jobs
      .find({ _id: { $in: [...new Set(keys)] } }, { projection: { op: 1 } })
      .toArray();
    const stamps = new Map(docs.map((d) => [d._id, d.op]));
    return keys.map((k, i) => stamps.get(k) === stamp(call, i));
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    const res = await this.c.jobs.updateOne(
      { _id: jobKey(queue, id), state: "active", leaseToken: String(token) },
      { $set: { progress: toJson(progress) } },
    );
    return res.matchedCount === 1;
  }

  /** Cancel a live job in one findOneAndUpdate; an active one's lease (and permit) is voided. */
  async cancel(queue: string, id: string): Promise<JobState | null> {
    const now = this.now();
    const before = await this.c.jobs.findOneAndUpdate(
      { _id: jobKey(queue, id), state: { $in: LIVE } },
      {
        $set: {
          state: "cancelled",
          finishedAt: now,
          leaseToken: null,
          leaseExpiresAt: null,
          stateSeq: new ObjectId(),
        },
      },
      { returnDocument: "before" },
    );
    if (before !== null) {
      if (before.state === "active" && before.leaseToken !== null) {
        await this.releasePermits(queue, [before.leaseToken]);
      }
      return "cancelled";
    }
    const job = await this.c.jobs.findOne({ _id: jobKey(queue, id) }, { projection: { state: 1 } });
    return job === null ? null : job.state;
  }

  // ---------------------------------------------------------------- recover

  /**
   * Return expired leases. Candidates are read from the `state_lease` index, then each is
   * moved with one findOneAndUpdate fenced by its lease token and expiry, so of several
   * concurrent recoverers exactly one moves a job, and a job whose worker extended or
   * settled it meanwhile is left alone. (The dead path records an error naming the attempt
   * number, which a classic update cannot compute from the document, hence read first.)
   */
  async recoverStalled(queue: string, maxStalls: number, limit: number): Promise<RecoverResult> {
    const now = this.now();
    const recovered: string[] = [];
    const dead: string[] = [];
    const tokens: string[] = [];
    // Candidates a concurrent recoverer took are lost CASes: read again past them until the
    // limit is reached or no expired lease is left.
    for (let round = 0; round < 64 && recovered.length + dead.length < limit; round++) {
      const candidates = await this.c.jobs
        .find(
          { queue, state: "active", leaseExpiresAt: { $lte: now } },
          {
            sort: { leaseExpiresAt: 1 },
            limit: limit - recovered.length - dead.length,
            projection: { leaseToken: 1, attempts: 1, stalls: 1, id: 1 },
          },
        )
        .toArray();
      if (candidates.length === 0) break;
      await Promise.all(
        candidates.map(async (c) => {
          const moved = await this.recoverOne(c, maxStalls, now);
          if (moved === null) return;
          (moved === "dead" ? dead : recovered).push(c.id);
          if (c.leaseToken !== null) tokens.push(c.leaseToken);
        }),
      );
    }
    await this.releasePermits(queue, tokens);
    await this.reconcilePermits(queue);
    return { recovered, dead };
  }

  /** Move one expired lease, fenced by its token and expiry; null when another got it. */
  private async recoverOne(
    c: Pick<JobDoc, "_id" | "leaseToken" | "attempts" | "stalls">,
    maxStalls: number,
    now: number,
  ): Promise<"dead" | "waiting" | null> {
    const stalls = c.stalls + 1;
    const toDead = stalls > maxStalls;
    const error: AttemptError = {
      attempt: c.attempts,
      name: "StalledError",
      message: `lease expired ${stalls} times; worker probably crashed or blocked the event loop`,
      at: now,
    };
    const res = await this.c.jobs.updateOne(
      { _id: c._id, state: "active", leaseToken: c.leaseToken, leaseExpiresAt: { $lte: now } },
      toDead
        ? {
            $set: {
              state: "dead",
              finishedAt: now,
              leaseToken: null,
              leaseExpiresAt: null,
              lastErrorName: "StalledError",
              stateSeq: new ObjectId(),
            },
            $inc: { stalls: 1 },
            $push: { errors: error },
          }
        : {
            // runAt and seq are kept: the job goes back to its old place in line.
            $set: {
              state: "waiting",
              leaseToken: null,
              leaseExpiresAt: null,
              stateSeq: new ObjectId(),
            },
            $inc: { stalls: 1 },
          },
    );
    if (res.matchedCount !== 1) return null;
    return toDead ? "dead" : "waiting";
  }

  // ---------------------------------------------------------------- inspect

  async getJob(queue: string, id: string): Promise<JobDoc | null> {
    return this.c.jobs.findOne({ _id: jobKey(queue, id) });
  }

  /** The filter of one state as the contract sees it (a due delayed job is waiting). */
  stateFilter(queue: string, state: JobState, now: number): Filter<JobDoc> {
    if (state === "waiting") {
      return {
        queue,
        $or: [{ state: "waiting" }, { state: "delayed", runAt: { $lte: now } }],
      };
    }
    if (state === "delayed") return { queue, state: "delayed", runAt: { $gt: now } };
    return { queue, state };
  }

  /**
   * One page of a state in order of entry (`stateSeq`), after `after`. Only typed values
   * reach the filter: the caller's name and errorName are checked to be strings first.
   */
  async listJobs(p: {
    queue: string;
    state: JobState;
    name: string | undefined;
    errorName: string | undefined;
    after: ObjectId | null;
    fetch: number;
    now: number;
  }): Promise<JobDoc[]> {
    const filter: Filter<JobDoc> = this.stateFilter(p.queue, p.state, p.now);
    if (p.name !== undefined) filter.name = { $eq: p.name };
    if (p.errorName !== undefined) filter.lastErrorName = { $eq: p.errorName };
    if (p.after !== null) filter.stateSeq = { $gt: p.after };
    return this.c.jobs.find(filter, { sort: { stateSeq: 1 }, limit: p.fetch }).toArray();
  }

  /** Exact counts: one countDocuments per state on the `state_seq` index, in parallel. */
  async counts(queue: string): Promise<JobCounts> {
    const now = this.now();
    const states: JobState[] = ["waiting", "delayed", "active", "completed", "dead", "cancelled"];
    const n = await Promise.all(
      states.map((s) => this.c.jobs.countDocuments(this.stateFilter(queue, s, now))),
    );
    return {
      waiting: n[0]!,
      delayed: n[1]!,
      active: n[2]!,
      completed: n[3]!,
      dead: n[4]!,
      cancelled: n[5]!,
    };
  }

  /** Dead-letter stats by aggregation: never loads the dead jobs into this process. */
  async deadLetterStats(queue: string): Promise<DeadLetterStats> {
    const match = { $match: { queue, state: "dead" } };
    const [byName, byError, totals] = await Promise.all([
      this.c.jobs
        .aggregate<{ _id: string; n: number }>([
          match,
          { $group: { _id: "$name", n: { $sum: 1 } } },
        ])
        .toArray(),
      this.c.jobs
        .aggregate<{ _id: string | null; n: number }>([
          match,
          { $group: { _id: "$lastErrorName", n: { $sum: 1 } } },
        ])
        .toArray(),
      this.c.jobs
        .aggregate<{ n: number; oldest: number | null; newest: number | null }>([
          match,
          {
            $group: {
              _id: null,
              n: { $sum: 1 },
              oldest: { $min: "$finishedAt" },
              newest: { $max: "$finishedAt" },
            },
          },
        ])
        .toArray(),
    ]);
    const stats: DeadLetterStats = {
      total: totals[0]?.n ?? 0,
      byName: {},
      byError: {},
      oldestFinishedAt: totals[0]?.oldest ?? null,
      newestFinishedAt: totals[0]?.newest ?? null,
    };
    for (const g of byName) stats.byName[g._id] = g.n;
    for (const g of byError) if (g._id !== null) stats.byError[g._id] = g.n;
    return stats;
  }

  // ---------------------------------------------------------------- manage

  async getSettings(queue: string): Promise<SettingsDoc | null> {
    return this.c.queues.findOne({ _id: queue });
  }

  /** Change settings in one upsert that bumps `v`, so it also fences in-flight permit CASes. */
  async updateSettings(queue: string, patch: Partial<QueueSettings>): Promise<SettingsDoc> {
    const set: Partial<SettingsDoc> = {};
    if (patch.paused !== undefined) set.paused = patch.paused === true;
    if (patch.concurrency !== undefined) set.concurrency = patch.concurrency;
    if (patch.rateLimit !== undefined) {
      set.rateMax = patch.rateLimit === null ? null : patch.rateLimit.max;
      set.rateWindowMs = patch.rateLimit === null ? null : Math.ceil(patch.rateLimit.windowMs);
      // Starts are recorded while a limit is set; turning it off forgets them.
      if (patch.rateLimit === null) set.starts = [];
    }
    const setOnInsert: Partial<SettingsDoc> = {};
    const defaults: Omit<SettingsDoc, "_id" | "v"> = {
      paused: false,
      concurrency: null,
      rateMax: null,
      rateWindowMs: null,
      permits: [],
      starts: [],
    };
    for (const [k, v] of Object.entries(defaults)) {
      if (!(k in set)) (setOnInsert as Record<string, unknown>)[k] = v;
    }
    const doc = await this.c.queues.findOneAndUpdate(
      { _id: queue },
      { $set: set, $setOnInsert: setOnInsert, $inc: { v: 1 } },
      { upsert: true, returnDocument: "after" },
    );
    this.noteSettings(queue, doc);
    return doc!;
  }

  /** Delete a job that is not active (findOneAndDelete fenced on state) and its dedup key. */
  async remove(queue: string, id: string): Promise<{ deleted: boolean; remaining: JobDoc | null }> {
    const deleted = await this.c.jobs.findOneAndDelete({
      _id: jobKey(queue, id),
      state: { $ne: "active" },
    });
    if (deleted !== null) {
      if (deleted.dedupKey !== null) {
        await this.c.dedup.deleteOne({ _id: jobKey(queue, deleted.dedupKey), jobId: id });
      }
      return { deleted: true, remaining: null };
    }
    return { deleted: false, remaining: await this.getJob(queue, id) };
  }

  /**
   * Revive one dead or cancelled job: read it, take its dedup key back (skip if a live job
   * holds it), then a compare-and-set on its `stateSeq` (unique per transition), so a job
   * that moved meanwhile is left alone.
   */
  async retryJob(
    queue: string,
    id: string,
    patch: { [key: string]: Json } | null,
  ): Promise<boolean> {
    const doc = await this.getJob(queue, id);
    if (doc === null || (doc.state !== "dead" && doc.state !== "cancelled")) return false;
    let payload = doc.payload;
    if (patch !== null) {
      const current = fromJson(doc.payload);
      if (typeof current !== "object" || current === null || Array.isArray(current)) return false;
      payload = toJson({ ...current, ...patch });
    }
    if (doc.dedupKey !== null) {
      const holder = await this.takeDedupKey(queue, doc.dedupKey, id);
      if (holder !== null) return false;
    }
    const res = await this.c.jobs.updateOne(
      { _id: doc._id, state: doc.state, stateSeq: doc.stateSeq },
      {
        $set: {
          state: "waiting",
          payload,
          attempts: 0,
          stalls: 0,
          finishedAt: null,
          result: "null",
          leaseToken: null,
          leaseExpiresAt: null,
          // Due now: a replay joins the line behind jobs already due.
          runAt: this.now(),
          stateSeq: new ObjectId(),
        },
      },
    );
    return res.matchedCount === 1;
  }

  /** Make a delayed job due now: one updateOne fenced on state and a future due time. */
  async promote(queue: string, id: string): Promise<boolean> {
    const now = this.now();
    const res = await this.c.jobs.updateOne(
      { _id: jobKey(queue, id), state: "delayed", runAt: { $gt: now } },
      { $set: { state: "waiting", runAt: now, stateSeq: new ObjectId() } },
    );
    return res.matchedCount === 1;
  }

  /**
   * Delete up to `limit` terminal jobs finished before a time: ids from the
   * `state_finished` index, then one deleteMany re-checking state and age (a job retried
   * meanwhile is kept), then their dedup keys.
   */
  async clean(
    queue: string,
    state: JobState,
    finishedBefore: number,
    limit: number,
  ): Promise<number> {
    const filter: Filter<JobDoc> = { queue, state, finishedAt: { $lt: finishedBefore } };
    const victims = await this.c.jobs
      .find(filter, { sort: { finishedAt: 1 }, limit, projection: { dedupKey: 1, id: 1 } })
      .toArray();
    if (victims.length === 0) return 0;
    const res = await this.c.jobs.deleteMany({
      ...filter,
      _id: { $in: victims.map((v) => v._id) },
    });
    const keyed = victims.filter((v) => v.dedupKey !== null);
    if (keyed.length > 0) {
      await this.c.dedup.deleteMany({
        _id: { $in: keyed.map((v) => jobKey(queue, v.dedupKey!)) },
        jobId: { $in: keyed.map((v) => v.id) },
      } satisfies Filter<DedupDoc>);
    }
    return res.deletedCount;
  }
}

/** The update of one settlement (fenced by the caller's filter). */
function settleUpdate(s: Settlement, now: number, op: string) {
  const base = { leaseToken: null, leaseExpiresAt: null, op, stateSeq: new ObjectId() };
  switch (s.kind) {
    case "complete":
      return {
        $set: { ...base, state: "completed" as const, result: toJson(s.result), finishedAt: now },
      };
    case "dead": {
      const error = attemptErrorDoc(s.error);
      return {
        $set: { ...base, state: "dead" as const, finishedAt: now, lastErrorName: error.name },
        $push: { errors: error },
      };
    }
    case "retry": {
      const error = attemptErrorDoc(s.error);
      const runAt = now + Math.ceil(s.delayMs);
      const due = !(runAt > now);
      return {
        $set: {
          ...base,
          state: due ? ("waiting" as const) : ("delayed" as const),
          runAt: due ? now : runAt,
          lastErrorName: error.name,
        },
        $push: { errors: error },
      };
    }
    case "snooze": {
      const runAt = now + Math.ceil(s.delayMs);
      const due = !(runAt > now);
      // Claiming counted an attempt; a snooze gives it back.
      return {
        $set: {
          ...base,
          state: due ? ("waiting" as const) : ("delayed" as const),
          runAt: due ? now : runAt,
        },
        $inc: { attempts: -1 },
      };
    }
  }
}
