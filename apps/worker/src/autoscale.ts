import type { Logger } from "@queueflow/app-kit";
import {
  Autoscaler,
  AutoscalerMetrics,
  aggressive,
  concurrencyActuator,
  conservative,
  predictive,
  type Strategy,
  slo,
  thresholds,
} from "@queueflow/autoscaler";
import type { StorageAdapter, Worker } from "@queueflow/core";
import type { Registry } from "prom-client";
import type { WorkerConfig } from "./config.js";

/** The configured strategy, or null when AUTOSCALE=off. */
export function strategyOf(config: WorkerConfig["autoscale"]): Strategy | null {
  switch (config.strategy) {
    case "off":
      return null;
    case "slo":
      return slo({ targetWaitMs: config.targetWaitMs });
    case "thresholds":
      return thresholds();
    case "aggressive":
      return aggressive();
    case "conservative":
      return conservative();
    case "predictive":
      return predictive();
  }
}

/**
 * One Autoscaler per worker, resizing its concurrency live from its queue's signals (the
 * in-process knob; replicas are the cluster's job, through KEDA or the HPA). Its gauges join
 * the worker's /metrics. Returns a function that stops them all.
 */
export function startAutoscaling(
  config: WorkerConfig["autoscale"],
  adapter: StorageAdapter,
  workers: Worker[],
  registry: Registry,
  log: Logger,
): () => Promise<void> {
  const strategy = strategyOf(config);
  if (!strategy) return async () => {};
  if (config.mode !== "concurrency") {
    // The pool runs from the worker's main (startProcessPools); its children run at a fixed
    // concurrency, so nothing in this process would be resized.
    throw new Error(`startWorkers resizes concurrency only (AUTOSCALE_MODE=${config.mode})`);
  }
  const metrics = new AutoscalerMetrics({ registry });
  const scalers = workers.map((worker) => {
    const scaler = new Autoscaler({
      adapter,
      queue: worker.queue,
      strategy,
      actuator: concurrencyActuator(worker),
      guards: {
        minWorkers: config.min,
        maxWorkers: config.max,
        scaleDown: { stabilizationWindowMs: config.scaleDownWindowMs },
      },
      intervalMs: config.intervalMs,
      track: [worker],
      metrics,
    });
    scaler.on("scaled", (from, to, decision) =>
      log.info({ queue: worker.queue, from, to, reason: decision.reason }, "concurrency scaled"),
    );
    // A failed evaluation (the store away) keeps the current concurrency; the next one retries.
    scaler.on("error", (err) =>
      log.warn({ queue: worker.queue, err }, "autoscaling evaluation failed"),
    );
    scaler.start();
    return scaler;
  });
  log.info({ strategy: config.strategy, min: config.min, max: config.max }, "autoscaling on");
  return async () => {
    await Promise.all(scalers.map((s) => s.stop()));
  };
}
