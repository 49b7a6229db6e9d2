import { enqueueOne, newJob, uniqueQueue } from "@queueflow/adapter-tests";
import { isQueueFlowError } from "@queueflow/core";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

const url = databaseUrl();
const schema = freshSchema("options");

afterAll(async () => {
  await dropSchema(schema);
});

describe("connection options", () => {
  it("uses a pool the caller passes, and leaves it open on close()", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const adapter = new PostgresAdapter({ connection: pool, schema });
      await adapter.connect();
      const job = await enqueueOne(adapter, uniqueQueue("opt-pool"));
      await adapter.close();

      const { rows } = await pool.query(`select id from "${schema}".jobs where id = $1`, [job.id]);
      expect(rows).toEqual([{ id: job.id }]);
    } finally {
      await pool.end();
    }
  });

  it("accepts a connection string and ends the pool it created on close()", async () => {
    const adapter = new PostgresAdapter({ connection: url, schema });
    await adapter.connect();
    expect(Math.abs((await adapter.now()) - Date.now())).toBeLessThan(30_000);
    await adapter.close();

    const error = await adapter.now().then(
      () => null,
      (err: unknown) => err,
    );
    expect(isQueueFlowError(error, "QF_CLOSED")).toBe(true);
    expect((await adapter.health()).ok).toBe(false);
  });

  it("accepts pool options", async () => {
    const adapter = new PostgresAdapter({
      connection: { connectionString: url, max: 3, application_name: "queueflow-test" },
      schema,
    });
    try {
      await adapter.connect();
      expect((await adapter.health()).ok).toBe(true);
    } finally {
      await adapter.close();
    }
  });

  for (const bad of ["Bad", "1abc", 'x"; drop schema public; --', "", "a".repeat(64), "a-b"]) {
    it(`refuses the schema name ${JSON.stringify(bad.slice(0, 20))} with QF_INVALID_ARGUMENT`, () => {
      let error: unknown = null;
      try {
        new PostgresAdapter({ connection: url, schema: bad });
      } catch (err) {
        error = err;
      }
      expect(isQueueFlowError(error, "QF_INVALID_ARGUMENT")).toBe(true);
    });
  }

  it("reports an unreachable server as QF_STORE_UNAVAILABLE, and health as not ok", async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const adapter = new PostgresAdapter({
      connection: "postgres://nobody@127.0.0.1:1/none",
      schema,
    });
    try {
      const error = await adapter.connect().then(
        () => null,
        (err: unknown) => err,
      );
      expect(isQueueFlowError(error, "QF_STORE_UNAVAILABLE")).toBe(true);
      const claimError = await adapter
        .claim({ queue: "q", workerId: "w", limit: 1, leaseMs: 1_000, priorityRange: null })
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(isQueueFlowError(claimError, "QF_STORE_UNAVAILABLE")).toBe(true);
      const health = await adapter.health();
      expect(health.ok).toBe(false);
      expect(health.message).toBeTruthy();
    } finally {
      await adapter.close();
    }
  });

  it("treats queue names as values: quotes and SQL in a name are just characters", async () => {
    const adapter = new PostgresAdapter({ connection: url, schema });
    try {
      await adapter.connect();
      const queue = `q'; drop table "${schema}".jobs; --`;
      const [added] = await adapter.enqueue([newJob(queue)]);
      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit: 1,
        leaseMs: 10_000,
        priorityRange: null,
      });
      expect(jobs.map((j) => j.id)).toEqual([added?.job.id]);
      expect(jobs[0]?.queue).toBe(queue);
    } finally {
      await adapter.close();
    }
  });
});
