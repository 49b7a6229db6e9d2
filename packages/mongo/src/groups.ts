// Job groups: fair turns between a queue's groups, and per-group concurrency and rate
// limits, each enforced by a single-document atomic write on the group's document.
//
// The `groups` collection holds one document per (queue, group) and one for the queue's
// ungrouped jobs (the "lane", `group: null`), which takes turns like a group but has no
// group limits. A group's `turn` is its place in the rotation: it may take a turn when
// `turn <= now`, smallest first. Protocol of one turn (see claimTurns):
//
// 1. Pick: one findOneAndUpdate on the `turn` index, filter {queue, parked: false,
//    turn <= now, slots.<cap-1> absent, rate window not full}, sort {turn, _id}, update
//    {turn: now + 1 (the back of the rotation), $push a slot and a start (the lease token)}.
//    The filter and the push are one atomic write, so concurrent claimers can never take
//    more than `groupConcurrency` slots or `groupRateLimit.max` starts of a group.
// 2. Lease: one findOneAndUpdate of the group's next job in claim order (priority, due
//    time, insertion) on the `group_claim_order` index, as for an ungrouped claim.
// 3. Follow up: no job → give the slot and the start back. A full group is parked (out of
//    the rotation, so no claim looks at it) until a slot frees; a group whose rate window is
//    full moves its turn to when the window frees; a group with nothing due now moves its
//    turn to its earliest due job, or to IDLE_TURN when it has none, by a compare-and-set
//    on `v` (every write that adds pending work bumps `v` and lowers `turn` with $min).
//
// Work that becomes pending (enqueue, retry, snooze, stall recovery, replay, promotion)
// announces its group: {$min: {turn: max(runAt, now)}, $inc: {v: 1}}. An enqueue announces
// before inserting (a crash in between costs one wasted turn, never a lost job) and again
// after (so an idle correction that ran in between cannot hide the new job).
import type { RateLimit } from "@queueflow/core";
import { type AnyBulkWriteOperation, type Filter, ObjectId, type UpdateFilter } from "mongodb";
import { type GroupDoc, IDLE_TURN, type JobDoc, type SettingsDoc } from "./codec.js";
import type { Collections } from "./collections.js";

/** Parallel picks in a claim's first pass; doubled while every pick finds a group. */
const FANOUT = 8;
/** Passes of one claim (each pass gives every open group at most one turn). */
const MAX_PASSES = 64;
/** Lease tokens remembered per process (see {@link Groups.remember}). */
const MAX_TOKENS = 100_000;

/** The per-group limits of a queue's settings. */
export interface GroupLimits {
  cap: number | null;
  rate: RateLimit | null;
}

export function groupLimits(settings: SettingsDoc | null): GroupLimits {
  const max = settings?.groupRateMax ?? null;
  const windowMs = settings?.groupRateWindowMs ?? null;
  return {
    cap: settings?.groupConcurrency ?? null,
    rate: max === null || windowMs === null ? null : { max, windowMs },
  };
}

/** `_id` of a group's document; `queue:` for the ungrouped lane (groups are never empty). */
export function groupKey(queue: string, group: string | null | undefined): string {
  return `${queue}:${group ?? ""}`;
}

/** What a lease token of a job claimed here means for its group. */
interface TokenInfo {
  /** The group document, or null for an ungrouped job of a grouped queue. */
  key: string | null;
}

/** Input of {@link Groups.claimTurns}. */
export interface TurnRequest {
  queue: string;
  tokens: readonly string[];
  now: number;
  limits: GroupLimits;
  /** Lease up to `tokens.length` jobs matching `filter`, best first (claim.ts takeJobs). */
  take: (filter: Filter<JobDoc>, tokens: readonly string[]) => Promise<JobDoc[]>;
}

/** A job leaving active or becoming pending, for {@link Groups.release}. */
export interface GroupEvent {
  key: string;
  /** The job's lease token (its slot), or null. */
  token: string | null;
  /** When the job becomes due again, or null when it does not go back to pending. */
  pendingAt: number | null;
}

