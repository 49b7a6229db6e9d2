import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import * as q from "../src/queries.js";
import { schemaOf } from "../src/schema.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

// node-postgres runs every statement as a named prepared statement. On a table with real
// statistics PostgreSQL then either re-plans a claim at every call (custom plans: ~0.7 ms of
// planning per claim, measured) or settles on one generic plan, planned without knowing the
// LIMIT. Both went wrong once: the plain claim was re-planned at every call, and the generic
// plan of every claim joined its picked rows to a sequential scan of the whole jobs table.
const schema = freshSchema("plans");
const s = schemaOf(schema);
const queue = uniqueQueue("plans");
const client = new pg.Client({ connectionString: databaseUrl() });
const adapter = new PostgresAdapter({ connection: databaseUrl(), schema });

beforeAll(async () => {
  await adapter.connect();
  await client.connect();
  // A backlog and a history, analyzed, as autovacuum leaves a live table: large enough that
  // a sequential scan of it is the wrong plan for a claim of ten.
  for (let round = 0; round < 20; round++) {
    await adapter.enqueue(Array.from({ length: 1000 }, () => newJob(queue)));
  }
  const { jobs } = await adapter.claim({
    queue,
    workerId: "w",
    limit: 1000,
    leaseMs: 30_000,
    priorityRange: null,
  });
  await adapter.settle(
    queue,
    jobs.map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: null })),
  );
  await client.query(`analyze ${s.jobs}`);
}, 60_000);

afterAll(async () => {
  await client.end();
  await adapter.close();
  await dropSchema(schema);
});

const params = (limit: number): q.ClaimParams => ({
  queue,
  workerId: "plan-test",
  limit,
  leaseMs: 30_000,
  minPriority: 0,
  maxPriority: 20,
  ranged: false,
});

/** Run a claim statement inside a transaction that is rolled back: nothing is leased. */
async function runRolledBack(statement: q.Statement): Promise<void> {
  await client.query("begin");
  try {
    await client.query(statement);
  } finally {
    await client.query("rollback");
  }
}

describe("claim statements' plans", () => {
  it("the plain claim settles on one generic plan instead of planning every call", async () => {
    for (let i = 0; i < 10; i++) await runRolledBack(q.claimPlainJobs(s, params(1 + (i % 3))));
    const { rows } = await client.query<{ generic_plans: string; custom_plans: string }>(
      "select generic_plans, custom_plans from pg_prepared_statements where name = $1",
      [q.claimPlainJobs(s, params(1)).name],
    );
    expect(Number(rows[0]?.generic_plans)).toBeGreaterThan(0);
    expect(Number(rows[0]?.custom_plans)).toBeLessThanOrEqual(5);
  });

  it.each([
    ["plain", q.claimPlainJobs],
    ["full", q.claimJobs],
    ["grouped", q.claimGroupedJobs],
  ] as const)("the %s claim's generic plan never scans the whole jobs table", async (_, make) => {
    const statement = make(s, params(10));
    await runRolledBack(statement);
    await client.query("begin");
    try {
      await client.query("set local plan_cache_mode = force_generic_plan");
      // EXPLAIN EXECUTE takes no bound parameters: the values go in as literals.
      const literals = statement.values.map((v) =>
        typeof v === "string" ? client.escapeLiteral(v) : String(v),
      );
      const { rows } = await client.query<{ "QUERY PLAN": string }>(
        `explain execute ${statement.name}(${literals.join(", ")})`,
      );
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).not.toMatch(/Seq Scan on jobs/);
      // The picked rows are fetched by their ctids, not by a join or a filter searched per row.
      expect(plan).toMatch(/TID Cond: \(ctid = ANY/);
      expect(plan).not.toMatch(/Filter: .*id = ANY/);
    } finally {
      await client.query("rollback");
    }
  });
});

