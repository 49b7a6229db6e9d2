export type { RedisAdapterOptions } from "./adapter.js";
export { RedisAdapter } from "./adapter.js";
export type { RedisClient } from "./connection.js";
export { OWNED_CLIENT_DEFAULTS } from "./connection.js";
export type { QueueKeys } from "./keys.js";
export { DEFAULT_PREFIX, queueKeys } from "./keys.js";
