import { type StorageAdapter, TypedEmitter } from "@queueflow/core";
import type { Actuator } from "./actuators/actuator.js";
import type { AutoscalerMetrics } from "./actuators/prometheus.js";
import { type GuardOptions, Guards } from "./guards.js";
import { deriveSignals, SignalSampler, type TrackableWorker } from "./signals.js";
import type { Decision, Sample, Signals, Strategy } from "./types.js";

/** Options of an {@link Autoscaler}. */
export interface AutoscalerOptions {
  adapter: StorageAdapter;
  queue: string;
  strategy: Strategy;
  actuator: Actuator;
  /** Guard options, or a `Guards` instance to share state; default the HPA's defaults, 1–10. */
  guards?: GuardOptions | Guards;
  /** How often signals are sampled and a decision taken; default 5 s. */
  intervalMs?: number;
  /** Window the rates are computed over; default 60 s. */
  windowMs?: number;
  /** How much signal history strategies see; default 5 min. */
  historyMs?: number;
  /** Workers in this process whose events give exact completion and failure counts. */
  track?: TrackableWorker[];
  /** Publish signals and decisions as Prometheus gauges. */
  metrics?: AutoscalerMetrics;
}

/** Events of an {@link Autoscaler}. */
export type AutoscalerEvents = {
  /** Every evaluation, whether or not it changed anything. */
  decision: (decision: Decision, signals: Signals) => void;
  /** A change was applied to the actuator. */
  scaled: (from: number, to: number, decision: Decision) => void;
  error: (error: unknown) => void;
};

/**
 * Samples a queue's signals every interval, asks the strategy for a worker count, passes it
 * through the guards and applies it to the actuator.
 * @example
 * const scaler = new Autoscaler({
 *   adapter, queue: "emails", strategy: slo({ targetWaitMs: 30_000 }),
 *   actuator: concurrencyActuator(worker), guards: { minWorkers: 1, maxWorkers: 50 },
 *   track: [worker],
 * });
 * scaler.start();
 */
export class Autoscaler extends TypedEmitter<AutoscalerEvents> {
  readonly guards: Guards;
  readonly #o: AutoscalerOptions;
  readonly #sampler: SignalSampler;
  readonly #untrack: (() => void)[];
  #samples: Sample[] = [];
  #history: Signals[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<unknown> | undefined;
  #running = false;

  constructor(options: AutoscalerOptions) {
    super();
    this.#o = options;
    this.guards = options.guards instanceof Guards ? options.guards : new Guards(options.guards);
    this.#sampler = new SignalSampler(options.adapter, options.queue);
    this.#untrack = (options.track ?? []).map((w) => this.#sampler.track(w));
  }

  /** Signals of past evaluations within `historyMs`, oldest first. */
  get history(): readonly Signals[] {
    return this.#history;
  }

  /** Evaluate every `intervalMs` until `stop()`. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#inFlight = this.tick()
        .catch((err: unknown) => this.emit("error", err))
        .finally(() => {
          this.#inFlight = undefined;
          if (this.#running) this.#schedule(this.#o.intervalMs ?? 5000);
        });
    }, ms);
    this.#timer.unref();
  }

  /** Sample, decide and apply once, now. Returns the decision. */
  async tick(): Promise<Decision> {
    const o = this.#o;
    const windowMs = o.windowMs ?? 60_000;
    const historyMs = o.historyMs ?? 300_000;
    const current = o.actuator.current();
    const sample = await this.#sampler.sample(current);
    this.#samples.push(sample);
    const keep = Math.max(windowMs, historyMs);
    this.#samples = this.#samples.filter((s) => sample.at - s.at <= keep);
    const signals = deriveSignals(this.#samples, windowMs);
    this.#history = this.#history.filter((s) => signals.at - s.at <= historyMs);
    const strategyName = o.strategy.strategyName ?? (o.strategy.name || "custom");
    const rec = o.strategy({ signals, history: this.#history, bounds: this.guards.bounds });
    const guarded = this.guards.apply(signals.at, current, rec);
    const decision: Decision = {
      at: signals.at,
      strategy: strategyName,
      current,
      recommended: rec.desired,
      desired: guarded.desired,
      reason: rec.reason,
      numbers: rec.numbers,
      limitedBy: guarded.limitedBy,
    };
    this.#history.push(signals);
    o.metrics?.recordSignals(o.queue, signals);
    o.metrics?.recordDecision(o.queue, decision);
    if (decision.desired !== current) {
      await o.actuator.apply(decision.desired);
      this.emit("scaled", current, decision.desired, decision);
    }
    this.emit("decision", decision, signals);
    return decision;
  }

  /** Stop evaluating; waits for an evaluation under way. The actuator is left as it is. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#inFlight;
    for (const off of this.#untrack) off();
  }
}
