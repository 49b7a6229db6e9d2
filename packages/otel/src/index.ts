export type {
  InstrumentationOptions,
  QueueFlowInstrumentation,
} from "./instrumentation.js";
export { createInstrumentation, INSTRUMENTATION_NAME } from "./instrumentation.js";
export type { ObservableQueue } from "./queue-metrics.js";
export type { ObservableWorker } from "./worker-observer.js";
