import { randomUUID } from "node:crypto";
import pg from "pg";

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
