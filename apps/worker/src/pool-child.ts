import {
  createJobMetrics,
  createLogger,
  exitOnStartupError,
  openStore,
  startTracing,
} from "@queueflow/app-kit";
import { type ChildProcessLike, runPoolChild } from "@queueflow/autoscaler";
import { loadWorkerConfig } from "./config.js";
import {
  type ChildMetricsMessage,
  isJobMetric,
  METRICS_MESSAGE_TYPE,
  METRICS_PUSH_MS,
} from "./pool.js";
import { startTracedWorkers, type WorkerRuntime } from "./runtime.js";

/**
 * A child of the worker's process pool (AUTOSCALE_MODE=processes): the app's Workers for the
 * queue the main process gives it (WORKER_QUEUES), at the fixed WORKER_CONCURRENCY, no
 * autoscaling and no HTTP side. On the pool's retire message (or SIGTERM, or the main process
 * going away) it stops claiming, finishes its running jobs within SHUTDOWN_TIMEOUT_MS, hands
 * back any still running, sends its last job metrics and exits 0.
 */
let started: Promise<{ runtime: WorkerRuntime; stop: () => Promise<void> }> | undefined;
let report: (() => Promise<void>) | undefined;

// Listen first, so a retire message that comes while the child is starting is not lost.
const proc: ChildProcessLike = {
  on: (event, listener) => process.on(event, listener),
  once: (event, listener) => {
    process.once(event, listener);
    // The main process died (no retire will come): leave gracefully all the same.
    process.once("disconnect", listener);
    return proc;
  },
  exit: (code) => {
    const last = report?.() ?? Promise.resolve();
    void last.finally(() => process.exit(code));
  },
};
// Ctrl-C reaches the whole process group; the main process retires its children itself.
process.on("SIGINT", () => {});
void runPoolChild(
  {
    async close() {
      const s = await started;
      await s?.stop();
    },
  },
  proc,
);

async function start() {
  const env = loadWorkerConfig();
  // The main process scales; a child works at its fixed concurrency.
  const config = {
    ...env,
    autoscale: { ...env.autoscale, strategy: "off" as const, mode: "concurrency" as const },
  };
  const log = createLogger("queueflow-worker", config.logLevel).child({ poolChild: true });
  const tracing = await startTracing(config.otel, log);
  const adapter = await openStore(config.store);
  const metrics = createJobMetrics();
  const runtime = startTracedWorkers({ config, adapter, logger: log, metrics }, tracing);
  const send = async () => {
    if (!process.send || !process.connected) return;
    const json = await metrics.registry.getMetricsAsJSON();
    const message: ChildMetricsMessage = {
      type: METRICS_MESSAGE_TYPE,
      metrics: json.filter((m) => isJobMetric(m.name)),
    };
    await new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  };
  report = () => send().catch(() => {});
  const timer = setInterval(() => void report?.(), METRICS_PUSH_MS);
  timer.unref();
  return {
    runtime,
    async stop() {
      clearInterval(timer);
      await runtime.close();
      await adapter.close();
      await tracing.shutdown();
    },
  };
}

started = start();
started.catch(exitOnStartupError);
