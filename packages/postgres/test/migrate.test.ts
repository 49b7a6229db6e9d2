import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { enqueueOne, uniqueQueue, waitFor } from "@queueflow/adapter-tests";
import { isQueueFlowError } from "@queueflow/core";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { LATEST_VERSION, migrationSql, PostgresAdapter } from "../src/index.js";
import { databaseUrl, dropSchema, freshSchema, withClient } from "./database.js";

const url = databaseUrl();
const schemas: string[] = [];
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const run = promisify(execFile);

function schemaFor(prefix: string): string {
  const schema = freshSchema(prefix);
  schemas.push(schema);
  return schema;
}

async function appliedVersions(schema: string): Promise<number[]> {
  return withClient(async (c) => {
    const { rows } = await c.query<{ version: number }>(
      `select version from "${schema}".migrations order by version`,
    );
    return rows.map((r) => r.version);
  });
}

const allVersions = Array.from({ length: LATEST_VERSION }, (_, i) => i + 1);

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

describe("migrations", () => {
  it("creates a fresh schema at connect and records every version once", async () => {
    const schema = schemaFor("mig_fresh");
    const adapter = new PostgresAdapter({ connection: url, schema });
    try {
      await adapter.connect();
      expect(await appliedVersions(schema)).toEqual(allVersions);
      await enqueueOne(adapter, uniqueQueue("mig"));
    } finally {
      await adapter.close();
    }
  });

  it("treats a re-run as a no-op that keeps the data", async () => {
    const schema = schemaFor("mig_rerun");
    const queue = uniqueQueue("mig-rerun");
    const first = new PostgresAdapter({ connection: url, schema });
    await first.connect();
    const job = await enqueueOne(first, queue);
    await first.close();

    const second = new PostgresAdapter({ connection: url, schema });
    try {
      await second.connect();
      expect(await appliedVersions(schema)).toEqual(allVersions);
      expect(await second.getJob(queue, job.id)).toEqual(job);
    } finally {
      await second.close();
    }
  });

  it("lets many adapters migrate one schema at once (the advisory lock serialises them)", async () => {
    const schema = schemaFor("mig_race");
    const adapters = Array.from(
      { length: 8 },
      () => new PostgresAdapter({ connection: url, schema }),
    );
    try {
      await Promise.all(adapters.map((a) => a.connect()));
      expect(await appliedVersions(schema)).toEqual(allVersions);
      for (const a of adapters) expect((await a.health()).ok).toBe(true);
    } finally {
      await Promise.all(adapters.map((a) => a.close()));
    }
  });

  it("rejects connect, without crashing the process, when its connection dies mid-migration", async () => {
    const schema = schemaFor("mig_killed");
    const adapter = new PostgresAdapter({ connection: url, schema });
    // Hold the migrations' advisory lock (the class is "QF") so the adapter's checked-out
    // client waits on it, then kill that client's backend: pg emits "error" on the client,
    // which, without a listener, is an uncaught exception that ends the process.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock($1::int, hashtext($2::text))", [0x5146, schema]);
      const connecting = adapter.connect();
      connecting.catch(() => undefined);
      const pid = await waitFor(
        async () => {
          const { rows } = await holder.query<{ pid: number }>(
            "select pid from pg_stat_activity where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'",
          );
          return rows[0]?.pid;
        },
        { timeoutMs: 10_000, message: "the adapter's migration to wait on the lock" },
      );
      await holder.query("select pg_terminate_backend($1)", [pid]);
      const err = await connecting.then(
        () => null,
        (e: unknown) => e,
      );
      expect(isQueueFlowError(err) && err.code).toBe("QF_STORE_UNAVAILABLE");
      await holder.query("select pg_advisory_unlock($1::int, hashtext($2::text))", [
        0x5146,
        schema,
      ]);
      await adapter.connect();
      expect(await appliedVersions(schema)).toEqual(allVersions);
    } finally {
      await holder.end();
      await adapter.close();
    }
  });

  it("with migrate: false, refuses an unmigrated schema and accepts one migrated by migrationSql", async () => {
    const schema = schemaFor("mig_manual");
    const adapter = new PostgresAdapter({ connection: url, schema, migrate: false });
    const error = await adapter.connect().then(
      () => null,
      (err: unknown) => err,
    );
    expect(isQueueFlowError(error, "QF_INVALID_STATE")).toBe(true);
    expect((error as Error).message).toContain("queueflow-postgres-migrate");

    await withClient((c) => c.query(migrationSql(schema)));
    try {
      await adapter.connect();
      expect(await appliedVersions(schema)).toEqual(allVersions);
      await enqueueOne(adapter, uniqueQueue("mig-manual"));
    } finally {
      await adapter.close();
    }
  });

  it("prints nothing to apply past the latest version", () => {
    const sql = migrationSql("some_schema", { after: LATEST_VERSION });
    expect(sql).not.toContain('create table "some_schema".jobs');
    expect(migrationSql("some_schema")).toContain('create table "some_schema".jobs');
  });

  it("queueflow-postgres-migrate prints and runs the migrations", async () => {
    expect(existsSync(bin), "build the package first (pnpm build): dist/bin.js is missing").toBe(
      true,
    );
    const schema = schemaFor("mig_bin");
    const printed = await run(process.execPath, [bin, "--print", "--schema", schema]);
    expect(printed.stdout).toBe(migrationSql(schema));

    const first = await run(process.execPath, [bin, "--run", "--url", url, "--schema", schema]);
    expect(first.stderr).toContain("applied");
    const again = await run(process.execPath, [bin, "--run", "--url", url, "--schema", schema]);
    expect(again.stderr).toContain("up to date");
    expect(await appliedVersions(schema)).toEqual(allVersions);
  });
});
