import { uniqueQueue } from "@queueflow/adapter-tests";
import { Queue } from "@queueflow/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { schemaOf } from "../src/schema.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

// What a waiting job costs on disk, as the benchmark's "bytes per waiting job" measures it:
// a fresh schema, jobs added in bulk through a Queue (core's ids and defaults), sizes read
// from the relations. The bounds sit between the figures before 0007_narrow_rows and after.
const schema = freshSchema("footprint");
const s = schemaOf(schema);
const queue = uniqueQueue("footprint");
const client = new pg.Client({ connectionString: databaseUrl() });
const adapter = new PostgresAdapter({ connection: databaseUrl(), schema });
const JOBS = 5000;

beforeAll(async () => {
  await adapter.connect();
  await client.connect();
  const q = new Queue(queue, { adapter });
  for (let done = 0; done < JOBS; done += 1000) {
    await q.addBulk(
      Array.from({ length: 1000 }, () => ({ name: "noop", payload: { blob: "x".repeat(189) } })),
    );
  }
}, 60_000);

afterAll(async () => {
  await client.end();
  await adapter.close();
  await dropSchema(schema);
});

async function bytesPerJob(relation: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>(
    "select pg_relation_size($1::regclass) as bytes",
    [relation],
  );
  return Number(rows[0]!.bytes) / JOBS;
}

describe("the footprint of a waiting job", () => {
  it("stores no copy of empty metadata, empty errors or the default backoff", async () => {
    const { rows } = await client.query<{ filled: string }>(
      `select count(*) as filled from ${s.jobs}
       where metadata is not null or errors is not null or backoff is not null`,
    );
    expect(Number(rows[0]!.filled)).toBe(0);
    const job = await adapter.getJob(
      queue,
      (await client.query(`select id from ${s.jobs} limit 1`)).rows[0].id,
    );
    expect(job).toMatchObject({ metadata: {}, errors: [], backoff: null });
  });

  it("fills the table's pages: no room is kept for updates that cannot be HOT", async () => {
    // 586 bytes a job at fillfactor 80 with the columns above stored.
    expect(await bytesPerJob(`${s.jobs}`)).toBeLessThan(400);
  });

  it("appends the primary key at its right edge: core's ids grow", async () => {
    // A leaf entry is an 8-byte tuple header and the key, aligned to 8, and a 4-byte line
    // pointer. Random (version 4) ids split pages in the middle and left them about 70% full.
    const { rows } = await client.query<{ entry: string }>(
      `select avg((8 + pg_column_size(queue) + pg_column_size(id) + 7) / 8 * 8 + 4) as entry
       from ${s.jobs}`,
    );
    const fill = Number(rows[0]!.entry) / (await bytesPerJob(`${schema}.jobs_pkey`));
    expect(fill).toBeGreaterThan(0.85);
  });
});
