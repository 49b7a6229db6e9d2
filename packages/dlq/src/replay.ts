import type { JobFilter, JobRecord, Json, StorageAdapter } from "@queueflow/core";
import { boundedBy } from "./filter.js";
import {
  type PayloadPatch,
  patchPayload,
  type ReplayFailReason,
  type ReplaySkipReason,
} from "./payload-patch.js";
import { mapBounded } from "./validate.js";

/** A job, named by its queue and id (ids are unique per queue only). */
export interface JobRef {
  queue: string;
  id: string;
}

/** A job a replay left dead on purpose, and why. */
export interface SkippedJob extends JobRef {
  reason: ReplaySkipReason;
}

/** A job a replay could not prepare, and why. It stays dead. */
export interface FailedJob extends JobRef {
  reason: ReplayFailReason;
  message: string;
}

/** Why a replay walk ended. */
export type ReplayStop = "done" | "max_jobs" | "aborted";

/** Cumulative counts, reported after each batch. */
export interface ReplayProgress {
  /** The queue of the batch just done. */
  queue: string;
  /** Jobs looked at so far (replayed + skipped + failed). */
  processed: number;
  replayed: number;
  skipped: number;
  failed: number;
}

/** What a replay did. A replay run twice with the same `asOf` replays nothing the second time. */
export interface ReplayResult {
  /** The store time the replay was bounded by: pass it again to repeat the request safely. */
  asOf: number;
  counts: { replayed: number; skipped: number; failed: number };
  replayed: JobRef[];
  skipped: SkippedJob[];
  failed: FailedJob[];
  /** `done` when every matching job was looked at. */
  stoppedBy: ReplayStop;
  /**
   * Where the walk stopped, when it did not finish: pass it as `cursor` with the same filter
   * and `asOf` to go on past the jobs already looked at (skipped ones included). Null when done.
   */
  nextCursor: string | null;
}

/** The settled inputs of one replay run. */
export interface ReplayPlan {
  adapter: StorageAdapter;
  queues: readonly string[];
  jobFilter: JobFilter;
  asOf: number;
  patch: PayloadPatch | undefined;
  maxAttempts: number | undefined;
  maxJobs: number;
  batchSize: number;
  maxPayloadBytes: number;
  signal: AbortSignal | undefined;
  onProgress: ((progress: ReplayProgress) => void | Promise<void>) | undefined;
  /** Where to start: index into `queues` and that queue's adapter cursor. */
  start: { index: number; cursor: string | null };
  /** Encodes a stopping point (queue, adapter cursor) as the caller's cursor. */
  encode: (queue: string, cursor: string | null) => string;
}

/** How many jobs that did not move are read back at once to find out why. */
const EXPLAIN_CONCURRENCY = 16;

/** Accumulates outcomes across batches. */
export class ReplayTally {
  readonly replayed: JobRef[] = [];
  readonly skipped: SkippedJob[] = [];
  readonly failed: FailedJob[] = [];

  get processed(): number {
    return this.replayed.length + this.skipped.length + this.failed.length;
  }

  progress(queue: string): ReplayProgress {
    return {
      queue,
      processed: this.processed,
      replayed: this.replayed.length,
      skipped: this.skipped.length,
      failed: this.failed.length,
    };
  }

  result(asOf: number, stoppedBy: ReplayStop, nextCursor: string | null = null): ReplayResult {
    return {
      asOf,
      counts: {
        replayed: this.replayed.length,
        skipped: this.skipped.length,
        failed: this.failed.length,
      },
      replayed: this.replayed,
      skipped: this.skipped,
      failed: this.failed,
      stoppedBy,
      nextCursor,
    };
  }
}

/**
 * Replay every dead job of `plan.queues` matching the filter that died at or before
 * `asOf`: one page of `listJobs`, then one `retryJobs` for the page, until the walk ends,
 * `maxJobs` were looked at, or the signal aborts (checked between batches).
 */
export async function replayMatching(plan: ReplayPlan): Promise<ReplayResult> {
  const tally = new ReplayTally();
  const finishedBefore = boundedBy(plan.jobFilter, plan.asOf);
  for (let index = plan.start.index; index < plan.queues.length; index++) {
    const queue = plan.queues[index] as string;
    let cursor: string | null = index === plan.start.index ? plan.start.cursor : null;
    do {
      if (plan.signal?.aborted) {
        return tally.result(plan.asOf, "aborted", plan.encode(queue, cursor));
      }
      const room = plan.maxJobs - tally.processed;
      if (room <= 0) return tally.result(plan.asOf, "max_jobs", plan.encode(queue, cursor));
      const page = await plan.adapter.listJobs({
        ...plan.jobFilter,
        finishedBefore,
        queue,
        state: "dead",
        cursor,
        limit: Math.min(plan.batchSize, room),
      });
      if (page.jobs.length > 0) {
        await replayBatch(plan, queue, page.jobs, tally);
        await plan.onProgress?.(tally.progress(queue));
      }
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  return tally.result(plan.asOf, "done");
}

/** Replay the dead jobs `jobs` of `queue` (read just before) with one `retryJobs` call. */
export async function replayBatch(
  plan: ReplayPlan,
  queue: string,
  jobs: readonly JobRecord[],
  tally: ReplayTally,
): Promise<void> {
  const ids: string[] = [];
  const payloads = new Map<string, Json>();
  for (const job of jobs) {
    if (plan.patch !== undefined) {
      const outcome = await patchPayload(job, plan.patch, plan.maxPayloadBytes);
      if (outcome.kind === "skip") {
        tally.skipped.push({ queue, id: job.id, reason: outcome.reason });
        continue;
      }
      if (outcome.kind === "fail") {
        tally.failed.push({ queue, id: job.id, reason: outcome.reason, message: outcome.message });
        continue;
      }
      payloads.set(job.id, outcome.payload);
    }
    ids.push(job.id);
  }
  if (ids.length === 0) return;
  const moved = new Set(
    await plan.adapter.retryJobs({
      queue,
      ids,
      payloadPatch: null,
      // fromEntries: a job id may be "__proto__", which must stay an own key.
      ...(payloads.size > 0 ? { payloads: Object.fromEntries(payloads) } : {}),
      ...(plan.maxAttempts !== undefined ? { maxAttempts: plan.maxAttempts } : {}),
      asOf: plan.asOf,
    }),
  );
  const stayed: string[] = [];
  for (const id of ids) {
    if (moved.has(id)) tally.replayed.push({ queue, id });
    else stayed.push(id);
  }
  // The store only says which moved; reading the others back tells why they did not.
  const reasons = await mapBounded(stayed, EXPLAIN_CONCURRENCY, async (id) =>
    skipReason(await plan.adapter.getJob(queue, id), plan.asOf),
  );
  stayed.forEach((id, i) => {
    tally.skipped.push({ queue, id, reason: reasons[i] as ReplaySkipReason });
  });
}

/** Why `job` (read back after `retryJobs` left it) was not moved. */
export function skipReason(job: JobRecord | null, asOf: number): ReplaySkipReason {
  if (job === null) return "not_found";
  if (job.state !== "dead") return "not_dead";
  if (job.finishedAt !== null && job.finishedAt > asOf) return "failed_after_as_of";
  if (job.dedupKey !== null) return "dedup_key_held";
  return "not_moved";
}
