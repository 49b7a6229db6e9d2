export type { MongoAdapterOptions, WakeUpMode } from "./adapter.js";
export { MongoAdapter } from "./adapter.js";
export type { Collections } from "./collections.js";
export { collectionNames, DEFAULT_PREFIX } from "./collections.js";
export { isUnavailable, toStoreError } from "./errors.js";
