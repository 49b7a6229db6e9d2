/** Measurement and clean-up helpers on the servers themselves (not on any library). */
import { Redis } from "ioredis";
import pg, { type Pool } from "pg";

export function redisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3 });
}

let sent = 0;
let patched = false;

/**
 * Counts every command any ioredis client in this process sends (patches
 * Redis.prototype.sendCommand once). Round trips from the client side; a pipelined batch counts
 * each of its commands.
 */
export function clientCommandsSent(): number {
  if (!patched) {
    patched = true;
    const original = Redis.prototype.sendCommand;
    Redis.prototype.sendCommand = function (
      this: Redis,
      ...args: Parameters<Redis["sendCommand"]>
    ) {
      sent++;
      return original.apply(this, args);
    } as Redis["sendCommand"];
  }
  return sent;
}

/** Sum of `calls` over INFO commandstats: every command the server executed so far. */
export async function redisCommandCalls(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(info.match(/used_memory:(\d+)/)?.[1] ?? Number.NaN);
}

/** Deletes every key matching `pattern` with SCAN + UNLINK, bounded in iterations. */
export async function redisDeleteMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  for (let i = 0; i < 100_000; i++) {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 5000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === "0") return;
  }
}

export function pgPool(url: string, max = 2): Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", () => {});
  return pool;
}

/** Table + index + TOAST bytes of every table in `schema`. */
export async function pgSchemaBytes(pool: Pool, schema: string): Promise<number> {
  const { rows } = await pool.query<{ bytes: string | null }>(
    `select sum(pg_total_relation_size(c.oid))::bigint as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'm')`,
    [schema],
  );
  return Number(rows[0]?.bytes ?? 0);
}

/** ANALYZE every table of `schema` (see Session.afterFill). */
export async function pgAnalyzeSchema(pool: Pool, schema: string): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(
    "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = $1",
    [schema],
  );
  for (const { name } of rows) await pool.query(`analyze ${name}`);
}

export async function pgDropSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(`drop schema if exists "${schema}" cascade`);
}
