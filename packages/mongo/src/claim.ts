// Claims: lease due jobs in contract order, honouring the queue's limits (permits) and, on
// a grouped queue, taking turns between groups (groups.ts).
import { randomUUID } from "node:crypto";
import type { ClaimedJob, ClaimRequest, ClaimResult } from "@queueflow/core";
import type { Filter, UpdateFilter } from "mongodb";
import { ObjectId } from "mongodb";
import { type JobDoc, type Permit, type SettingsDoc, type Start, toClaimedJob } from "./codec.js";
import type { Collections } from "./collections.js";
import { type Groups, groupLimits } from "./groups.js";

/** Claim order: priority high to low, due time, insertion (the `claim_order` index). */
const CLAIM_SORT = { priority: -1, runAt: 1, seq: 1 } as const;
/** Rounds of a batch claim that lost candidates to concurrent claimers (see takeJobs). */
const MAX_CLAIM_ROUNDS = 8;
/** Rounds of claim's compare-and-set on a limited queue before it answers "nothing now". */
const MAX_PERMIT_ROUNDS = 32;

/** Contract order among claimed jobs: priority high to low, due time, insertion. */
function claimOrder(a: JobDoc, b: JobDoc): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.runAt !== b.runAt) return a.runAt - b.runAt;
  return a.seq.toHexString() < b.seq.toHexString() ? -1 : 1;
}

export class Claimer {
  /** Lease tokens this process took a concurrency permit for, by queue: released on settle. */
  readonly permitTokens = new Map<string, string>();
  /** Queues whose last claim in this process came back short (see {@link claim}). */
  private readonly shortLast = new Set<string>();
  /** Queues last seen unpaused and unlimited (see {@link isPlain}). */
  private readonly plain = new Set<string>();
  /** Queues last seen holding grouped jobs. */
  private readonly grouped = new Set<string>();
  /** Queues whose settings this process has read. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly c: Collections,
    private readonly now: () => number,
    private readonly options: { permitGraceMs: number },
    private readonly groups: Groups,
  ) {}

  /** Whether this process last saw `queue` without grouped jobs (unknown queues: false). */
  isKnownUngrouped(queue: string): boolean {
    return this.seen.has(queue) && !this.grouped.has(queue);
  }

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
    const grouped = settings?.grouped === true;
    const filter: Filter<JobDoc> = {
      queue: request.queue,
      state: { $in: ["waiting", "delayed"] },
      runAt: { $lte: now },
    };
    if (range !== null) {
      filter.priority = { $gte: Math.ceil(range.min), $lte: Math.floor(range.max) };
      // Priority orders jobs within a group only: a ranged claim takes ungrouped jobs.
      if (grouped) filter.group = null;
    }
    const leaseExpiresAt = now + Math.ceil(request.leaseMs);
    // The next due time matters only after a short batch (the worker then waits until it at
    // most). A queue whose last claim here came back short is likely idle: look it up
    // alongside the claims, costing no extra round trip; under load (full batches) skip it,
    // and look it up after the claims should this batch come back short.
    const nextDue = this.shortLast.has(request.queue) ? this.nextDueAt(request.queue, now) : null;
    nextDue?.catch(() => undefined);
    const lease = (token: string): UpdateFilter<JobDoc> => ({
      $set: {
        state: "active",
        leaseToken: token,
        leaseExpiresAt,
        startedAt: now,
        workerId: request.workerId,
        stateSeq: new ObjectId(),
      },
      $inc: { attempts: 1 },
    });
    let claimed: JobDoc[];
    if (grouped && range === null) {
      // Turns between groups, returned in turn order (see groups.ts).
      claimed = await this.groups.claimTurns({
        queue: request.queue,
        tokens,
        now,
        limits: groupLimits(settings),
        take: (f, t) => this.takeJobs(f, t, lease),
      });
    } else {
      const docs = await this.takeJobs(filter, tokens, lease);
      claimed = docs.sort(claimOrder);
      // A job of a group claimed by a ranged claim or before the queue was seen grouped:
      // its settle must still free its slot and announce its group.
      for (const d of docs) if (d.group != null) this.groups.remember(d.leaseToken!, d);
    }
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
      const [due, turnAt] = await Promise.all([
        nextDue ?? this.nextDueAt(request.queue, now),
        grouped ? this.groups.nextTurnAt(request.queue, now) : null,
      ]);
      nextWakeAt = earliest(earliest(due, rateFreeAt), turnAt);
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
    const now = this.now();
    const grouped = this.grouped.has(queue);
    const [settings, job, open] = await Promise.all([
      this.c.queues.findOne({ _id: queue }),
      this.c.jobs.findOne(
        {
          queue,
          state: { $in: ["waiting", "delayed"] },
          runAt: { $lte: now },
          // A grouped queue's grouped jobs count only through a group that may take a turn.
          ...(grouped ? { group: null } : {}),
        },
        { projection: { _id: 1 } },
      ),
      grouped ? this.groups.hasOpenGroup(queue, now) : false,
    ]);
    this.noteSettings(queue, settings);
    return (job !== null || open) && settings?.paused !== true;
  }

  /**
   * Whether the queue was, when this process last read its settings, unpaused and without
   * a concurrency cap or rate limit: then no change of its settings can be work for a
   * waiter, and the wake-up does not watch them. Unknown queues count as not plain.
   */
  isPlain(queue: string): boolean {
    return this.plain.has(queue);
  }

  noteSettings(queue: string, settings: SettingsDoc | null): void {
    this.seen.add(queue);
    if (settings?.grouped === true) this.grouped.add(queue);
    else this.grouped.delete(queue);
    const plain =
      settings === null ||
      (settings.paused !== true && settings.concurrency === null && settings.rateMax === null);
    if (plain) this.plain.add(queue);
    else this.plain.delete(queue);
  }
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null || a <= b ? a : b;
}
