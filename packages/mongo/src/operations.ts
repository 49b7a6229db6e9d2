// Every atomic operation of the adapter against MongoDB, one method each. Each transition is
// one single-document atomic write (findOneAndUpdate / updateOne / insertOne / bulkWrite of
// independent fenced updates); nothing needs a multi-document transaction, so a standalone
// server works as well as a replica set. adapter.ts maps the contract onto these.
//
// Classic update operators only (no update pipelines): the adapter then runs on every
// MongoDB 4.x+ and wire-compatible server alike. Times come from the ServerClock offset.
import { randomUUID } from "node:crypto";
import type * as qf from "@queueflow/core";
import type { Json } from "@queueflow/core";
import { fencedOutcome } from "@queueflow/core/adapter";
import type { AnyBulkWriteOperation } from "mongodb";
import { ObjectId } from "mongodb";
import { Claimer } from "./claim.js";
import type { ServerClock } from "./clock.js";
import { type JobDoc, type SettingsDoc, toJson } from "./codec.js";
import { type Collections, jobKey } from "./collections.js";
import { cleanJobs, deadLetterStats, listJobs, retryJob, stateFilter } from "./dead-letter-ops.js";
import { Enqueuer } from "./enqueue.js";
import { type GroupEvent, Groups, groupKey, groupLimits } from "./groups.js";
import { settleUpdate, stamp } from "./settle-update.js";

/** Tunables of {@link Operations}. */
export interface OperationsOptions {
  /**
   * A concurrency permit older than this whose lease token no active job carries is
   * released by recovery (its claimer crashed between permit and claim, or its release was
   * lost). Must exceed the longest pause between taking a permit and claiming a job.
   */
  permitGraceMs: number;
}

const LIVE: qf.JobState[] = ["waiting", "delayed", "active"];
/** Idle group documents deleted per recoverStalled call at most: one delete each. */
const PRUNE_GROUPS_LIMIT = 100;

export class Operations {
  private readonly groups: Groups;
  private readonly claimer: Claimer;
  private readonly enqueuer: Enqueuer;

  constructor(
    private readonly c: Collections,
    private readonly clock: ServerClock,
    options: OperationsOptions,
  ) {
    const now = () => this.clock.now();
    this.groups = new Groups(c, now, options.permitGraceMs);
    this.claimer = new Claimer(c, now, options, this.groups);
    this.enqueuer = new Enqueuer(c, now, this.groups);
  }

  now(): number {
    return this.clock.now();
  }

  // ---------------------------------------------------------------- enqueue and claim

  enqueue(jobs: readonly qf.NewJob[]): Promise<qf.EnqueueResult[]> {
    return this.enqueuer.enqueue(jobs);
  }

  claim(request: qf.ClaimRequest): Promise<qf.ClaimResult> {
    return this.claimer.claim(request);
  }

  hasClaimableWork(queue: string): Promise<boolean> {
    return this.claimer.hasClaimableWork(queue);
  }

  /** See {@link Claimer.isPlain}. */
  isPlain(queue: string): boolean {
    return this.claimer.isPlain(queue);
  }

  // ---------------------------------------------------------------- settle

