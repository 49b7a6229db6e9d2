// Enqueue and dedup keys (live, throttle and debounce modes), on `_id`-keyed dedup
// documents: `_id` uniqueness is the lock, so no unique secondary index is needed.
import type { DedupMode, EnqueueResult, JobState, NewJob } from "@queueflow/core";
import { ObjectId } from "mongodb";
import { type JobDoc, newJobDoc, toJobRecord, toJson } from "./codec.js";
import { type Collections, jobKey } from "./collections.js";
import { isDuplicateKey } from "./errors.js";
import type { Groups } from "./groups.js";

/** A dedup key younger than this whose holder is not stored yet is being inserted. */
const DEDUP_INSERT_GRACE_MS = 5_000;

const LIVE: JobState[] = ["waiting", "delayed", "active"];
const PENDING: JobState[] = ["waiting", "delayed"];

/** What {@link Enqueuer.takeDedupKey} found: the key is ours, or held by `holder`. */
export type KeyOutcome = { taken: true } | { taken: false; holder: JobDoc };

export class Enqueuer {
  constructor(
    private readonly c: Collections,
    private readonly now: () => number,
    private readonly groups: Groups,
  ) {}

  /**
   * Store jobs. Jobs without a dedup key go in one unordered insertMany (a duplicate `_id`
   * means the id exists: its job is returned). A job with a dedup key first takes the key
   * (see {@link takeDedupKey}), then inserts itself; keyed jobs go one by one, so a later job
   * of the batch sees an earlier one's key. Grouped jobs announce their groups before and
   * after the inserts (see groups.ts).
   */
  async enqueue(jobs: readonly NewJob[]): Promise<EnqueueResult[]> {
    const now = this.now();
    const docs = jobs.map((job) => newJobDoc(job, now, new ObjectId()));
    await this.announceAll(docs);
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
      results[i] = await this.enqueueKeyed(doc, jobs[i]!, now);
    }
    // Again after the inserts: an idle correction between the first announce and an insert
    // would otherwise hide the job (see groups.ts).
    await this.announceAll(docs);
    return results as EnqueueResult[];
  }

  private async announceAll(docs: readonly JobDoc[]): Promise<void> {
    const byQueue = new Map<string, { group: string; runAt: number }[]>();
    for (const d of docs) {
      if (d.group == null) continue;
      const list = byQueue.get(d.queue) ?? [];
      list.push({ group: d.group, runAt: d.runAt });
      byQueue.set(d.queue, list);
    }
    await Promise.all([...byQueue].map(([queue, list]) => this.groups.announce(queue, list)));
  }

  private async enqueueKeyed(doc: JobDoc, job: NewJob, now: number): Promise<EnqueueResult> {
    const existing = await this.c.jobs.findOne({ _id: doc._id });
    if (existing !== null) return { job: toJobRecord(existing, now), created: false };
    const mode: DedupMode = job.dedupMode ?? "live";
    const until = mode === "throttle" ? now + Number(job.dedupTtlMs) : null;
    for (let round = 0; ; round++) {
      const outcome = await this.takeDedupKey(doc.queue, doc.dedupKey!, doc.id, mode, until);
      if (!outcome.taken) {
        if (mode !== "debounce") {
          return { job: toJobRecord(outcome.holder, this.now()), created: false };
        }
        const updated = await this.debounce(outcome.holder, job);
        if (updated !== null) return { job: toJobRecord(updated, this.now()), created: false };
        // The holder started meanwhile: look again (it no longer absorbs adds).
        if (round < 100) continue;
      }
      break;
    }
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
   * A debounced add into a holder that has not started: one findOneAndUpdate fenced on the
   * holder still pending takes the new payload and due time (now + the add's delay). Null
   * when the holder started meanwhile.
   */
  private async debounce(holder: JobDoc, job: NewJob): Promise<JobDoc | null> {
    const now = this.now();
    const runAt = Math.round(job.runAt ?? now + Math.max(0, Math.ceil(job.delayMs)));
    const updated = await this.c.jobs.findOneAndUpdate(
      { _id: holder._id, state: { $in: PENDING } },
      {
        $set: {
          payload: toJson(job.payload),
          runAt,
          state: runAt > now ? "delayed" : "waiting",
          stateSeq: new ObjectId(),
        },
      },
      { returnDocument: "after" },
    );
    if (updated?.group != null) {
      await this.groups.announce(updated.queue, [{ group: updated.group, runAt }]);
    }
    return updated;
  }

  /**
   * Take dedup key `key` of `queue` for job `jobId` (adding in `mode`; `until` is a
   * throttle window's end). Returns `taken` (the caller inserts its job next) or the holder.
   *
   * The dedup document is the lock: `_id` uniqueness lets exactly one of several racing
   * enqueuers insert it. The holder keeps the key while it is live; a throttled add also
   * while the window the holder's add opened lasts (`until`) and the holder exists. A
   * debounced add gets a holder that has not started (to update it); a holder that is
   * active or finished is replaced at once by a compare-and-set on the lock's job id, so
   * the new job becomes the key's holder. Any other holder (terminal, or gone: removed, or
   * its enqueuer crashed between key and insert) is replaced by a compare-and-delete.
   * Terminal transitions do not delete keys themselves (that would cost settle a second
   * write). A holder not stored yet but younger than {@link DEDUP_INSERT_GRACE_MS} is being
   * inserted: wait for it briefly rather than take the key from under it.
   */
  async takeDedupKey(
    queue: string,
    key: string,
    jobId: string,
    mode: DedupMode = "live",
    until: number | null = null,
  ): Promise<KeyOutcome> {
    const _id = jobKey(queue, key);
    for (let round = 0; ; round++) {
      const at = this.now();
      try {
        await this.c.dedup.insertOne({ _id, queue, jobId, at, until });
        return { taken: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const lock = await this.c.dedup.findOne({ _id });
      if (lock === null) continue;
      if (lock.jobId === jobId) return { taken: true };
      const holder = await this.c.jobs.findOne({ _id: jobKey(queue, lock.jobId) });
      if (holder !== null && holder.dedupKey === key) {
        if (mode === "debounce") {
          if (PENDING.includes(holder.state)) return { taken: false, holder };
          const res = await this.c.dedup.updateOne(
            { _id, jobId: lock.jobId },
            { $set: { jobId, at: this.now(), until: null } },
          );
          if (res.matchedCount === 1) return { taken: true };
          continue;
        }
        if (LIVE.includes(holder.state)) return { taken: false, holder };
        if (mode === "throttle" && (lock.until ?? 0) > this.now()) {
          return { taken: false, holder };
        }
      }
      if (holder === null && this.now() - lock.at < DEDUP_INSERT_GRACE_MS && round < 200) {
        await new Promise((r) => setTimeout(r, Math.min(50, 2 + round * 2)));
        continue;
      }
      await this.c.dedup.deleteOne({ _id, jobId: lock.jobId });
    }
  }
}
