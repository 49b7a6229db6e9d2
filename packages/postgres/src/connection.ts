import { QueueFlowError } from "@queueflow/core";
import type { ClientConfig, Pool, PoolConfig, QueryResultRow } from "pg";
import pg from "pg";
import type { Statement } from "./queries.js";

/** Something that runs a statement: the adapter's pool, or the caller's transaction client. */
export interface Queryable {
  query<R extends QueryResultRow>(config: Statement): Promise<{ rows: R[] }>;
}

/** Options of {@link PostgresAdapter}. */
export interface PostgresAdapterOptions {
  /**
   * Where to connect: a `pg.Pool` you own (the adapter never ends it), a connection string,
   * or `pg.PoolConfig` options (the adapter creates the pool and ends it on `close()`).
   */
  connection: Pool | string | PoolConfig;
  /** Schema holding QueueFlow's tables: `[a-z_][a-z0-9_]{0,62}`. Default `queueflow`. */
  schema?: string;
  /**
   * Apply pending migrations in `connect()` (default true). Set false when your own tooling
   * applies {@link migrationSql}; `connect()` then only checks the schema is up to date.
   */
  migrate?: boolean;
}

/** A pool the adapter creates gives up connecting after this long (pg's default is never). */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The pool to use, whether the adapter owns it, and how to open the listening connection. */
export interface ResolvedConnection {
  pool: Pool;
  ownsPool: boolean;
  clientConfig: ClientConfig;
}

/**
 * Turn the `connection` option into a pool. Pools are recognised by shape, not `instanceof`,
 * which fails when the user's `pg` is another copy than ours.
 */
export function resolvePool(connection: Pool | string | PoolConfig): ResolvedConnection {
  if (isPool(connection)) {
    return { pool: connection, ownsPool: false, clientConfig: connection.options };
  }
  const config: PoolConfig =
    typeof connection === "string" ? { connectionString: connection } : { ...connection };
  config.connectionTimeoutMillis ??= DEFAULT_CONNECT_TIMEOUT_MS;
  const pool = new pg.Pool(config);
  // An idle client's error (a server restart) would otherwise crash the process; the next
  // query on the pool fails instead, and is mapped to QF_STORE_UNAVAILABLE.
  pool.on("error", () => undefined);
  return { pool, ownsPool: true, clientConfig: config };
}

function isPool(value: unknown): value is Pool {
  const v = value as { query?: unknown; connect?: unknown } | null;
  return (
    typeof value === "object" &&
    value !== null &&
    typeof v?.query === "function" &&
    typeof v.connect === "function"
  );
}

/** The caller's transaction handle of `enqueue(jobs, { tx })`, checked. */
export function toQueryable(tx: unknown): Queryable {
  if (typeof tx !== "object" || tx === null || typeof (tx as Queryable).query !== "function") {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      "`tx` must be a pg client (PoolClient or Client) inside an open transaction (after BEGIN).",
    );
  }
  return tx as Queryable;
}
