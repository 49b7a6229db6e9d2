export { PostgresAdapter } from "./adapter.js";
export type { PostgresAdapterOptions } from "./connection.js";
export { isConnectionError } from "./errors.js";
export { LATEST_VERSION, migrationSql } from "./migrate.js";
export { DEFAULT_SCHEMA } from "./schema.js";
