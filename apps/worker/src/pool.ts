import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger, QueueName } from "@queueflow/app-kit";
import { type Actuator, Autoscaler, AutoscalerMetrics, ProcessPool } from "@queueflow/autoscaler";
import type { StorageAdapter } from "@queueflow/core";
import { AggregatorRegistry, Gauge, type Registry } from "prom-client";
import { strategyOf } from "./autoscale.js";
import type { WorkerConfig } from "./config.js";

/** The IPC message a pool child sends with its job metrics (cumulative, so the last one wins). */
export const METRICS_MESSAGE_TYPE = "queueflow:metrics";
/** How often a pool child sends its job metrics to the main process. */
export const METRICS_PUSH_MS = 1_000;

export interface ChildMetricsMessage {
  type: typeof METRICS_MESSAGE_TYPE;
  /** `registry.getMetricsAsJSON()` of the child, job metrics only (not its process metrics). */
  metrics: unknown[];
}

/** The metric families a child reports: the job counters and the duration histogram. */
export const isJobMetric = (name: string): boolean =>
  name.startsWith("queueflow_jobs_") || name === "queueflow_job_processing_duration_seconds";

function isMetricsMessage(message: unknown): message is ChildMetricsMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === METRICS_MESSAGE_TYPE &&
    Array.isArray((message as { metrics?: unknown }).metrics)
  );
}

