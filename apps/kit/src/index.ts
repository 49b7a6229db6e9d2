export * from "./catalog/index.js";
export type { Env, StoreConfig } from "./config.js";
export {
  boolVar,
  ConfigError,
  intVar,
  parseEnv,
  requireStoreUrl,
  storeConfigOf,
  storeEnv,
  urlVar,
} from "./config.js";
export type { Logger } from "./logger.js";
export { createLogger } from "./logger.js";
export type { JobMetrics } from "./metrics.js";
export { createJobMetrics, registerQueueGauges } from "./metrics.js";
export type { ServiceConfig, ServiceContext } from "./service.js";
export { runService } from "./service.js";
export { exitOnStartupError, onShutdown } from "./shutdown.js";
export { openStore } from "./store.js";
export type { Tracing } from "./tracing.js";
export { startTracing } from "./tracing.js";