  /**
   * Apply settlements in one unordered bulkWrite of updateOne operations, each fenced by
   * `{_id, state: "active", leaseToken}`. A bulk result only counts matches, so every
   * operation also stamps `op` with its own id: when fewer matched than were sent, one read
   * tells which applied. Dedup keys of jobs that end here are freed lazily (see
   * takeDedupKey); concurrency permits this process took are given back.
   */
  async settle(queue: string, settlements: readonly qf.Settlement[]): Promise<qf.SettleOutcome[]> {
    const now = this.now();
    const call = randomUUID();
    // A grouped job going back to pending announces its group before the move too, so a
    // crash between the move and the release below cannot leave it behind an idle turn.
    const early: GroupEvent[] = [];
    for (const s of settlements) {
      const key = this.groups.peek(s.token);
      if (key != null && (s.kind === "retry" || s.kind === "snooze")) {
        early.push({ key, token: null, pendingAt: now + Math.max(0, Math.ceil(s.delayMs)) });
      }
    }
    await this.groups.release(early);
    const applied = await this.applySettlements(queue, settlements, now, call);
    const released: string[] = [];
    const events: GroupEvent[] = [];
    const unknown: { key: string; token: string; pendingAt: number }[] = [];
    const permits = this.claimer.permitTokens;
    settlements.forEach((s, i) => {
      if (permits.has(s.token)) {
        if (applied[i]) released.push(s.token);
        else permits.delete(s.token);
      }
      const group = this.groups.forget(s.token);
      if (!applied[i]) return;
      const pendingAt =
        s.kind === "retry" || s.kind === "snooze" ? now + Math.max(0, Math.ceil(s.delayMs)) : null;
      if (group !== undefined) {
        if (group.key !== null) events.push({ key: group.key, token: s.token, pendingAt });
      } else if (pendingAt !== null && !this.claimer.isKnownUngrouped(queue)) {
        unknown.push({ key: jobKey(queue, String(s.id)), token: s.token, pendingAt });
      }
    });
    if (unknown.length > 0) {
      // Claimed by another process: the job's group is read back, so it is announced.
      const docs = await this.c.jobs
        .find({ _id: { $in: unknown.map((u) => u.key) } }, { projection: { group: 1 } })
        .toArray();
      const groups = new Map(docs.map((d) => [d._id, d.group ?? null]));
      for (const u of unknown) {
        const group = groups.get(u.key);
        if (group != null) {
          events.push({ key: groupKey(queue, group), token: u.token, pendingAt: u.pendingAt });
        }
      }
    }
    await Promise.all([this.claimer.releasePermits(queue, released), this.groups.release(events)]);
    return applied.map(fencedOutcome);
  }

