import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { MIGRATIONS } from "../src/migrations.generated.js";
import { databaseUrl, dropSchema, freshSchema, withClient } from "./database.js";

// What the conformance suite cannot see: the 0002 backfill of a schema that has jobs, and the
// counter tables staying equal to a recount whatever changes the dead set (adapter calls
// racing each other, or SQL by hand).

const url = databaseUrl();
const schemas: string[] = [];

function schemaFor(prefix: string): string {
  const schema = freshSchema(prefix);
  schemas.push(schema);
  return schema;
}

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

/** The counter tables next to a recount of the dead jobs, for one schema. */
async function countersAndRecount(schema: string) {
  return withClient(async (c) => {
    const q = async (text: string) => (await c.query(text)).rows;
    return {
      counts:
        await q(`select queue, name, error_name, error_class, count::int from "${schema}".dead_letter_counts
        order by 1, 2, 3, 4`),
      recount: await q(`select queue, name, coalesce(error_name, '') as error_name,
          coalesce(error_class, 'unknown') as error_class, count(*)::int as count
        from "${schema}".jobs where state = 'dead' group by 1, 2, 3, 4 order by 1, 2, 3, 4`),
      hours:
        await q(`select queue, finished_hour::text, count::int from "${schema}".dead_letter_hours
        order by 1, 2`),
      rehours: await q(`select queue, floor(finished_at / 3600000.0)::bigint::text as finished_hour,
          count(*)::int as count
        from "${schema}".jobs where state = 'dead' group by 1, 2 order by 1, 2`),
    };
  });
}

async function expectExactCounters(schema: string): Promise<void> {
  const { counts, recount, hours, rehours } = await countersAndRecount(schema);
  expect(counts).toEqual(recount);
  expect(hours).toEqual(rehours);
}

/** Kill `n` jobs of `queue` in one settle batch, error class cycling through `classes`. */
async function killMany(a: PostgresAdapter, queue: string, n: number, classes: string[]) {
  await a.enqueue(Array.from({ length: n }, (_, i) => newJob(queue, { name: `job${i % 3}` })));
  const { jobs } = await a.claim({
    queue,
    workerId: "dlq-test",
    limit: n,
    leaseMs: 60_000,
    priorityRange: null,
  });
  const at = await a.now();
  const outcomes = await a.settle(
    queue,
    jobs.map((j, i) => ({
      kind: "dead" as const,
      id: j.id,
      token: j.leaseToken,
      error: {
        attempt: j.attempts,
        name: `E${i % 2}`,
        message: "boom",
        at,
        errorClass: classes[i % classes.length]!,
      },
    })),
  );
  expect(outcomes.every((o) => o === "ok")).toBe(true);
  return jobs.map((j) => j.id);
}

