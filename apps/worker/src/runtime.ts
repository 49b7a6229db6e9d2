import type { JobMetrics, Logger, QueueName, Tracing } from "@queueflow/app-kit";
import {
  type AnyJobMap,
  type Handlers,
  type Middleware,
  type StorageAdapter,
  Worker,
} from "@queueflow/core";
import { startAutoscaling } from "./autoscale.js";
import type { WorkerConfig } from "./config.js";
import { createHandlers } from "./handlers/index.js";

export interface WorkerRuntime {
  workers: Worker[];
  /**
   * Graceful stop: every worker stops claiming at once, running jobs get until `timeoutMs`
   * (default SHUTDOWN_TIMEOUT_MS) to finish, and those still running are aborted and handed
   * back to the store so another worker takes them immediately. Nothing is lost either way.
   */
  close(timeoutMs?: number): Promise<void>;
  /** Per worker: id, queue, running and concurrency (for health pages). */
  status(): { id: string; queue: string; running: number; concurrency: number }[];
}

export interface WorkerDeps {
  config: WorkerConfig;
  /** An open store; the caller owns it (closes it after the runtime). */
  adapter: StorageAdapter;
  logger: Logger;
  metrics: JobMetrics;
  middleware?: Middleware[];
}

/**
 * {@link startWorkers} traced: `tracing`'s middleware on every Worker, and each Worker observed
 * by its instrumentation (a no-op when tracing is off).
 */
export function startTracedWorkers(
  deps: Omit<WorkerDeps, "middleware">,
  tracing: Tracing,
): WorkerRuntime {
  const runtime = startWorkers({ ...deps, middleware: tracing.middleware });
  for (const w of runtime.workers) tracing.instrumentation?.observeWorker(w);
  return runtime;
}

/** Start one Worker per configured queue, with logging, metrics and optional autoscaling. */
export function startWorkers(deps: WorkerDeps): WorkerRuntime {
  const { config, adapter, logger: log } = deps;
  const { handlers, close: closeHandlers } = createHandlers(config, adapter, log);
  const workers = config.queues.map((queue: QueueName) => {
    const worker = new Worker(queue, handlers[queue] as unknown as Handlers<AnyJobMap>, {
      adapter,
      concurrency: config.concurrency,
      leaseMs: config.leaseMs,
      closeTimeoutMs: config.shutdownTimeoutMs,
      retention: config.retention,
      middleware: [deps.metrics.middleware, ...(deps.middleware ?? [])],
    });
    worker.on("failed", (job, error) =>
      log.warn(
        { queue, jobId: job.id, job: job.name, attempt: error.attempt, err: error.message },
        "attempt failed",
      ),
    );
    worker.on("dead", (job, error) =>
      log.error({ queue, jobId: job.id, job: job.name, err: error.message }, "job dead"),
    );
    worker.on("stalled", (jobId, movedTo) =>
      log.warn({ queue, jobId, movedTo }, "stalled job recovered"),
    );
    worker.on("error", (err) => log.error({ queue, err }, "worker error"));
    worker.on("storeDown", (err) => log.warn({ queue, err }, "store unreachable; retrying"));
    worker.on("storeUp", (downMs) =>
      log.info({ queue, downMs: Math.round(downMs) }, "store answering again"),
    );
    return worker;
  });
  const stopScaling = startAutoscaling(
    config.autoscale,
    adapter,
    workers,
    deps.metrics.registry,
    log,
  );
  log.info({ queues: config.queues, concurrency: config.concurrency }, "workers started");
  let closing: Promise<void> | undefined;
  return {
    workers,
    status: () =>
      workers.map((w) => ({
        id: w.id,
        queue: w.queue,
        running: w.running,
        concurrency: w.concurrency,
      })),
    close(timeoutMs = config.shutdownTimeoutMs) {
      closing ??= (async () => {
        await stopScaling();
        await Promise.all(workers.map((w) => w.close(timeoutMs)));
        closeHandlers();
        log.info("workers closed");
      })();
      return closing;
    },
  };
}