export class Groups {
  /** Lease tokens of jobs of grouped queues claimed by this process. */
  private readonly tokens = new Map<string, TokenInfo>();
  /** Queues this process marked as grouped (their settings and lane exist). */
  private readonly marked = new Set<string>();

  constructor(
    private readonly c: Collections,
    private readonly now: () => number,
    private readonly graceMs: number,
  ) {}

  /** Remember a claimed job's group, so its settle frees its slot and announces it. */
  remember(token: string, job: Pick<JobDoc, "queue" | "group">): void {
    this.tokens.set(token, { key: job.group == null ? null : groupKey(job.queue, job.group) });
    // Tokens whose jobs another process settled or recovered are never forgotten here:
    // bound the map (oldest first); a forgotten token's slot is repaired by reconcileSlots.
    if (this.tokens.size > MAX_TOKENS) {
      for (const old of this.tokens.keys()) {
        this.tokens.delete(old);
        if (this.tokens.size <= MAX_TOKENS / 2) break;
      }
    }
  }

  /** The group document of a token claimed here, without forgetting it. */
  peek(token: string): string | null | undefined {
    return this.tokens.get(token)?.key;
  }

  /** The group of a token claimed here (forgetting it), or undefined if not claimed here. */
  forget(token: string): TokenInfo | undefined {
    const info = this.tokens.get(token);
    if (info !== undefined) this.tokens.delete(token);
    return info;
  }

  /**
   * Announce pending work of groups (one bulk upsert): each group's turn comes no later
   * than its job's due time. The first time in this process, also mark the queue grouped
   * and create its lane.
   */
  async announce(queue: string, entries: readonly { group: string; runAt: number }[]) {
    if (entries.length === 0) return;
    const now = this.now();
    const earliest = new Map<string, number>();
    for (const e of entries) {
      const at = Math.max(e.runAt, now);
      earliest.set(e.group, Math.min(at, earliest.get(e.group) ?? at));
    }
    const ops: AnyBulkWriteOperation<GroupDoc>[] = [...earliest].map(([group, turn]) => ({
      updateOne: {
        filter: { _id: groupKey(queue, group) },
        update: {
          $min: { turn },
          $inc: { v: 1 },
          $setOnInsert: {
            queue,
            group,
            parked: false,
            slots: [],
            starts: [],
            gen: new ObjectId().toHexString(),
          },
        },
        upsert: true,
      },
    }));
    await Promise.all([this.c.groups.bulkWrite(ops, { ordered: false }), this.mark(queue, now)]);
  }

  private async mark(queue: string, now: number): Promise<void> {
    if (this.marked.has(queue)) return;
    const lane: Omit<GroupDoc, "_id"> = {
      queue,
      group: null,
      // Behind the groups announced with it: ungrouped jobs join the rotation at its back.
      turn: now + 1,
      parked: false,
      slots: [],
      starts: [],
      v: 0,
    };
    await Promise.all([
      this.c.groups.updateOne(
        { _id: groupKey(queue, null) },
        { $setOnInsert: lane },
        { upsert: true },
      ),
      this.c.queues.updateOne(
        { _id: queue },
        {
          $set: { grouped: true },
          $setOnInsert: {
            paused: false,
            concurrency: null,
            rateMax: null,
            rateWindowMs: null,
            permits: [],
            starts: [],
            v: 0,
          },
        },
        { upsert: true },
      ),
    ]);
    this.marked.add(queue);
  }

  /**
   * Free slots of jobs that left active (`token`) and announce jobs that went back to
   * pending (`pendingAt`), in one unordered bulk write.
   */
  async release(events: readonly GroupEvent[]): Promise<void> {
    if (events.length === 0) return;
    const now = this.now();
    const ops: AnyBulkWriteOperation<GroupDoc>[] = events.map((e) => {
      const update: UpdateFilter<GroupDoc> = {};
      if (e.token !== null) {
        // A freed slot: a parked (full) group takes turns again.
        update.$pull = { slots: { id: e.token } };
        update.$set = { parked: false };
      }
      if (e.pendingAt !== null) {
        update.$min = { turn: Math.max(e.pendingAt, now) };
        update.$inc = { v: 1 };
      }
      return { updateOne: { filter: { _id: e.key }, update } };
    });
    await this.c.groups.bulkWrite(ops, { ordered: false });
  }