  /**
   * Whether each settlement applied. Updates go in one fenced bulk write; completions that
   * remove their job are fenced deletes of their own, in parallel: a deleted document leaves
   * no stamp to read back, and its dedup key is released here (the job that would hold it
   * is gone, so nothing else frees it before the insert grace of takeDedupKey runs out).
   */
  private async applySettlements(
    queue: string,
    settlements: readonly qf.Settlement[],
    now: number,
    call: string,
  ): Promise<boolean[]> {
    const fence = (s: qf.Settlement) => ({
      _id: jobKey(queue, String(s.id)),
      state: "active" as const,
      leaseToken: String(s.token),
    });
    const updates: { s: qf.Settlement; i: number }[] = [];
    const removals: Promise<void>[] = [];
    const applied: boolean[] = settlements.map(() => false);
    settlements.forEach((s, i) => {
      if (s.kind !== "complete" || s.remove !== true) {
        updates.push({ s, i });
        return;
      }
      removals.push(
        this.c.jobs
          .findOneAndDelete(fence(s), { projection: { dedupKey: 1 } })
          .then(async (deleted) => {
            if (deleted === null) return;
            applied[i] = true;
            if (deleted.dedupKey != null) {
              await this.c.dedup.deleteOne({
                _id: jobKey(queue, deleted.dedupKey),
                jobId: String(s.id),
              });
            }
          }),
      );
    });
    const updated = await Promise.all([
      this.fencedBulk(
        updates.map(({ s, i }) => ({
          updateOne: { filter: fence(s), update: settleUpdate(s, now, stamp(call, i)) },
        })),
        updates.map(({ s }) => jobKey(queue, String(s.id))),
        call,
        updates.map(({ i }) => i),
      ),
      ...removals,
    ]);
    updated[0].forEach((ok, k) => {
      applied[updates[k]!.i] = ok;
    });
    return applied;
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
  /** `stamps[k]`: the stamp index op k was given (default k). */
  private async fencedBulk(
    ops: AnyBulkWriteOperation<JobDoc>[],
    keys: readonly string[],
    call: string,
    stamps?: readonly number[],
  ): Promise<boolean[]> {
    if (ops.length === 0) return [];
    const res = await this.c.jobs.bulkWrite(ops, { ordered: true });
    if (res.matchedCount === ops.length) return ops.map(() => true);
    if (res.matchedCount === 0) return ops.map(() => false);
    const docs = await this.c.jobs
      .find({ _id: { $in: [...new Set(keys)] } }, { projection: { op: 1 } })
      .toArray();
    const found = new Map(docs.map((d) => [d._id, d.op]));
    return keys.map((k, i) => found.get(k) === stamp(call, stamps?.[i] ?? i));
  }

  async updateProgress(queue: string, id: string, token: string, progress: Json): Promise<boolean> {
    const res = await this.c.jobs.updateOne(
      { _id: jobKey(queue, id), state: "active", leaseToken: String(token) },
      { $set: { progress: toJson(progress) } },
    );
    return res.matchedCount === 1;
  }

  /** Cancel a live job in one findOneAndUpdate; an active one's lease (and permit) is voided. */
  async cancel(queue: string, id: string): Promise<qf.JobState | null> {
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
        const token = before.leaseToken;
        this.groups.forget(token);
        await Promise.all([
          this.claimer.releasePermits(queue, [token]),
          before.group == null
            ? null
            : this.groups.release([{ key: groupKey(queue, before.group), token, pendingAt: null }]),
        ]);
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
  async recoverStalled(queue: string, maxStalls: number, limit: number): Promise<qf.RecoverResult> {
    const now = this.now();
    const recovered: string[] = [];
    const dead: string[] = [];
    const tokens: string[] = [];
    const events: GroupEvent[] = [];
    // Candidates a concurrent recoverer took are lost CASes: read again past them until the
    // limit is reached or no expired lease is left.
    for (let round = 0; round < 64 && recovered.length + dead.length < limit; round++) {
      const candidates = await this.c.jobs
        .find(
          { queue, state: "active", leaseExpiresAt: { $lte: now } },
          {
            sort: { leaseExpiresAt: 1 },
            limit: limit - recovered.length - dead.length,
            projection: { leaseToken: 1, attempts: 1, stalls: 1, id: 1, group: 1 },
          },
        )
        .toArray();
      if (candidates.length === 0) break;
      // Announce before the moves (see settle): a crash in between costs a wasted turn.
      await this.groups.release(
        candidates.flatMap((c) =>
          c.group == null || c.stalls + 1 > maxStalls
            ? []
            : [{ key: groupKey(queue, c.group), token: null, pendingAt: now }],
        ),
      );
      await Promise.all(
        candidates.map(async (c) => {
          const moved = await this.recoverOne(c, maxStalls, now);
          if (moved === null) return;
          (moved === "dead" ? dead : recovered).push(c.id);
          if (c.leaseToken !== null) {
            tokens.push(c.leaseToken);
            this.groups.forget(c.leaseToken);
          }
          if (c.group != null) {
            const pendingAt = moved === "dead" ? null : now;
            events.push({ key: groupKey(queue, c.group), token: c.leaseToken, pendingAt });
          }
        }),
      );
    }
    await Promise.all([this.claimer.releasePermits(queue, tokens), this.groups.release(events)]);
    await Promise.all([this.claimer.reconcilePermits(queue), this.groups.reconcileSlots(queue)]);
    // The beat every worker keeps: also the time to drop idle groups' documents, so a queue
    // grouped by ever-new keys does not keep one per key ever seen.
    const settings = await this.getSettings(queue);
    if (settings?.grouped === true) {
      await this.groups.prune(queue, groupLimits(settings), PRUNE_GROUPS_LIMIT);
    }
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
    const error: qf.AttemptError = {
      attempt: c.attempts,
      name: "StalledError",
      message: `lease expired ${stalls} times; worker probably crashed or blocked the event loop`,
      at: now,
      errorClass: "stalled",
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
              lastErrorClass: "stalled",
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

  /** Exact counts: one countDocuments per state on the `state_seq` index, in parallel. */
  async counts(queue: string): Promise<qf.JobCounts> {
    const now = this.now();
    const states: qf.JobState[] = [
      "waiting",
      "delayed",
      "active",
      "completed",
      "dead",
      "cancelled",
    ];
    const n = await Promise.all(
      states.map((s) => this.c.jobs.countDocuments(stateFilter(queue, s, now))),
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

  // ---------------------------------------------------------------- manage

  async getSettings(queue: string): Promise<SettingsDoc | null> {
    return this.c.queues.findOne({ _id: queue });
  }

  /** Change settings in one upsert that bumps `v`, so it also fences in-flight permit CASes. */
  async updateSettings(queue: string, patch: Partial<qf.QueueSettings>): Promise<SettingsDoc> {
    const set: Partial<SettingsDoc> = {};
    if (patch.paused !== undefined) set.paused = patch.paused === true;
    if (patch.concurrency !== undefined) set.concurrency = patch.concurrency;
    if (patch.rateLimit !== undefined) {
      set.rateMax = patch.rateLimit === null ? null : patch.rateLimit.max;
      set.rateWindowMs = patch.rateLimit === null ? null : Math.ceil(patch.rateLimit.windowMs);
      // Starts are recorded while a limit is set; turning it off forgets them.
      if (patch.rateLimit === null) set.starts = [];
    }
    if (patch.groupConcurrency !== undefined) set.groupConcurrency = patch.groupConcurrency;
    if (patch.groupRateLimit !== undefined) {
      const limit = patch.groupRateLimit;
      set.groupRateMax = limit === null ? null : limit.max;
      set.groupRateWindowMs = limit === null ? null : Math.ceil(limit.windowMs);
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
    this.claimer.noteSettings(queue, doc);
    if (patch.groupConcurrency !== undefined || patch.groupRateLimit !== undefined) {
      // Groups set aside under the old limits get another look (rare: O(groups set aside)).
      await this.groups.limitsChanged(queue, patch.groupRateLimit === null);
    }
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

  /** One page of a state matching a checked filter (see dead-letter-ops.ts). */
  listJobs(p: {
    queue: string;
    state: qf.JobState;
    filter: qf.JobFilter;
    after: ObjectId | null;
    fetch: number;
    now: number;
  }): Promise<JobDoc[]> {
    return listJobs(this.c, p);
  }

  /** Delete terminal jobs matching a checked clean request (see dead-letter-ops.ts). */
  clean(request: qf.CleanRequest, filter: qf.JobFilter): Promise<number> {
    return cleanJobs(this.c, {
      queue: request.queue,
      state: request.state,
      finishedBefore: request.finishedBefore,
      filter,
      limit: request.limit,
    });
  }

  /** Revive one dead or cancelled job of a checked request (see dead-letter-ops.ts). */
  retryJob(request: qf.RetryRequest, id: string): Promise<boolean> {
    return retryJob(
      this.c,
      () => this.now(),
      request,
      id,
      async (doc) => (await this.enqueuer.takeDedupKey(doc.queue, doc.dedupKey!, doc.id)).taken,
      (doc) => this.groups.announce(doc.queue, [{ group: doc.group!, runAt: this.now() }]),
    );
  }

  deadLetterStats(queue: string): Promise<qf.DeadLetterStats> {
    return deadLetterStats(this.c, queue, this.now());
  }

  /** Make a delayed job due now: one updateOne fenced on state and a future due time. */
  async promote(queue: string, id: string): Promise<boolean> {
    const now = this.now();
    const doc = await this.c.jobs.findOneAndUpdate(
      { _id: jobKey(queue, id), state: "delayed", runAt: { $gt: now } },
      { $set: { state: "waiting", runAt: now, stateSeq: new ObjectId() } },
      { projection: { group: 1 } },
    );
    if (doc?.group != null) await this.groups.announce(queue, [{ group: doc.group, runAt: now }]);
    return doc !== null;
  }
}
