import { newJob, uniqueQueue, waitFor } from "@queueflow/adapter-tests";
import { isQueueFlowError } from "@queueflow/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

const url = databaseUrl();
const schema = freshSchema("tx");
const pool = new pg.Pool({ connectionString: url, max: 4 });
const adapter = new PostgresAdapter({ connection: url, schema });

beforeAll(async () => {
  await adapter.connect();
});

afterAll(async () => {
  await adapter.close();
  await pool.end();
  await dropSchema(schema);
});

/** Run `fn` inside BEGIN … COMMIT (or ROLLBACK) on a client of the caller's own pool. */
async function inTransaction(
  end: "commit" | "rollback",
  fn: (client: pg.PoolClient) => Promise<void>,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await fn(client);
    await client.query(end);
  } finally {
    client.release();
  }
}

describe("transactional enqueue", () => {
  it("adds the job when the caller's transaction commits, and not before", async () => {
    const queue = uniqueQueue("tx-commit");
    const job = newJob(queue, { payload: { order: 42 } });
    await inTransaction("commit", async (client) => {
      await client.query("create temporary table business_write (id int) on commit drop");
      const [result] = await adapter.enqueue([job], { tx: client });
      expect(result?.created).toBe(true);
      // Inside the transaction the job exists; outside it does not yet.
      const inside = await client.query(`select state from "${schema}".jobs where id = $1`, [
        job.id,
      ]);
      expect(inside.rows).toEqual([{ state: "waiting" }]);
      expect(await adapter.getJob(queue, job.id)).toBeNull();
    });
    expect(await adapter.getJob(queue, job.id)).toMatchObject({
      id: job.id,
      state: "waiting",
      payload: { order: 42 },
    });
  });

  it("un-adds the job when the caller's transaction rolls back", async () => {
    const queue = uniqueQueue("tx-rollback");
    const job = newJob(queue, { dedupKey: "order:7" });
    await inTransaction("rollback", async (client) => {
      await adapter.enqueue([job], { tx: client });
    });
    expect(await adapter.getJob(queue, job.id)).toBeNull();
    expect((await adapter.counts(queue)).waiting).toBe(0);
    // The rolled-back job held no dedup key: the next add creates a job.
    const [again] = await adapter.enqueue([newJob(queue, { dedupKey: "order:7" })]);
    expect(again?.created).toBe(true);
  });

  it("wakes waiters at commit, since the notification is part of the transaction", async () => {
    const queue = uniqueQueue("tx-wake");
    const client = await pool.connect();
    try {
      await client.query("begin");
      await adapter.enqueue([newJob(queue)], { tx: client });
      let woke = false;
      const wait = adapter.waitForWork(queue, 20_000, new AbortController().signal).then(() => {
        woke = true;
      });
      const committedAt = Date.now();
      await client.query("commit");
      await wait;
      expect(woke).toBe(true);
      expect(Date.now() - committedAt).toBeLessThan(5_000);
    } finally {
      client.release();
    }
  });

  it("returns the live holder of a dedup key from inside a transaction", async () => {
    const queue = uniqueQueue("tx-dedup");
    const [holder] = await adapter.enqueue([newJob(queue, { dedupKey: "k" })]);
    await inTransaction("commit", async (client) => {
      const [dup] = await adapter.enqueue([newJob(queue, { dedupKey: "k" })], { tx: client });
      expect(dup?.created).toBe(false);
      expect(dup?.job.id).toBe(holder?.job.id);
    });
    expect((await adapter.counts(queue)).waiting).toBe(1);
  });

  it("claims a committed transactional job like any other", async () => {
    const queue = uniqueQueue("tx-claim");
    const job = newJob(queue);
    await inTransaction("commit", async (client) => {
      await adapter.enqueue([job], { tx: client });
    });
    const claimed = await waitFor(
      async () =>
        (
          await adapter.claim({
            queue,
            workerId: "w",
            limit: 1,
            leaseMs: 30_000,
            priorityRange: null,
          })
        ).jobs[0],
      { timeoutMs: 5_000, message: "the committed job to be claimable" },
    );
    expect(claimed.id).toBe(job.id);
  });

  it("rejects a tx that is not a pg client with QF_INVALID_ARGUMENT", async () => {
    const queue = uniqueQueue("tx-bad");
    const error = await adapter.enqueue([newJob(queue)], { tx: { nope: true } }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isQueueFlowError(error, "QF_INVALID_ARGUMENT")).toBe(true);
    expect((await adapter.counts(queue)).waiting).toBe(0);
  });
});