describe("dead letters on PostgreSQL", () => {
  it("0002 backfills error columns and counters from a schema with jobs", async () => {
    const schema = schemaFor("dlq_upgrade");
    const queue = uniqueQueue("dlq-upgrade");
    await withClient(async (c) => {
      const s = `"${schema}"`;
      await c.query(`create schema ${s}`);
      await c.query(`create table ${s}.migrations (version integer primary key, name text not null,
        applied_at timestamptz not null default now())`);
      await c.query(MIGRATIONS[0]!.sql.replaceAll("__SCHEMA__", s));
      await c.query(`insert into ${s}.migrations (version, name) values (1, 'init')`);
      const insert = `insert into ${s}.jobs (queue, id, name, state, priority, attempts, max_attempts,
        created_at, run_at, finished_at, errors) values ($1, $2, $3, $4, 5, 1, 1, 1000, 1000, $5, $6)`;
      const err = (name: string, errorClass?: string) =>
        JSON.stringify([
          { attempt: 0, name: "Earlier", message: "x", at: 1, errorClass: "connection" },
          { attempt: 1, name, message: "y", at: 2, ...(errorClass ? { errorClass } : {}) },
        ]);
      await c.query(insert, [
        queue,
        "d1",
        "email",
        "dead",
        7_200_000,
        err("TimeoutError", "timeout"),
      ]);
      await c.query(insert, [queue, "d2", "email", "dead", 7_300_000, err("Error")]);
      await c.query(insert, [
        queue,
        "d3",
        "sms",
        "dead",
        3_600_000,
        err("TimeoutError", "timeout"),
      ]);
      await c.query(insert, [queue, "c1", "sms", "completed", 7_200_000, err("Error", "timeout")]);
      await c.query(insert, [queue, "w1", "sms", "waiting", null, "[]"]);
    });

    const adapter = new PostgresAdapter({ connection: url, schema });
    try {
      await adapter.connect();
      const stats = await adapter.deadLetterStats(queue);
      expect(stats).toMatchObject({
        total: 3,
        byName: { email: 2, sms: 1 },
        byError: { TimeoutError: 2, Error: 1 },
        byErrorClass: { timeout: 2, unknown: 1 },
        oldestFinishedAt: 3_600_000,
        newestFinishedAt: 7_300_000,
      });
      expect(stats.byAge.at(-1)?.count).toBe(3);
      const ids = async (state: "dead" | "completed", filter: object) =>
        (await adapter.listJobs({ queue, state, limit: 10, ...filter })).jobs.map((j) => j.id);
      expect(await ids("dead", { errorClass: "timeout" })).toEqual(["d3", "d1"]);
      expect(await ids("dead", { errorClass: "unknown" })).toEqual(["d2"]);
      expect(await ids("dead", { errorName: "TimeoutError", name: "email" })).toEqual(["d1"]);
      expect(await ids("completed", { errorClass: "timeout" })).toEqual(["c1"]);
      await expectExactCounters(schema);
    } finally {
      await adapter.close();
    }
  });

  it("keeps the counters equal to a recount through racing replays, purges and kills", async () => {
    const schema = schemaFor("dlq_race");
    const adapters = Array.from(
      { length: 4 },
      () => new PostgresAdapter({ connection: url, schema }),
    );
    const [a] = adapters as [PostgresAdapter];
    const queue = uniqueQueue("dlq-race");
    try {
      await a.connect();
      const first = await killMany(a, queue, 120, ["timeout", "validation", "connection"]);
      await expectExactCounters(schema);

      const bound = (await a.now()) + 60_000;
      await Promise.all([
        // Kills in batches mixing keys, from several connections at once.
        ...adapters.map((x) => killMany(x, queue, 60, ["connection", "timeout"])),
        // Replays of overlapping id sets, in opposite orders.
        adapters[1]!.retryJobs({ queue, ids: first.slice(0, 60), payloadPatch: null }),
        adapters[2]!.retryJobs({ queue, ids: first.slice(30, 90).reverse(), payloadPatch: null }),
        // Purges by class and by age.
        adapters[3]!.clean({
          queue,
          state: "dead",
          finishedBefore: bound,
          errorClass: "validation",
          limit: 1000,
        }),
        adapters[0]!.clean({
          queue,
          state: "dead",
          finishedBefore: bound,
          name: "job1",
          limit: 25,
        }),
      ]);
      await expectExactCounters(schema);
      const stats = await a.deadLetterStats(queue);
      const { recount } = await countersAndRecount(schema);
      expect(stats.total).toBe(recount.reduce((n, r) => n + (r.count as number), 0));
      expect(stats.byAge[0]?.count).toBe(stats.total);
    } finally {
      await Promise.all(adapters.map((x) => x.close()));
    }
  });

  it("counts changes made by hand: update, delete and truncate of dead rows", async () => {
    const schema = schemaFor("dlq_manual");
    const a = new PostgresAdapter({ connection: url, schema });
    const queue = uniqueQueue("dlq-manual");
    try {
      await a.connect();
      await killMany(a, queue, 30, ["timeout"]);
      await withClient(async (c) => {
        const s = `"${schema}"`;
        // Age some jobs by 40 days: their hour counters move, byAge follows.
        await c.query(
          `update ${s}.jobs set finished_at = finished_at - 40::bigint * 86400000 where name = 'job0'`,
        );
        await expectExactCounters(schema);
        expect((await a.deadLetterStats(queue)).byAge.map((b) => b.count)).toEqual([
          20, 0, 0, 0, 10,
        ]);
        await c.query(`update ${s}.jobs set error_class = 'validation' where name = 'job1'`);
        await c.query(`delete from ${s}.jobs where name = 'job2'`);
        await expectExactCounters(schema);
        expect((await a.deadLetterStats(queue)).byErrorClass).toEqual({
          timeout: 10,
          validation: 10,
        });
        // A job failed by a previous version (no error columns), repaired by the rebuild.
        await c.query(`update ${s}.jobs set error_name = null, error_class = null
          where name = 'job0'`);
        expect((await a.deadLetterStats(queue)).byError[""]).toBe(10);
        await c.query(`select ${s}.rebuild_dead_letter_counts()`);
        await expectExactCounters(schema);
        expect((await a.deadLetterStats(queue)).byErrorClass).toEqual({
          timeout: 10,
          validation: 10,
        });
        expect(
          (await a.listJobs({ queue, state: "dead", errorClass: "timeout", limit: 50 })).jobs,
        ).toHaveLength(10);
        await c.query(`truncate ${s}.jobs`);
        await expectExactCounters(schema);
        expect((await a.deadLetterStats(queue)).total).toBe(0);
      });
    } finally {
      await a.close();
    }
  });
});