describe("settle plans", () => {
  // The statistics above were taken with no job active. A worker with a deep prefetch buffer
  // holds many active jobs: a settle planned from those statistics walked every active job
  // for each settled one (370 ms for a batch of 500, "Rows Removed by Join Filter: 700500")
  // until the write found its rows by primary key.
  type Claimed = { id: string; lease_token: string };
  const statements: {
    label: string;
    write: string;
    statement: (jobs: Claimed[]) => q.Statement;
  }[] = [
    {
      label: "the general settle",
      write: "Update",
      statement: (jobs) =>
        q.settleJobs(
          s,
          queue,
          JSON.stringify(
            jobs.map((j, ord) => ({
              ord,
              id: j.id,
              token: j.lease_token,
              kind: "complete",
              result: null,
              error: null,
              delay_ms: null,
              remove: false,
            })),
          ),
        ),
    },
    {
      label: "completions",
      write: "Update",
      statement: (jobs) =>
        q.completeJobs(
          s,
          queue,
          jobs.map((j) => j.id),
          jobs.map((j) => j.lease_token),
          jobs.map(() => "null"),
          false,
        ),
    },
    {
      label: "completions that remove",
      write: "Delete",
      statement: (jobs) =>
        q.completeJobs(
          s,
          queue,
          jobs.map((j) => j.id),
          jobs.map((j) => j.lease_token),
          [],
          true,
        ),
    },
  ];

  it.each(
    statements,
  )("$label: writes its jobs through the primary key, not a loop over active jobs", async ({
    write,
    statement,
  }) => {
    await client.query("begin");
    try {
      const claim = q.claimPlainJobs(s, params(600));
      const { rows: claimed } = await client.query<Claimed>(claim);
      expect(claimed.length).toBe(600);
      const settle = statement(claimed.slice(0, 500));
      const literals = settle.values.map((v) =>
        Array.isArray(v)
          ? `${client.escapeLiteral(`{${v.map((x) => JSON.stringify(String(x))).join(",")}}`)}`
          : client.escapeLiteral(String(v)),
      );
      // node-postgres reruns a named statement: from the sixth call on, PostgreSQL may keep
      // its generic plan, the one a busy worker runs.
      await client.query("set local plan_cache_mode = force_generic_plan");
      await client.query("savepoint prepared");
      await client.query(settle);
      await client.query("rollback to savepoint prepared");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(
        `explain (analyze) execute ${settle.name}(${literals.join(", ")})`,
      );
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).toMatch(new RegExp(`${write} on jobs .*rows=500 `));
      expect(plan).toMatch(/Index Scan using jobs_pkey on jobs .*loops=500\)/);
      expect(plan).not.toMatch(/Rows Removed by Join Filter/);
      // The lock looks its jobs up by primary key, not by matching every active job.
      expect(plan).not.toMatch(/jobs_active/);
    } finally {
      await client.query("rollback");
    }
  });
});

describe("listing plans", () => {
  // Only waiting and delayed jobs have a listing index of their own (jobs_pending_order): an
  // active page reads jobs_active, a terminal page jobs_terminal, never the whole table.
  // 19,000 waiting jobs: a page that sorted them all would show in the plan.
  it.each([
    ["waiting", /jobs_pending_order/],
    ["delayed", /jobs_pending_order|jobs_delayed/],
    ["active", /jobs_active/],
    ["completed", /jobs_terminal/],
  ] as const)("a page of %s jobs reads %s", async (state, index) => {
    await client.query("begin");
    try {
      await client.query(q.claimPlainJobs(s, params(50)));
      const list = q.listJobs(s, { queue, state, filter: {}, after: null, fetch: 51 });
      const { rows } = await client.query<{ "QUERY PLAN": string }>({
        text: `explain ${list.text}`,
        values: list.values,
      });
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).toMatch(index);
      expect(plan).not.toMatch(/Seq Scan on jobs/);
      // A page of a backlog stops at its end: no sort of every waiting job.
      if (state === "waiting") expect(plan).not.toMatch(/Sort Key/);
    } finally {
      await client.query("rollback");
    }
  });
});
