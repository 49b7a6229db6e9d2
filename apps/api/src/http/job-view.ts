import { type Job, type JobRecord, latestErrorClass } from "@queueflow/core";
import type { z } from "zod";
import type { deadLetterViewSchema, jobViewSchema } from "./responses.js";

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * A job as the API shows it. The lease token is left out (it fences settles; no client needs
 * it) and so are error stacks (they reveal the worker's file layout); times are ISO strings.
 */
export function jobView(job: Job): JobView {
  return {
    id: job.id,
    queue: job.queue,
    name: job.name,
    state: job.state,
    priority: job.priority,
    payload: job.payload,
    result: job.result,
    progress: job.progress,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    stalls: job.stalls,
    errors: job.errors.map((e) => ({
      attempt: e.attempt,
      name: e.name,
      message: e.message,
      errorClass: e.errorClass ?? null,
      at: iso(e.at),
    })),
    metadata: job.metadata,
    dedupKey: job.dedupKey,
    timeoutMs: job.timeoutMs,
    workerId: job.workerId,
    createdAt: iso(job.createdAt),
    runAt: iso(job.runAt),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}

export type JobView = z.output<typeof jobViewSchema>;

/** A dead job: its view, plus the class of its latest error (what filters and stats use). */
export function deadLetterView(job: JobRecord): z.output<typeof deadLetterViewSchema> {
  return { ...jobView(job as Job), errorClass: latestErrorClass(job.errors) ?? "unknown" };
}
