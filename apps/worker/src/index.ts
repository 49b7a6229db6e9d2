export type { WorkerConfig } from "./config.js";
export { loadWorkerConfig, workerEnvSchema } from "./config.js";
export type { QueueHandlers } from "./handlers/index.js";
export { createHandlers } from "./handlers/index.js";
export type { PoolDeps, PoolRuntime, PoolStatus } from "./pool.js";
export { startProcessPools } from "./pool.js";
export type { WorkerDeps, WorkerRuntime } from "./runtime.js";
export { startWorkers } from "./runtime.js";
export { createWorkerServer, listen } from "./server.js";
