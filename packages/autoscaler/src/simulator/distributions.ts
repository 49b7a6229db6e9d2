import { exponential, type Random, standardNormal } from "./random.js";

/** How long a job holds a worker. */
export type ServiceTime =
  | { kind: "constant"; ms: number }
  | { kind: "exponential"; meanMs: number }
  /** Log-normal with the given mean and log-space σ: a long right tail, like real handlers. */
  | { kind: "lognormal"; meanMs: number; sigma: number };

/** Draw one service time in ms. */
export function sampleServiceTime(d: ServiceTime, rng: Random): number {
  switch (d.kind) {
    case "constant":
      return d.ms;
    case "exponential":
      return exponential(rng, d.meanMs);
    case "lognormal": {
      const mu = Math.log(d.meanMs) - (d.sigma * d.sigma) / 2;
      return Math.exp(mu + d.sigma * standardNormal(rng));
    }
  }
}

/** Arrival rate over time, in jobs per second. */
export type TrafficShape =
  | { kind: "steady"; rate: number }
  /** A Black-Friday burst: `peakRate` from `startMs` for `durationMs`, `rate` otherwise. */
  | { kind: "spike"; rate: number; peakRate: number; startMs: number; durationMs: number }
  /** Linear from `rate` at 0 to `peakRate` at `durationMs`, then flat. */
  | { kind: "ramp"; rate: number; peakRate: number; durationMs: number }
  /** A day compressed into `periodMs`: `rate` at night, `peakRate` at midday. */
  | { kind: "diurnal"; rate: number; peakRate: number; periodMs: number };

/** The arrival rate (jobs/s) at `t` ms. */
export function rateAt(shape: TrafficShape, t: number): number {
  switch (shape.kind) {
    case "steady":
      return shape.rate;
    case "spike":
      return t >= shape.startMs && t < shape.startMs + shape.durationMs
        ? shape.peakRate
        : shape.rate;
    case "ramp":
      return shape.rate + (shape.peakRate - shape.rate) * Math.min(1, t / shape.durationMs);
    case "diurnal":
      return (
        shape.rate +
        ((shape.peakRate - shape.rate) * (1 - Math.cos((2 * Math.PI * t) / shape.periodMs))) / 2
      );
  }
}

/** The highest rate the shape ever reaches. */
export function maxRate(shape: TrafficShape): number {
  return shape.kind === "steady" ? shape.rate : Math.max(shape.rate, shape.peakRate);
}

/** One simulated job. */
export interface SimJob {
  arrivalMs: number;
  serviceMs: number;
}

/**
 * Arrivals of a non-homogeneous Poisson process by thinning (Lewis–Shedler): draw at the
 * peak rate, keep each with probability rate(t) ÷ peak. Service times come from their own
 * stream, so job i costs the same whichever strategy runs it.
 */
export function generateJobs(
  shape: TrafficShape,
  service: ServiceTime,
  durationMs: number,
  arrivals: Random,
  services: Random,
): SimJob[] {
  const peak = maxRate(shape);
  const jobs: SimJob[] = [];
  if (peak <= 0) return jobs;
  let t = 0;
  for (;;) {
    t += exponential(arrivals, 1000 / peak);
    if (t >= durationMs) return jobs;
    if (arrivals.next() * peak < rateAt(shape, t)) {
      jobs.push({ arrivalMs: t, serviceMs: sampleServiceTime(service, services) });
    }
  }
}
