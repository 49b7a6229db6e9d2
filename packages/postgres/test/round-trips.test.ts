import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import type { ClaimedJob } from "@queueflow/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

// DESIGN.md: a no-op job should cost about one round trip to claim and one to settle,
// amortised across a batch. Counted here on the pool the adapter is given.
const url = databaseUrl();
const schema = freshSchema("trips");
const pool = new pg.Pool({ connectionString: url, max: 4 });
const adapter = new PostgresAdapter({ connection: pool, schema });

beforeAll(async () => {
  await adapter.connect();
});

afterAll(async () => {
  await adapter.close();
  await pool.end();
  await dropSchema(schema);
});

describe("round trips", () => {
  it("adds, claims, extends and settles 100 jobs in one statement each", async () => {
    const queue = uniqueQueue("trips");
    const spy = vi.spyOn(pool, "query");
    try {
      await adapter.enqueue(Array.from({ length: 100 }, () => newJob(queue)));
      expect(spy).toHaveBeenCalledTimes(1);

      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit: 100,
        leaseMs: 30_000,
        priorityRange: null,
      });
      expect(jobs).toHaveLength(100);
      expect(spy).toHaveBeenCalledTimes(2);

      const leases = jobs.map((j: ClaimedJob) => ({ id: j.id, token: j.leaseToken }));
      expect((await adapter.extendLeases(queue, leases, 60_000)).every(Boolean)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(3);

      const outcomes = await adapter.settle(
        queue,
        jobs.map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: 1 })),
      );
      expect(outcomes.every((o) => o === "ok")).toBe(true);
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
    expect((await adapter.counts(queue)).completed).toBe(100);
  });
});
