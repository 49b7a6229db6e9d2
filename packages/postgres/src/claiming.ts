import type { ClaimedJob, ClaimRequest, ClaimResult } from "@queueflow/core";
import { type JobRow, numOrNull, toClaimedJob } from "./codec.js";
import type { Run } from "./dead-letters.js";
import * as q from "./queries.js";
import type { Schema } from "./schema.js";

type ClaimRow = JobRow & {
  next_due: string | null;
  rate_free: string | null;
  group_free: string | null;
  grouped?: boolean | null;
  held?: boolean | null;
  more_due?: boolean | null;
  skipped?: boolean | null;
  clock_now?: string | null;
};

/** First and longest wait (ms) before claiming again after a claim skipped locked groups. */
const SKIP_RETRY_MS = 2;
const SKIP_RETRY_MAX_MS = 64;

/** What one adapter remembers between claims, per queue. */
export interface ClaimMemory {
  /** Queues known to have groups: their claims go straight to the grouped statement. */
  readonly grouped: Set<string>;
  /** Queues last seen paused, capped or rate-limited: claimed through the full statement. */
  readonly held: Set<string>;
  /** The wait after the latest claim that skipped locked groups; absent after a normal one. */
  readonly skipRetry: Map<string, number>;
}

/**
 * One claim: the plain statement for a queue without groups (and for any claim with a
 * priority range), the grouped one for a queue known to have groups. `grouped` remembers
 * those queues for this adapter: a queue gains its lane with its first grouped job and keeps
 * it, so the plain statement's answer "this queue has groups" costs one extra round trip
 * once per queue and adapter, and every claim after it is one statement.
 *
 * A queue without settings to enforce and without groups is claimed through the plain
 * statement, which refuses (`held`) a queue that turns out to be paused, limited or grouped;
 * such a queue is claimed through the full statement until one of its claims finds it plain
 * again. Either guess is safe: each statement checks the queue in its own snapshot.
 *
 * A grouped claim that came back short while a group it served had more due jobs than its
 * share of the batch asks to be woken at once. One that came back short because groups were
 * locked (mostly by the settle of their previous jobs, which sends no notification) asks to
 * be woken shortly: after 2 ms, doubling up to 64 ms while it keeps happening, so a group row
 * held in someone's long transaction costs a few claims a second, not a busy loop.
 */
export async function claimJobs(
  run: Run,
  s: Schema,
  memory: ClaimMemory,
  request: ClaimRequest,
): Promise<ClaimResult> {
  const range = request.priorityRange;
  const params: q.ClaimParams = {
    queue: request.queue,
    workerId: request.workerId,
    limit: request.limit,
    leaseMs: Math.ceil(request.leaseMs),
    minPriority: range === null ? 0 : Math.ceil(range.min),
    maxPriority: range === null ? 20 : Math.floor(range.max),
    ranged: range !== null,
  };
  const { grouped, held, skipRetry } = memory;
  const queue = request.queue;
  let rows: ClaimRow[] = [];
  let plain = false;
  if (range === null && grouped.has(queue)) {
    rows = await run<ClaimRow>(q.claimGroupedJobs(s, params), "claim");
  } else {
    if (range === null && !held.has(queue)) {
      rows = await run<ClaimRow>(q.claimPlainJobs(s, params), "claim");
      plain = rows[0]?.held !== true;
    }
    if (!plain) {
      rows = await run<ClaimRow>(q.claimJobs(s, params), "claim");
      if (rows[0]?.held === true) held.add(queue);
      else held.delete(queue);
      if (rows[0]?.grouped === true) {
        grouped.add(queue);
        rows = await run<ClaimRow>(q.claimGroupedJobs(s, params), "claim");
      }
    }
  }
  const jobs: ClaimedJob[] = [];
  for (const row of rows) if (row.id !== null) jobs.push(toClaimedJob(row));
  let nextWakeAt: number | null = null;
  if (jobs.length < request.limit && rows[0] !== undefined) {
    for (const at of [rows[0].next_due, rows[0].rate_free, rows[0].group_free]) {
      const value = numOrNull(at);
      if (value !== null && (nextWakeAt === null || value < nextWakeAt)) nextWakeAt = value;
    }
  }
  const now = numOrNull(rows[0]?.clock_now ?? null);
  if (rows[0]?.more_due === true && now !== null) {
    nextWakeAt = now;
  } else if (rows[0]?.skipped === true && now !== null) {
    const wait = skipRetry.get(queue) ?? SKIP_RETRY_MS;
    skipRetry.set(queue, Math.min(wait * 2, SKIP_RETRY_MAX_MS));
    if (nextWakeAt === null || now + wait < nextWakeAt) nextWakeAt = now + wait;
  } else if (jobs.length > 0) {
    skipRetry.delete(queue);
  }
  return { jobs, nextWakeAt };
}