  /**
   * Lease up to `tokens.length` jobs of a grouped queue taking turns: each pass picks up
   * to `fanout` groups in parallel (the ones whose turn came first) and leases one job of
   * each; groups served in a pass may take another turn in the next one, behind every
   * group that has not had one. When a pass picked every open group (some picks found
   * none) the rest of the batch is shared between the groups it picked that have no group
   * limits (the lane always), each leasing its share in one walk of its claim order, so a
   * batch from a few large groups does not cost a pass per job. Returns the jobs in turn
   * order.
   */
  async claimTurns(p: TurnRequest): Promise<JobDoc[]> {
    const out: JobDoc[] = [];
    let free = [...p.tokens];
    let fanout = FANOUT;
    const unlimited = p.limits.cap === null && p.limits.rate === null;
    for (let pass = 0; pass < MAX_PASSES && free.length > 0; pass++) {
      const want = Math.min(free.length, fanout);
      const turnTokens = free.slice(0, want);
      const picks = await Promise.all(turnTokens.map((t) => this.pick(p, t, pass)));
      const picked = picks.flatMap((doc, i) =>
        doc === null ? [] : [{ doc, tokens: [turnTokens[i]!] }],
      );
      if (picked.length === 0) break;
      if (picked.length < want) {
        const taken = new Set(picked.map((t) => t.tokens[0]));
        const spare = free.filter((t) => !taken.has(t));
        const sharers = picked.filter((t) => unlimited || t.doc.group === null);
        let next = 0;
        sharers.forEach((turn, i) => {
          const n =
            Math.floor(spare.length / sharers.length) + (i < spare.length % sharers.length ? 1 : 0);
          turn.tokens.push(...spare.slice(next, next + n));
          next += n;
        });
      }
      const jobs = await Promise.all(picked.map((t) => this.serve(p, t.doc, t.tokens)));
      let got = 0;
      for (const list of jobs) {
        out.push(...list);
        got += list.length;
      }
      const used = new Set(out.map((j) => j.leaseToken));
      free = free.filter((t) => !used.has(t));
      // Fewer open groups than picks and none had a job: nothing else can take a turn.
      if (picked.length < want && got === 0) break;
      if (picked.length === want) fanout *= 2;
    }
    return out;
  }

  /** Step 1: take the first open group's turn, and a slot and a start in it. */
  private pick(p: TurnRequest, token: string, pass: number): Promise<GroupDoc | null> {
    const { cap, rate } = p.limits;
    const and: Filter<GroupDoc>[] = [];
    if (cap !== null) {
      and.push(
        cap <= 0
          ? { group: null }
          : { $or: [{ group: null }, { [`slots.${cap - 1}`]: { $exists: false } }] },
      );
    }
    if (rate !== null) {
      and.push(
        rate.max <= 0
          ? { group: null }
          : {
              $or: [
                { group: null },
                { [`starts.${rate.max - 1}`]: { $exists: false } },
                { "starts.0.t": { $lte: p.now - rate.windowMs } },
              ],
            },
      );
    }
    const filter: Filter<GroupDoc> = {
      queue: p.queue,
      parked: false,
      turn: { $lte: p.now + pass },
    };
    if (and.length > 0) filter.$and = and;
    const push: Record<string, unknown> = {};
    // The filter admits a push only below the cap, so $slice never drops a group's slot or
    // start; it bounds what the lane (which has no group limits) accumulates.
    if (cap !== null) {
      push.slots = { $each: [{ id: token, at: p.now }], $slice: cap > 0 ? -cap : 0 };
    }
    if (rate !== null) {
      push.starts = { $each: [{ id: token, t: p.now }], $slice: rate.max > 0 ? -rate.max : 0 };
    }
    const update: UpdateFilter<GroupDoc> = { $set: { turn: p.now + pass + 1 }, $inc: { v: 1 } };
    if (Object.keys(push).length > 0) update.$push = push as UpdateFilter<GroupDoc>["$push"];
    return this.c.groups.findOneAndUpdate(filter, update, {
      sort: { turn: 1, _id: 1 },
      returnDocument: "after",
    });
  }

