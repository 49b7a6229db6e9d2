export type { Actuator } from "./actuators/actuator.js";
export type { ResizableWorker } from "./actuators/concurrency.js";
export { concurrencyActuator } from "./actuators/concurrency.js";
export type { MetricsHandlerOptions } from "./actuators/http.js";
export { createMetricsHandler } from "./actuators/http.js";
export type { KedaDocument } from "./actuators/keda.js";
export { kedaDocument } from "./actuators/keda.js";
export type { ChildProcessLike, ClosableWorker } from "./actuators/pool-child.js";
export { RETIRE_MESSAGE, runPoolChild } from "./actuators/pool-child.js";
export type {
  ChildExit,
  ProcessPoolEvents,
  ProcessPoolOptions,
} from "./actuators/process-pool.js";
export { ProcessPool } from "./actuators/process-pool.js";
export type { AutoscalerMetricsOptions } from "./actuators/prometheus.js";
export { AutoscalerMetrics, metricsActuator } from "./actuators/prometheus.js";
export type { AutoscalerEvents, AutoscalerOptions } from "./autoscaler.js";
export { Autoscaler } from "./autoscaler.js";
export type { GuardOptions, GuardResult, ScalingPolicy, ScalingRules } from "./guards.js";
export { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, Guards } from "./guards.js";
export type { TrackableWorker } from "./signals.js";
export { deriveSignals, SignalSampler } from "./signals.js";
export type { ServiceTime, SimJob, TrafficShape } from "./simulator/distributions.js";
export { generateJobs, rateAt, sampleServiceTime } from "./simulator/distributions.js";
export type { SeriesPoint, SimulationConfig, SimulationResult } from "./simulator/engine.js";
export { jobsFor, percentile, simulate } from "./simulator/engine.js";
export type { Random } from "./simulator/random.js";
export { mulberry32 } from "./simulator/random.js";
export { formatTable } from "./simulator/report.js";
export type { Scenario } from "./simulator/scenarios.js";
export {
  defaultStrategies,
  runScenario,
  SCENARIOS,
  SIMULATION_GUARDS,
} from "./simulator/scenarios.js";
export { renderSvg } from "./simulator/svg.js";
export * from "./strategies/index.js";
export type {
  Decision,
  Recommendation,
  Sample,
  Signals,
  Strategy,
  StrategyBounds,
  StrategyInput,
} from "./types.js";
