import { QueueFlowError } from "@queueflow/core";
import type { ClientBase } from "pg";
import { MIGRATIONS, type MigrationSource } from "./migrations.generated.js";
import { DEFAULT_SCHEMA, type Schema, schemaOf } from "./schema.js";

/** First key of the advisory lock migrations hold ("QF"); the second is the schema's hash. */
const LOCK_CLASS = 0x5146;

/** The newest migration version this package knows. */
export const LATEST_VERSION = MIGRATIONS.length;

function render(m: MigrationSource, s: Schema): string {
  return m.sql.replaceAll("__SCHEMA__", s.quoted);
}

function migrationsTable(s: Schema): string {
  return `create table if not exists ${s.migrations} (
  version integer primary key,
  name text not null,
  applied_at timestamptz not null default now()
)`;
}

/**
 * The SQL that brings `schema` to the newest version, for teams that manage DDL themselves
 * (run it with their migration tool, then pass `migrate: false` to the adapter). One
 * transaction, serialised with the adapter's own migrations by the same advisory lock, and
 * it records each version in `<schema>.migrations` as the adapter does.
 *
 * @param options.after print only migrations newer than this version (default 0: all).
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for an invalid schema name.
 * @example
 * import { writeFileSync } from "node:fs";
 * writeFileSync("migrations/queueflow.sql", migrationSql("queueflow"));
 */
export function migrationSql(
  schema: string = DEFAULT_SCHEMA,
  options: { after?: number } = {},
): string {
  const s = schemaOf(schema);
  const after = options.after ?? 0;
  const parts = [
    `-- QueueFlow PostgreSQL storage, schema ${s.quoted}: migrations ${after + 1}..${LATEST_VERSION}`,
    "begin;",
    `select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext('${s.name}'));`,
    `create schema if not exists ${s.quoted};`,
    `${migrationsTable(s)};`,
  ];
  for (const m of MIGRATIONS) {
    if (m.version <= after) continue;
    parts.push(render(m, s).trimEnd());
    parts.push(`insert into ${s.migrations} (version, name) values (${m.version}, '${m.name}');`);
  }
  parts.push("commit;", "");
  return parts.join("\n\n");
}

/**
 * Apply the migrations `schema` lacks, on `client`, in one transaction. Many processes may
 * start at once: `pg_advisory_xact_lock` makes them take turns, and each re-reads the applied
 * versions after acquiring it (a fresh snapshot under READ COMMITTED), so every migration runs
 * once. Returns the versions this call applied.
 */
export async function runMigrations(client: ClientBase, s: Schema): Promise<number[]> {
  const applied: number[] = [];
  await client.query("begin");
  try {
    await client.query("select pg_advisory_xact_lock($1::int, hashtext($2::text))", [
      LOCK_CLASS,
      s.name,
    ]);
    await client.query(`create schema if not exists ${s.quoted}`);
    await client.query(migrationsTable(s));
    const { rows } = await client.query<{ version: number }>(`select version from ${s.migrations}`);
    const done = new Set(rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(render(m, s));
      await client.query(`insert into ${s.migrations} (version, name) values ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query("commit");
  } catch (err) {
    // The original error is the one to report; a failed rollback (a dead connection) adds
    // nothing, and the server rolls back on disconnect anyway.
    await client.query("rollback").catch(() => undefined);
    throw err;
  }
  return applied;
}

/**
 * With `migrate: false`: check that someone applied every migration this version needs.
 * @throws QueueFlowError `QF_INVALID_STATE` naming the versions missing and how to apply them.
 */
export async function checkMigrated(client: ClientBase, s: Schema): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>(
    "select to_regclass($1) is not null as present",
    [`${s.quoted}.migrations`],
  );
  let current = 0;
  if (rows[0]?.present) {
    const result = await client.query<{ version: number | null }>(
      `select max(version) as version from ${s.migrations}`,
    );
    current = result.rows[0]?.version ?? 0;
  }
  if (current < LATEST_VERSION) {
    throw new QueueFlowError(
      "QF_INVALID_STATE",
      `Schema ${s.quoted} is at migration ${current}, this @queueflow/postgres needs ${LATEST_VERSION}: run \`queueflow-postgres-migrate --run --url <url> --schema ${s.name}\` (or apply migrationSql("${s.name}", { after: ${current} })), or drop \`migrate: false\`.`,
    );
  }
}
