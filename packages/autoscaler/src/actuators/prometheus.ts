import { Gauge, Registry } from "prom-client";
import type { Decision, Signals } from "../types.js";
import type { Actuator } from "./actuator.js";

/** Options of {@link AutoscalerMetrics}. */
export interface AutoscalerMetricsOptions {
  /** Register into this registry; default a fresh one (not prom-client's global). */
  registry?: Registry;
  /** Metric name prefix; default `queueflow_`. */
  prefix?: string;
}

/**
 * Prometheus gauges of the autoscaler's view of each queue (label `queue`): desired and
 * current workers, depth, active, oldest wait, arrival and completion rates. Serve `text()`
 * from any HTTP server (or {@link createMetricsHandler}); a cluster scaler (KEDA's
 * `prometheus` scaler, or the HPA through prometheus-adapter) reads `…_desired_workers`.
 */
export class AutoscalerMetrics {
  readonly registry: Registry;
  readonly #desired: Gauge<"queue">;
  readonly #current: Gauge<"queue">;
  readonly #depth: Gauge<"queue">;
  readonly #active: Gauge<"queue">;
  readonly #oldest: Gauge<"queue">;
  readonly #arrivals: Gauge<"queue">;
  readonly #completions: Gauge<"queue">;

  constructor(options: AutoscalerMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const p = options.prefix ?? "queueflow_";
    const gauge = (name: string, help: string) =>
      new Gauge({ name: `${p}${name}`, help, labelNames: ["queue"], registers: [this.registry] });
    this.#desired = gauge("autoscaler_desired_workers", "Workers the autoscaler wants");
    this.#current = gauge("autoscaler_current_workers", "Workers provisioned now");
    this.#depth = gauge("queue_depth", "Jobs that can run now (waiting and due)");
    this.#active = gauge("queue_active", "Jobs running now");
    this.#oldest = gauge("queue_oldest_wait_seconds", "Age of the oldest waiting job");
    this.#arrivals = gauge("queue_arrival_rate", "Jobs per second entering the queue");
    this.#completions = gauge("queue_completion_rate", "Jobs per second finishing");
  }

  /** Publish the newest signals of a queue. */
  recordSignals(queue: string, s: Signals): void {
    this.#depth.set({ queue }, s.depth);
    this.#active.set({ queue }, s.active);
    this.#oldest.set({ queue }, s.oldestWaitMs / 1000);
    this.#arrivals.set({ queue }, s.arrivalRate);
    this.#completions.set({ queue }, s.completionRate);
    this.#current.set({ queue }, s.workers);
  }

  /** Publish a decision's desired worker count. */
  recordDecision(queue: string, d: Pick<Decision, "desired">): void {
    this.#desired.set({ queue }, d.desired);
  }

  /** The Prometheus text exposition of the registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` to serve `text()` with. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * An actuator for clusters: it provisions nothing itself but publishes the desired count as
 * `…_desired_workers{queue}` for KEDA or the HPA to act on. `observe` reports the replicas
 * the cluster runs (e.g. from the Downward API or the Kubernetes API); without it the last
 * desired count is assumed to be in place.
 */
export function metricsActuator(
  metrics: AutoscalerMetrics,
  queue: string,
  options: { initial?: number; observe?: () => number } = {},
): Actuator {
  let desiredNow = options.initial ?? 1;
  metrics.recordDecision(queue, { desired: desiredNow });
  return {
    name: "metrics",
    current: () => options.observe?.() ?? desiredNow,
    apply: async (desired) => {
      desiredNow = desired;
      metrics.recordDecision(queue, { desired });
    },
  };
}
