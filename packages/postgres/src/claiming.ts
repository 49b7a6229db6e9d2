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
};

/**
 * One claim: the plain statement for a queue without groups (and for any claim with a
 * priority range), the grouped one for a queue known to have groups. `grouped` remembers
 * those queues for this adapter: a queue gains its lane with its first grouped job and keeps
 * it, so the plain statement's answer "this queue has groups" costs one extra round trip
 * once per queue and adapter, and every claim after it is one statement.
 */
export async function claimJobs(
  run: Run,
  s: Schema,
  grouped: Set<string>,
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
  let rows: ClaimRow[];
  if (range === null && grouped.has(request.queue)) {
    rows = await run<ClaimRow>(q.claimGroupedJobs(s, params), "claim");
  } else {
    rows = await run<ClaimRow>(q.claimJobs(s, params), "claim");
    if (rows[0]?.grouped === true) {
      grouped.add(request.queue);
      rows = await run<ClaimRow>(q.claimGroupedJobs(s, params), "claim");
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
  return { jobs, nextWakeAt };
}
