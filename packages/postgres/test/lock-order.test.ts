import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import {
  type ClaimedJob,
  isQueueFlowError,
  type JobCounts,
  type NewJob,
  type Settlement,
} from "@queueflow/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { databaseUrl, dropSchema, freshSchema, separatePools, withClient } from "./database.js";

/**
 * Two adapters on one fresh schema, each on a pool of its own (as two hosts would be), with
 * every statement they send counted. The adapter runs a statement PostgreSQL aborted to break
 * a deadlock again, so only the count tells a deadlock that was retried from none at all.
 */
function countedAdapters(label: string) {
  const schema = freshSchema(label);
  const pools = [0, 1].map(() => new pg.Pool({ connectionString: databaseUrl(), max: 4 }));
  const adapters = pools.map((pool) => new PostgresAdapter({ connection: pool, schema }));
  const spies = pools.map((pool) => vi.spyOn(pool, "query"));
  beforeAll(async () => {
    await Promise.all(adapters.map((a) => a.connect()));
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await Promise.all(pools.map((p) => p.end()));
    await dropSchema(schema);
  });
  return {
    schema,
    adapters,
    /** Times statement `op` was sent through either pool since the last {@link reset}. */
    sent: (op: string) =>
      spies
        .flatMap((spy) => spy.mock.calls)
        .filter(([st]) => (st as { name?: string }).name === `qf_${op}_${schema}`).length,
    reset: () => {
      for (const spy of spies) spy.mockClear();
    },
  };
}

/**
 * Settles, lease extensions and replays each lock many job rows in one statement. Two such
 * statements over the same rows in opposite orders deadlock (40P01) unless every statement
 * locks in one order; a worker's heartbeat and its settle batch do exactly that, with their
 * input in whatever order their jobs finished or started.
 */
describe("multi-row statements lock jobs in one order", () => {
  const { adapters, sent, reset } = countedAdapters("lockorder");
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

  // Each statement a settle batch can take: the hot path for completions (kept or removed)
  // and the general one for a mixed batch.
  const batches: {
    label: string;
    op: string;
    settlement: (job: ClaimedJob, i: number) => Settlement;
    counts: Partial<JobCounts>;
  }[] = [
    {
      label: "completions",
      op: "complete",
      settlement: (j) => ({ kind: "complete", id: j.id, token: j.leaseToken, result: 1 }),
      counts: { completed: JOBS },
    },
    {
      label: "completions that remove their jobs",
      op: "complete_remove",
      settlement: (j) => ({
        kind: "complete",
        id: j.id,
        token: j.leaseToken,
        result: 1,
        remove: true,
      }),
      counts: {},
    },
    {
      label: "mixed settlements",
      op: "settle",
      settlement: (j, i) =>
        i % 2 === 0
          ? { kind: "complete", id: j.id, token: j.leaseToken, result: 1 }
          : { kind: "snooze", id: j.id, token: j.leaseToken, delayMs: 600_000 },
      counts: { completed: JOBS / 2, delayed: JOBS / 2 },
    },
  ];
  const zero = { waiting: 0, delayed: 0, active: 0, completed: 0, dead: 0, cancelled: 0 };

  it.each(
    batches,
  )("a settle batch ($label) and a heartbeat over the same jobs in opposite orders never deadlock", async ({
    op,
    settlement,
    counts,
  }) => {
    const [a, b] = adapters;
    for (let round = 0; round < ROUNDS; round++) {
      const queue = uniqueQueue("lockorder");
      const jobs = await claimAll(queue);
      const leases = jobs.map((j) => ({ id: j.id, token: j.leaseToken })).reverse();
      reset();
      const [settled, extended] = await Promise.all([
        a!.settle(queue, jobs.map(settlement)),
        b!.extendLeases(queue, leases, 60_000),
      ]);
      expect(settled).toEqual(jobs.map(() => "ok"));
      // Each extension ran before or after the settle of its job: both outcomes are fine.
      expect(extended).toHaveLength(JOBS);
      // Sent once each: neither was aborted by a deadlock and run again.
      expect([sent(op), sent("extend")]).toEqual([1, 1]);
      expect(await a!.counts(queue)).toEqual({ ...zero, ...counts });
    }
  });

  it.each(
    batches,
  )("two settle batches ($label) over the same jobs in opposite orders never deadlock", async ({
    op,
    settlement,
    counts,
  }) => {
    const [a, b] = adapters;
    for (let round = 0; round < ROUNDS; round++) {
      const queue = uniqueQueue("lockorder");
      const jobs = await claimAll(queue);
      const settlements = jobs.map(settlement);
      reset();
      const [first, second] = await Promise.all([
        a!.settle(queue, settlements),
        b!.settle(queue, [...settlements].reverse()),
      ]);
      // Fencing gives each job to exactly one of the two batches.
      const ok = first.filter((o) => o === "ok").length + second.filter((o) => o === "ok").length;
      expect(ok).toBe(JOBS);
      expect(sent(op)).toBe(2);
      expect(await a!.counts(queue)).toEqual({ ...zero, ...counts });
    }
  });
});

