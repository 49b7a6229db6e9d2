import type { JobCounts, Middleware, StorageAdapter } from "@queueflow/core";
import { JOB_STATES } from "@queueflow/core";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The job metrics both apps export, every name prefixed `queueflow_`. */
export interface JobMetrics {
  registry: Registry;
  added: Counter<"queue" | "job">;
  completed: Counter<"queue" | "job">;
  /** Every failed attempt, retried or not. */
  failed: Counter<"queue" | "job">;
  dead: Counter<"queue" | "job">;
  duration: Histogram<"queue" | "job" | "outcome">;
  /** A middleware for Queue and Worker that feeds the counters and the histogram. */
  middleware: Middleware;
}

/**
 * Create the registry with the process metrics and the job counters. In one process running
 * both apps, pass the same metrics to both so one scrape shows everything.
 */
export function createJobMetrics(): JobMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "queueflow_" });
  const labelNames = ["queue", "job"] as const;
  const added = new Counter({
    name: "queueflow_jobs_added_total",
    help: "Jobs created by add (not counting deduplicated adds)",
    labelNames,
    registers: [registry],
  });
  const completed = new Counter({
    name: "queueflow_jobs_completed_total",
    help: "Jobs completed",
    labelNames,
    registers: [registry],
  });
  const failed = new Counter({
    name: "queueflow_jobs_failed_total",
    help: "Failed attempts, whether a retry follows or not",
    labelNames,
    registers: [registry],
  });
  const dead = new Counter({
    name: "queueflow_jobs_dead_total",
    help: "Jobs moved to the dead-letter state",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "queueflow_job_processing_duration_seconds",
    help: "Handler run time per attempt",
    labelNames: ["queue", "job", "outcome"] as const,
    // 5 ms to 10 min: the catalog spans webhooks (ms) to exports (minutes).
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
    registers: [registry],
  });
  const middleware: Middleware = {
    async add(ctx, next) {
      const results = await next();
      for (const r of results) if (r.created) added.inc({ queue: ctx.queue, job: r.job.name });
      return results;
    },
    async process(ctx, next) {
      const end = duration.startTimer({ queue: ctx.queue, job: ctx.job.name });
      try {
        const result = await next();
        end({ outcome: "ok" });
        return result;
      } catch (err) {
        end({ outcome: "error" });
        throw err;
      }
    },
    async settle(ctx, next) {
      const outcome = await next();
      if (outcome !== "ok") return outcome;
      const labels = { queue: ctx.queue, job: ctx.job.name };
      const kind = ctx.settlement.kind;
      if (kind === "complete") completed.inc(labels);
      else if (kind === "retry") failed.inc(labels);
      else if (kind === "dead") {
        failed.inc(labels);
        dead.inc(labels);
      }
      return outcome;
    },
  };
  return { registry, added, completed, failed, dead, duration, middleware };
}

/**
 * Queue depth by state, read from the store at scrape time. The store is the one place every
 * process agrees on, so any replica reports the same numbers. Reads are shared by collectors
 * of the same scrape. A queue whose read fails keeps its last values rather than failing the
 * whole scrape. (Dead-letter gauges come from the API's `DeadLetters.stats()`.)
 */
export function registerQueueGauges(
  metrics: JobMetrics,
  adapter: StorageAdapter,
  queues: readonly string[],
): void {
  let reading: Promise<Map<string, JobCounts>> | null = null;
  const read = () => {
    reading ??= (async () => {
      const counts = new Map<string, JobCounts>();
      await Promise.all(
        queues.map(async (queue) => {
          try {
            counts.set(queue, await adapter.counts(queue));
          } catch {
            // The store is unreachable: /health says so; the gauges keep their last values.
          }
        }),
      );
      return counts;
    })().finally(() => {
      // Released on the next tick, once the collectors of this scrape took the same read.
      setImmediate(() => {
        reading = null;
      });
    });
    return reading;
  };
  const depth: Gauge<"queue" | "state"> = new Gauge({
    name: "queueflow_queue_jobs",
    help: "Jobs per queue and state, read from the store at scrape time",
    labelNames: ["queue", "state"] as const,
    registers: [metrics.registry],
    async collect() {
      for (const [queue, counts] of await read()) {
        for (const state of JOB_STATES) depth.set({ queue, state }, counts[state]);
      }
    },
  });
}