  /**
   * Steps 2 and 3: lease the group's next due job (or its share of the batch, `tokens`
   * after the first, which took the slot), then follow up on the group document.
   */
  private async serve(p: TurnRequest, doc: GroupDoc, tokens: string[]): Promise<JobDoc[]> {
    const token = tokens[0]!;
    const jobs = await p.take(
      {
        queue: p.queue,
        group: doc.group,
        state: { $in: ["waiting", "delayed"] },
        runAt: { $lte: p.now },
      },
      tokens,
    );
    for (const job of jobs) this.remember(job.leaseToken!, job);
    const job = jobs.find((j) => j.leaseToken === token) ?? null;
    // The lane has no limits and never idles: its turn already moved to the back.
    if (doc.group === null) return jobs;
    const { cap, rate } = p.limits;
    const follow: Promise<unknown>[] = [this.settleTurn(doc, p.now)];
    if (jobs.length === 0) {
      follow.push(
        this.c.groups.updateOne(
          { _id: doc._id },
          { $pull: { slots: { id: token }, starts: { id: token } }, $set: { parked: false } },
        ),
      );
    } else if (job !== null) {
      if (cap !== null && doc.slots.length >= cap) {
        // Full: out of the rotation until a slot frees (fenced, so a release that came
        // first leaves it open).
        follow.push(
          this.c.groups.updateOne(
            { _id: doc._id, [`slots.${cap - 1}`]: { $exists: true } },
            { $set: { parked: true } },
          ),
        );
      }
      const freeAt = rate === null ? null : rateFreeAt(doc, p.now, rate);
      if (freeAt !== null) {
        follow.push(this.c.groups.updateOne({ _id: doc._id }, { $max: { turn: freeAt } }));
      }
    }
    await Promise.all(follow);
    return jobs;
  }

  /**
   * A group with nothing due now leaves the rotation: its turn moves to its earliest
   * pending job's due time, or to IDLE_TURN, by a compare-and-set on `v` (work announced
   * since the pick bumped it, so the write does not apply and the group keeps its turn).
   */
  private async settleTurn(doc: GroupDoc, now: number): Promise<void> {
    const head = await this.c.jobs.findOne(
      { queue: doc.queue, group: doc.group, state: { $in: ["waiting", "delayed"] } },
      { sort: { runAt: 1 }, projection: { runAt: 1 } },
    );
    if (head !== null && head.runAt <= now) return;
    await this.c.groups.updateOne(
      { _id: doc._id, v: doc.v, ...sameIncarnation(doc) },
      { $max: { turn: head === null ? IDLE_TURN : head.runAt } },
    );
  }

  /**
   * Delete the documents of up to `limit` idle groups of `queue`: turn IDLE_TURN, no slot, no
   * start inside the rate window, and no waiting, delayed or active job (looked up in one
   * query, since without a cap a group's active jobs hold no slot). Each delete is a compare-and-set
   * on `v` and `gen`: an announce since the read (an add, a retry) keeps the document, and an
   * add whose announce comes after the delete makes it again. Returns how many were deleted.
   */
  async prune(queue: string, limits: GroupLimits, limit: number): Promise<number> {
    const now = this.now();
    const rate = limits.rate;
    const idle = (
      await this.c.groups
        .find({ queue, parked: false, turn: IDLE_TURN, group: { $ne: null } }, { limit })
        .toArray()
    ).filter(
      (doc) =>
        (doc.slots?.length ?? 0) === 0 &&
        (rate === null || doc.starts.every((st) => st.t <= now - rate.windowMs)),
    );
    if (idle.length === 0) return 0;
    // One query for which of them still have work, not one per group.
    const busy = new Set(
      await this.c.jobs.distinct("group", {
        queue,
        group: { $in: idle.map((doc) => doc.group) },
        state: { $in: ["waiting", "delayed", "active"] },
      }),
    );
    const deleted = await Promise.all(
      idle.map(async (doc) => {
        if (busy.has(doc.group)) return 0;
        const r = await this.c.groups.deleteOne({
          _id: doc._id,
          v: doc.v,
          turn: IDLE_TURN,
          ...sameIncarnation(doc),
        });
        return r.deletedCount;
      }),
    );
    return deleted.reduce((a, b) => a + b, 0);
  }

