import type { GuardOptions } from "../guards.js";
import { aggressive } from "../strategies/aggressive.js";
import { conservative } from "../strategies/conservative.js";
import { predictive } from "../strategies/predictive.js";
import { slo } from "../strategies/slo.js";
import { thresholds } from "../strategies/thresholds.js";
import type { Strategy } from "../types.js";
import type { ServiceTime, TrafficShape } from "./distributions.js";
import { jobsFor, type SimulationResult, simulate } from "./engine.js";

/** A named workload the simulator runs every strategy against. */
export interface Scenario {
  name: string;
  durationMs: number;
  traffic: TrafficShape;
  service: ServiceTime;
  sloWaitMs: number;
}

const MIN = 60_000;
/** Log-normal around 1 s per job with a long tail (σ 0.6: p99 about 3.4 s). */
const SERVICE: ServiceTime = { kind: "lognormal", meanMs: 1000, sigma: 0.6 };

/** The built-in workloads: base 10 jobs/s, 1 s per job, a 30 s wait objective. */
export const SCENARIOS: Record<"steady" | "spike" | "ramp" | "diurnal", Scenario> = {
  steady: {
    name: "steady",
    durationMs: 30 * MIN,
    traffic: { kind: "steady", rate: 10 },
    service: SERVICE,
    sloWaitMs: 30_000,
  },
  spike: {
    name: "spike",
    durationMs: 30 * MIN,
    traffic: { kind: "spike", rate: 10, peakRate: 80, startMs: 10 * MIN, durationMs: 5 * MIN },
    service: SERVICE,
    sloWaitMs: 30_000,
  },
  ramp: {
    name: "ramp",
    durationMs: 30 * MIN,
    traffic: { kind: "ramp", rate: 5, peakRate: 60, durationMs: 20 * MIN },
    service: SERVICE,
    sloWaitMs: 30_000,
  },
  diurnal: {
    name: "diurnal",
    durationMs: 60 * MIN,
    traffic: { kind: "diurnal", rate: 5, peakRate: 50, periodMs: 60 * MIN },
    service: SERVICE,
    sloWaitMs: 30_000,
  },
};

/** Guards every strategy runs through in the simulator: the HPA defaults, 2–150 workers. */
export const SIMULATION_GUARDS: GuardOptions = { minWorkers: 2, maxWorkers: 150 };

/** The strategies compared, with their defaults (slo aims at the scenario's objective). */
export function defaultStrategies(scenario: Scenario): Strategy[] {
  return [
    thresholds(),
    aggressive(),
    conservative(),
    predictive({ method: "regression" }),
    predictive({ method: "holt" }),
    slo({ targetWaitMs: scenario.sloWaitMs }),
  ];
}

/** Run every strategy on the same jobs of a scenario. */
export function runScenario(
  scenario: Scenario,
  seed: number,
  strategies: Strategy[] = defaultStrategies(scenario),
  guards: GuardOptions = SIMULATION_GUARDS,
): SimulationResult[] {
  const base = { seed, ...scenario };
  const jobs = jobsFor(base);
  return strategies.map((strategy) => simulate({ ...base, strategy, guards }, jobs));
}
