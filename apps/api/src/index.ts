export type { Api, ApiDeps } from "./app.js";
export { createApi } from "./app.js";
export type { ApiConfig } from "./config.js";
export { apiEnvSchema, loadApiConfig } from "./config.js";
export type { LiveEvent } from "./events.js";
export type { HealthReport, LocalWorker } from "./health.js";
