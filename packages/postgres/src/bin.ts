#!/usr/bin/env node
// queueflow-postgres-migrate: print or apply the schema's migrations from a deploy step.
import { parseArgs } from "node:util";
import pg from "pg";
import { toStoreError } from "./errors.js";
import { LATEST_VERSION, migrationSql, runMigrations } from "./migrate.js";
import { DEFAULT_SCHEMA, schemaOf } from "./schema.js";

const USAGE = `Usage:
  queueflow-postgres-migrate --print [--schema NAME] [--after VERSION]
      Print the SQL (one transaction) for your own migration tooling.
  queueflow-postgres-migrate --run [--url URL] [--schema NAME]
      Apply pending migrations (URL defaults to $DATABASE_URL).
Schema defaults to "${DEFAULT_SCHEMA}". This version's latest migration is ${LATEST_VERSION}.`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      print: { type: "boolean" },
      run: { type: "boolean" },
      url: { type: "string" },
      schema: { type: "string" },
      after: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || values.print === values.run) {
    (values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const schema = values.schema ?? DEFAULT_SCHEMA;
  if (values.print) {
    const after = values.after === undefined ? 0 : Number(values.after);
    if (!Number.isSafeInteger(after) || after < 0) {
      process.stderr.write(`--after takes a version number, got ${values.after}\n`);
      return 2;
    }
    process.stdout.write(migrationSql(schema, { after }));
    return 0;
  }
  const url = values.url ?? process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    process.stderr.write(`--run needs --url or DATABASE_URL.\n\n${USAGE}\n`);
    return 2;
  }
  const s = schemaOf(schema);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const applied = await runMigrations(client, s);
    process.stderr.write(
      applied.length === 0
        ? `schema ${s.name}: up to date (version ${LATEST_VERSION})\n`
        : `schema ${s.name}: applied ${applied.join(", ")}\n`,
    );
    return 0;
  } catch (err) {
    throw toStoreError(err, "migrate");
  } finally {
    await client.end().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `queueflow-postgres-migrate: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
