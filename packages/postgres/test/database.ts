import { randomUUID } from "node:crypto";
import type { ClaimedJob } from "@queueflow/core";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { PostgresAdapter } from "../src/index.js";

/**
 * The server the tests run against. Unset is an error, never a skip: a run that silently
 * tested nothing would look green.
 */
export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    throw new Error(
      'DATABASE_URL is not set: from the repository root run `eval "$(bash scripts/servers/postgres.sh up)"` (scripts/test.sh does it), or point DATABASE_URL at a PostgreSQL 13+ database.',
    );
  }
  return url;
}

/** A schema name no other test or concurrent run uses. */
export function freshSchema(prefix: string): string {
  return `qft_${prefix}_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
}

/** Run `fn` on a throwaway client of its own. */
export async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drop a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`drop schema if exists "${schema}" cascade`));
}

/**
 * `count` adapters on one fresh schema, each with its own pool (as separate hosts would have),
 * connected before the file's tests and closed, with the schema dropped, after them.
 */
export function separatePools(
  label: string,
  count = 4,
): { schema: string; adapters: PostgresAdapter[] } {
  const url = databaseUrl();
  const schema = freshSchema(label);
  const adapters = Array.from(
    { length: count },
    () => new PostgresAdapter({ connection: url, schema }),
  );
  beforeAll(async () => {
    await Promise.all(adapters.map((a) => a.connect()));
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await dropSchema(schema);
  });
  return { schema, adapters };
}

/** Claim up to `limit` jobs of `queue` through `adapter` with a 30 s lease. */
export function claimFrom(
  adapter: PostgresAdapter,
  queue: string,
  workerId: string,
  limit = 3,
): Promise<ClaimedJob[]> {
  return adapter
    .claim({ queue, workerId, limit, leaseMs: 30_000, priorityRange: null })
    .then((r) => r.jobs);
}
