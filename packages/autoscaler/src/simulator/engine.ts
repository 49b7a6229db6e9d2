import { type GuardOptions, Guards } from "../guards.js";
import { deriveSignals } from "../signals.js";
import type { Sample, Signals, Strategy } from "../types.js";
import { generateJobs, type ServiceTime, type SimJob, type TrafficShape } from "./distributions.js";
import { MinHeap } from "./min-heap.js";
import { mulberry32 } from "./random.js";

/** One simulated run: a traffic shape, a strategy and the guards around it. */
export interface SimulationConfig {
  seed: number;
  durationMs: number;
  traffic: TrafficShape;
  service: ServiceTime;
  strategy: Strategy;
  guards: GuardOptions;
  /** Wait-time objective, for `timeOverSloMs`. */
  sloWaitMs: number;
  /** Decision interval; default 5 s. */
  intervalMs?: number;
  /** Rate window; default 60 s. */
  windowMs?: number;
  /** History strategies see; default 5 min. */
  historyMs?: number;
  /** Time a new worker takes to become ready (process start, connect); default 5 s. */
  startupMs?: number;
  /** Workers at time 0; default `guards.minWorkers`. */
  initialWorkers?: number;
  /** Spacing of the recorded series; default 5 s. */
  seriesStepMs?: number;
}

/** One point of the recorded series. */
export interface SeriesPoint {
  t: number;
  /** Workers provisioned (ready, starting and draining). */
  workers: number;
  depth: number;
}

/** What a run cost and how it served. */
export interface SimulationResult {
  strategy: string;
  jobs: number;
  p50WaitMs: number;
  p95WaitMs: number;
  p99WaitMs: number;
  maxWaitMs: number;
  /** Integral of provisioned workers over time, in seconds. */
  workerSeconds: number;
  /** Decisions that changed the worker count. */
  scalingActions: number;
  peakWorkers: number;
  /** Time (1 s resolution) during which the oldest waiting job was older than the SLO. */
  timeOverSloMs: number;
  series: SeriesPoint[];
}

/** The value at quantile q (0–1) of ascending `sorted`, nearest-rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Jobs for a seed: the same arrivals and service times for every strategy. */
export function jobsFor(
  config: Pick<SimulationConfig, "seed" | "traffic" | "service" | "durationMs">,
): SimJob[] {
  return generateJobs(
    config.traffic,
    config.service,
    config.durationMs,
    mulberry32(config.seed),
    mulberry32(config.seed ^ 0x9e3779b9),
  );
}

/**
 * A discrete-event simulation on a virtual clock: Poisson arrivals into one FIFO queue,
 * workers that each run one job at a time, and the strategy and guards deciding every
 * `intervalMs` from signals derived exactly as the live Autoscaler derives them. Scaling up
 * takes `startupMs`; scaling down cancels starting workers first, then lets busy ones finish
 * their job before leaving (as `setConcurrency` and the process pool do). Deterministic for
 * a seed. Jobs still waiting at the end count with their wait so far.
 */
export function simulate(
  config: SimulationConfig,
  jobs: readonly SimJob[] = jobsFor(config),
): SimulationResult {
  const intervalMs = config.intervalMs ?? 5000;
  const windowMs = config.windowMs ?? 60_000;
  const historyMs = config.historyMs ?? 300_000;
  const startupMs = config.startupMs ?? 5000;
  const stepMs = config.seriesStepMs ?? 5000;
  const guards = new Guards(config.guards);
  const end = config.durationMs;

  const queue: number[] = [];
  let head = 0;
  const busy = new MinHeap();
  let ready = config.initialWorkers ?? guards.bounds.minWorkers;
  let starting: number[] = [];
  let next = 0;
  let completed = 0;
  const waits: number[] = [];
  let samples: Sample[] = [];
  let history: Signals[] = [];
  let actions = 0;
  let peak = ready;
  let workerMs = 0;
  let overMs = 0;
  const series: SeriesPoint[] = [];
  let now = 0;
  let nextTick = intervalMs;
  let nextSecond = 1000;
  let nextPoint = 0;

  const provisioned = () => Math.max(ready, busy.size) + starting.length;
  const dispatch = () => {
    while (head < queue.length && busy.size < ready) {
      const job = jobs[queue[head++]!]!;
      waits.push(now - job.arrivalMs);
      busy.push(now + job.serviceMs);
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };
  const oldestWait = () => (head < queue.length ? now - jobs[queue[head]!]!.arrivalMs : 0);

  const decide = () => {
    const current = ready + starting.length;
    samples.push({
      at: now,
      depth: queue.length - head,
      delayed: 0,
      active: busy.size,
      finishedTotal: completed,
      completedTotal: completed,
      failedTotal: 0,
      oldestWaitMs: oldestWait(),
      workers: current,
    });
    samples = samples.filter((s) => now - s.at <= Math.max(windowMs, historyMs));
    const signals = deriveSignals(samples, windowMs);
    history = history.filter((s) => now - s.at <= historyMs);
    const rec = config.strategy({ signals, history, bounds: guards.bounds });
    history.push(signals);
    const { desired } = guards.apply(now, current, rec);
    if (desired === current) return;
    actions++;
    if (desired > current) {
      for (let i = current; i < desired; i++) {
        if (startupMs === 0) ready++;
        else starting.push(now + startupMs);
      }
    } else {
      let remove = current - desired;
      const cancel = Math.min(remove, starting.length);
      starting = starting.slice(0, starting.length - cancel);
      remove -= cancel;
      ready -= remove;
    }
    peak = Math.max(peak, provisioned());
  };

  for (;;) {
    const candidates = [
      next < jobs.length ? jobs[next]!.arrivalMs : Number.POSITIVE_INFINITY,
      busy.peek() ?? Number.POSITIVE_INFINITY,
      starting[0] ?? Number.POSITIVE_INFINITY,
      nextTick,
      nextSecond,
      nextPoint,
    ];
    const t = Math.min(...candidates);
    if (t > end) break;
    workerMs += provisioned() * (t - now);
    now = t;
    if (t === nextPoint) {
      series.push({ t, workers: provisioned(), depth: queue.length - head });
      nextPoint += stepMs;
    } else if (t === nextSecond) {
      if (oldestWait() > config.sloWaitMs) overMs += 1000;
      nextSecond += 1000;
    } else if (t === nextTick) {
      decide();
      nextTick += intervalMs;
    } else if (t === busy.peek()) {
      busy.pop();
      completed++;
    } else if (t === starting[0]) {
      starting.shift();
      ready++;
    } else {
      queue.push(next++);
    }
    dispatch();
  }
  workerMs += provisioned() * (end - now);
  now = end;
  for (let i = head; i < queue.length; i++) waits.push(end - jobs[queue[i]!]!.arrivalMs);
  waits.sort((a, b) => a - b);
  return {
    strategy: config.strategy.strategyName ?? (config.strategy.name || "custom"),
    jobs: jobs.length,
    p50WaitMs: percentile(waits, 0.5),
    p95WaitMs: percentile(waits, 0.95),
    p99WaitMs: percentile(waits, 0.99),
    maxWaitMs: waits[waits.length - 1] ?? 0,
    workerSeconds: workerMs / 1000,
    scalingActions: actions,
    peakWorkers: peak,
    timeOverSloMs: overMs,
    series,
  };
}