/** The child module, next to this one: `pool-child.ts` from source, `pool-child.js` built. */
export const POOL_CHILD_MODULE = fileURLToPath(
  new URL(`./pool-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** One queue's pool, for health pages. */
export interface PoolStatus {
  queue: string;
  /** Child processes working the queue (not counting those retiring). */
  processes: number;
  /** Children finishing their running jobs after the pool shrank. */
  retiring: number;
  pids: number[];
  /** Jobs at once in each child (WORKER_CONCURRENCY). */
  concurrencyPerProcess: number;
}

export interface PoolRuntime {
  pools: ReadonlyMap<QueueName, ProcessPool>;
  status(): PoolStatus[];
  /** This process's registry plus the job metrics of every child, past ones included. */
  metricsText(): Promise<string>;
  /**
   * Stop the autoscalers and retire every child: each stops claiming, finishes its running
   * jobs within SHUTDOWN_TIMEOUT_MS, hands back any still running, and exits.
   */
  close(): Promise<void>;
}

export interface PoolDeps {
  config: WorkerConfig;
  /** An open store for the autoscalers' signals; the caller owns it. */
  adapter: StorageAdapter;
  logger: Logger;
  /** This process's registry: the autoscaler and pool gauges join it. */
  registry: Registry;
  /** The module each child runs; default `pool-child` next to this one. */
  modulePath?: string;
  /** The children's environment; default this process's. */
  env?: NodeJS.ProcessEnv;
}

/** A crashed child comes back after this (doubling per crash in a row, at most 30 s). */
const RESPAWN_BASE_MS = 500;
const RESPAWN_MAX_MS = 30_000;
/** A child that ran this long before crashing resets the back-off. */
const STABLE_MS = 60_000;

/**
 * AUTOSCALE_MODE=processes: per configured queue, a ProcessPool of child processes (each a
 * Worker on that queue at WORKER_CONCURRENCY, run through `runPoolChild`) resized by an
 * Autoscaler from the store's signals. This process runs no jobs itself.
 */
export async function startProcessPools(deps: PoolDeps): Promise<PoolRuntime> {
  const { config, adapter, logger: log, registry } = deps;
  const strategy = strategyOf(config.autoscale);
  if (!strategy) throw new Error("AUTOSCALE_MODE=processes needs an AUTOSCALE strategy");
  const modulePath = deps.modulePath ?? POOL_CHILD_MODULE;
  const autoscalerMetrics = new AutoscalerMetrics({ registry });
  const pools = new Map<QueueName, ProcessPool>();
  const scalers: Autoscaler[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  // Children's job metrics: the newest snapshot of each child, and the folded sum of the
  // children gone (so the counters never go down when the pool shrinks).
  const snapshots = new Map<number, unknown[]>();
  let gone: unknown[] | null = null;
  let folding: Promise<void> = Promise.resolve();
  const foldLater = (pid: number) => {
    // A last snapshot may arrive just after the exit event: fold a moment later.
    const t = setTimeout(() => {
      timers.delete(t);
      folding = folding
        .then(async () => {
          const last = snapshots.get(pid);
          snapshots.delete(pid);
          if (!last) return;
          gone = await AggregatorRegistry.aggregate(
            gone ? [gone, last] : [last],
          ).getMetricsAsJSON();
        })
        .catch((err: unknown) => log.warn({ err }, "could not fold a child's job metrics"));
    }, 2_000);
    t.unref();
    timers.add(t);
  };

  for (const queue of config.queues) {
    const pool = new ProcessPool({
      modulePath,
      env: { ...(deps.env ?? process.env), WORKER_QUEUES: queue },
      // The child's own close waits SHUTDOWN_TIMEOUT_MS, then hands running jobs back.
      retireTimeoutMs: config.shutdownTimeoutMs + 10_000,
    });
    pools.set(queue, pool);
    let target = Math.max(1, config.autoscale.minProcesses);
    // Every resize goes through one chain, so a respawn and a decision never both fork.
    let chain: Promise<void> = Promise.resolve();
    const resize = (n: number) => {
      chain = chain.then(() => {
        target = n;
        return pool.apply(n);
      });
      return chain;
    };
    const actuator: Actuator = {
      name: "process-pool",
      current: () => pool.current(),
      apply: resize,
    };
    const spawnedAt = new Map<number, number>();
    let crashes = 0;
    pool.on("spawned", (pid) => {
      spawnedAt.set(pid, Date.now());
      log.info({ queue, childPid: pid }, "child process started");
    });
    pool.on("message", (pid, message) => {
      if (isMetricsMessage(message)) snapshots.set(pid, message.metrics);
    });
    pool.on("error", (err) => log.error({ queue, err }, "child process error"));
    pool.on("exited", (exit) => {
      const lived = Date.now() - (spawnedAt.get(exit.pid) ?? Date.now());
      spawnedAt.delete(exit.pid);
      foldLater(exit.pid);
      const { pid, code, signal, killed } = exit;
      if (exit.retired) {
        log[killed ? "warn" : "info"](
          { queue, childPid: pid, code, signal, killed },
          killed ? "child process killed after the retire timeout" : "child process retired",
        );
        return;
      }
      if (closing) return;
      // A crash: its running jobs come back by lease expiry; put the pool back to size.
      crashes = lived >= STABLE_MS ? 1 : crashes + 1;
      const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_BASE_MS * 2 ** (crashes - 1));
      log.error(
        { queue, childPid: pid, code, signal, respawnInMs: delay },
        "child process crashed",
      );
      const t = setTimeout(() => {
        timers.delete(t);
        if (!closing)
          void resize(target).catch((err) => log.error({ queue, err }, "respawn failed"));
      }, delay);
      t.unref();
      timers.add(t);
    });
    await resize(target);
    const scaler = new Autoscaler({
      adapter,
      queue,
      strategy,
      actuator,
      guards: {
        minWorkers: config.autoscale.minProcesses,
        maxWorkers: config.autoscale.maxProcesses,
        scaleDown: { stabilizationWindowMs: config.autoscale.scaleDownWindowMs },
      },
      intervalMs: config.autoscale.intervalMs,
      metrics: autoscalerMetrics,
    });
    scaler.on("scaled", (from, to, decision) =>
      log.info({ queue, from, to, reason: decision.reason }, "processes scaled"),
    );
    scaler.on("error", (err) => log.warn({ queue, err }, "autoscaling evaluation failed"));
    scaler.start();
    scalers.push(scaler);
  }

  const processes: Gauge<"queue" | "state"> = new Gauge({
    name: "queueflow_worker_processes",
    help: "Child worker processes per queue: running, or retiring (finishing their jobs)",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    collect() {
      for (const [queue, pool] of pools) {
        processes.set({ queue, state: "running" }, pool.current());
        processes.set({ queue, state: "retiring" }, pool.retiring());
      }
    },
  });
  log.info(
    {
      queues: config.queues,
      strategy: config.autoscale.strategy,
      minProcesses: config.autoscale.minProcesses,
      maxProcesses: config.autoscale.maxProcesses,
      concurrencyPerProcess: config.concurrency,
    },
    "process pools started",
  );

  let closed: Promise<void> | undefined;
  return {
    pools,
    status: () =>
      [...pools].map(([queue, pool]) => ({
        queue,
        processes: pool.current(),
        retiring: pool.retiring(),
        pids: pool.pids(),
        concurrencyPerProcess: config.concurrency,
      })),
    async metricsText() {
      await folding;
      const parts = [...snapshots.values(), ...(gone ? [gone] : [])];
      const own = await registry.metrics();
      if (parts.length === 0) return own;
      return own + (await AggregatorRegistry.aggregate(parts).metrics());
    },
    close() {
      closed ??= (async () => {
        closing = true;
        await Promise.all(scalers.map((s) => s.stop()));
        await Promise.all([...pools.values()].map((p) => p.close()));
        for (const t of timers) clearTimeout(t);
        log.info("process pools closed");
      })();
      return closed;
    },
  };
}