  /** When the earliest group out of the rotation for a time (rate window, future jobs) returns. */
  async nextTurnAt(queue: string, now: number): Promise<number | null> {
    const next = await this.c.groups.findOne(
      { queue, parked: false, group: { $ne: null }, turn: { $gt: now, $lt: IDLE_TURN } },
      { sort: { turn: 1 }, projection: { turn: 1 } },
    );
    return next === null ? null : next.turn;
  }

  /** Whether some group may take a turn now (a hint for waiters; the claim decides). */
  async hasOpenGroup(queue: string, now: number): Promise<boolean> {
    const open = await this.c.groups.findOne(
      { queue, parked: false, group: { $ne: null }, turn: { $lte: now } },
      { projection: { _id: 1 } },
    );
    return open !== null;
  }

  /** Group limits changed: every parked or waiting-out group gets another look. */
  async limitsChanged(queue: string, clearStarts: boolean): Promise<void> {
    const now = this.now();
    await Promise.all([
      this.c.groups.updateMany(
        { queue, parked: true },
        clearStarts ? { $set: { parked: false, starts: [] } } : { $set: { parked: false } },
      ),
      this.c.groups.updateMany(
        { queue, turn: { $gt: now, $lt: IDLE_TURN } },
        { $set: { turn: now }, $inc: { v: 1 } },
      ),
      clearStarts ? this.c.groups.updateMany({ queue }, { $set: { starts: [] } }) : null,
    ]);
  }

  /**
   * Repair leaked slots (a claimer that died between pick and lease, or a settle whose
   * release was lost, or a job settled by another process): slots older than the grace
   * whose token no active job carries are freed and their group unparked. Run by
   * recoverStalled; O(groups holding slots older than the grace).
   */
  async reconcileSlots(queue: string): Promise<void> {
    const cutoff = this.now() - this.graceMs;
    const docs = await this.c.groups
      .find({ queue, "slots.at": { $lt: cutoff } }, { projection: { slots: 1 } })
      .toArray();
    if (docs.length === 0) return;
    const old = docs.flatMap((d) => d.slots.filter((s) => s.at < cutoff).map((s) => s.id));
    const active = await this.c.jobs
      .find({ queue, state: "active", leaseToken: { $in: old } }, { projection: { leaseToken: 1 } })
      .toArray();
    const live = new Set(active.map((j) => j.leaseToken));
    await Promise.all(
      docs.map((d) => {
        const leaked = d.slots.filter((s) => s.at < cutoff && !live.has(s.id)).map((s) => s.id);
        if (leaked.length === 0) return null;
        return this.c.groups.updateOne(
          { _id: d._id },
          { $pull: { slots: { id: { $in: leaked } } }, $set: { parked: false } },
        );
      }),
    );
  }
}

/** When a group whose window this start filled may start again, or null if not full. */
function rateFreeAt(doc: GroupDoc, now: number, rate: RateLimit): number | null {
  const inWindow = doc.starts.filter((s) => s.t > now - rate.windowMs);
  if (rate.max <= 0 || inWindow.length < rate.max) return null;
  return inWindow[inWindow.length - rate.max]!.t + rate.windowMs;
}

/** A filter matching `doc`'s incarnation (see {@link GroupDoc.gen}). */
function sameIncarnation(doc: GroupDoc): Filter<GroupDoc> {
  return doc.gen === undefined ? { gen: { $exists: false } } : { gen: doc.gen };
}
