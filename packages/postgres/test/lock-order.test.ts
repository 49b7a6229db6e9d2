import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import { type ClaimedJob, isQueueFlowError, type NewJob } from "@queueflow/core";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { databaseUrl, separatePools } from "./database.js";

/**
 * Settles, lease extensions and replays each lock many job rows in one statement. Two such
 * statements over the same rows in opposite orders deadlock (40P01) unless every statement
 * locks in one order; a worker's heartbeat and its settle batch do exactly that, with their
 * input in whatever order their jobs finished or started.
 */
describe("multi-row statements lock jobs in one order", () => {
  const { adapters } = separatePools("lockorder", 2);
  const ROUNDS = 10;
  const JOBS = 150;

  async function claimAll(queue: string): Promise<ClaimedJob[]> {
    const [a] = adapters;
    await a!.enqueue(
      Array.from({ length: JOBS }, (_, i) => newJob(queue, { name: "w", payload: { i } })),
    );
    const { jobs } = await a!.claim({
      queue,
      workerId: "w",
      limit: JOBS,
      leaseMs: 60_000,
      priorityRange: null,
    });
    expect(jobs).toHaveLength(JOBS);
    return jobs;
  }

  it("a settle batch and a heartbeat over the same jobs in opposite orders never deadlock", async () => {
    const [a, b] = adapters;
    for (let round = 0; round < ROUNDS; round++) {
      const queue = uniqueQueue("lockorder");
      const jobs = await claimAll(queue);
      const leases = jobs.map((j) => ({ id: j.id, token: j.leaseToken })).reverse();
      const [settled, extended] = await Promise.all([
        a!.settle(
          queue,
          jobs.map((j) => ({ kind: "complete", id: j.id, token: j.leaseToken, result: null })),
        ),
        b!.extendLeases(queue, leases, 60_000),
      ]);
      expect(settled).toEqual(jobs.map(() => "ok"));
      // Each extension ran before or after the settle of its job: both outcomes are fine.
      expect(extended).toHaveLength(JOBS);
      expect((await a!.counts(queue)).completed).toBe(JOBS);
    }
  });

  it("two settle batches over the same jobs in opposite orders never deadlock", async () => {
    const [a, b] = adapters;
    for (let round = 0; round < ROUNDS; round++) {
      const queue = uniqueQueue("lockorder");
      const jobs = await claimAll(queue);
      const complete = (list: ClaimedJob[]) =>
        list.map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: 1 }));
      const [first, second] = await Promise.all([
        a!.settle(queue, complete(jobs)),
        b!.settle(queue, complete([...jobs].reverse())),
      ]);
      // Fencing gives each job to exactly one of the two batches.
      const ok = first.filter((o) => o === "ok").length + second.filter((o) => o === "ok").length;
      expect(ok).toBe(JOBS);
      expect((await a!.counts(queue)).completed).toBe(JOBS);
    }
  });
});

/**
 * Adds can still deadlock where lock order is the caller's: two bulk adds of the same job ids
 * in opposite orders wait on each other's unique-index entries (their insertion order is the
 * queue's FIFO order, so it is not sorted). The server rolls one back; the adapter runs a
 * statement of its own again, and inside a caller's transaction reports QF_STORE_CONFLICT.
 */
describe("a statement PostgreSQL aborts to break a deadlock", () => {
  const { adapters } = separatePools("conflict", 2);
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
  afterAll(() => pool.end());
  const jobsOf = (queue: string, ids: string[]): NewJob[] =>
    ids.map((id) => ({ ...newJob(queue, { name: "w", payload: {} }), id }));
  const ids = Array.from({ length: 200 }, (_, i) => `job-${String(i).padStart(3, "0")}`);

  it("is run again when it was the adapter's own: both adds succeed, each job stored once", async () => {
    const [a, b] = adapters;
    // Each deadlock costs the server's deadlock_timeout (1 s) to detect: a few rounds.
    for (let round = 0; round < 3; round++) {
      const queue = uniqueQueue("conflict");
      const [first, second] = await Promise.all([
        a!.enqueue(jobsOf(queue, ids)),
        b!.enqueue(jobsOf(queue, [...ids].reverse())),
      ]);
      const created = [...first, ...second].filter((r) => r.created).length;
      expect(created).toBe(ids.length);
      expect((await a!.counts(queue)).waiting).toBe(ids.length);
    }
  });

  it("is reported as QF_STORE_CONFLICT inside the caller's transaction, storing nothing of it", async () => {
    const [a] = adapters;
    const queue = uniqueQueue("conflict-tx");
    const [c1, c2] = [await pool.connect(), await pool.connect()];
    try {
      await c1.query("begin");
      await c2.query("begin");
      // Each transaction holds one job the other one then adds: a deadlock by construction.
      await a!.enqueue(jobsOf(queue, ["x"]), { tx: c1 });
      await a!.enqueue(jobsOf(queue, ["y"]), { tx: c2 });
      const outcomes = await Promise.allSettled([
        a!.enqueue(jobsOf(queue, ["y"]), { tx: c1 }),
        a!.enqueue(jobsOf(queue, ["x"]), { tx: c2 }),
      ]);
      const refused = outcomes.filter((o) => o.status === "rejected");
      expect(refused).toHaveLength(1);
      const reason = (refused[0] as PromiseRejectedResult).reason;
      expect(isQueueFlowError(reason, "QF_STORE_CONFLICT")).toBe(true);
    } finally {
      await c1.query("rollback");
      await c2.query("rollback");
      c1.release();
      c2.release();
    }
    expect(await a!.counts(queue)).toMatchObject({ waiting: 0 });
  });
});