/**
 * Group rows: settles and stall recovery lock the groups of the jobs they release in name
 * order; a change of a group limit reopens the capped groups, and read them in whatever order
 * its scan returned them (the heap's, after claims rewrote the rows one by one).
 */
describe("group rows are locked in one order", () => {
  const { schema, adapters, sent, reset } = countedAdapters("grouporder");

  /** Resolves once `n` statements on this schema wait for a lock. */
  async function lockWaits(n: number): Promise<void> {
    await withClient(async (c) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const { rows } = await c.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
           where wait_event_type = 'Lock' and position($1 in query) > 0`,
          [schema],
        );
        if (rows[0]!.n >= n) return;
        if (Date.now() > deadline) throw new Error(`${rows[0]!.n} of ${n} statements waited`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  }

  it("a settle and a group-limit change over the same groups never deadlock", async () => {
    const [a, b] = adapters;
    const queue = uniqueQueue("grouporder");
    await a!.updateSettings(queue, { groupConcurrency: 1 });
    // Added and claimed one at a time, last name first, so the heap holds the group rows in
    // the reverse of name order.
    const groups = Array.from({ length: 20 }, (_, i) => `g${String(19 - i).padStart(2, "0")}`);
    for (const group of groups) {
      await a!.enqueue([newJob(queue, { name: "w", payload: {}, group })]);
    }
    const jobs: ClaimedJob[] = [];
    for (const _ of groups) {
      const claimed = await a!.claim({
        queue,
        workerId: "w",
        limit: 1,
        leaseMs: 60_000,
        priorityRange: null,
      });
      jobs.push(...claimed.jobs);
    }
    expect(jobs).toHaveLength(groups.length);

    // A third transaction holds the middle group, so both statements are certainly inside
    // their group rows when it lets go: the settle holding g00-g09, and the limit change
    // either holding g11-g19 (a deadlock once g10 is free) or, locking in name order too,
    // waiting for g00.
    const holder = new pg.Client({ connectionString: databaseUrl() });
    await holder.connect();
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      await holder.query("begin");
      await holder.query(
        `select 1 from "${schema}".groups where queue = $1 and grp = 'g10' for update`,
        [queue],
      );
      reset();
      const racing = Promise.allSettled([
        a!.settle(
          queue,
          jobs.map((j) => ({
            kind: "complete" as const,
            id: j.id,
            token: j.leaseToken,
            result: 1,
          })),
        ),
        b!.updateSettings(queue, { groupConcurrency: 2 }),
      ]);
      await lockWaits(2);
      await holder.query("commit");
      outcomes = await racing;
    } finally {
      await holder.end();
    }
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    expect([sent("complete"), sent("update_settings")]).toEqual([1, 1]);
    expect((await a!.counts(queue)).completed).toBe(groups.length);
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
