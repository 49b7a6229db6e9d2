import { newJob } from "@queueflow/adapter-tests";
import type { ClaimedJob } from "@queueflow/core";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoAdapter } from "../src/index.js";
import { dropPrefix, mongoUrl, testPrefix, waitUntil } from "./helpers.js";

const url = mongoUrl();

// Crash and cross-process behaviour of groups that the conformance suite cannot stage: two
// adapters on one prefix stand for two processes (neither knows the other's lease tokens).
describe("MongoAdapter groups across processes", () => {
  const prefix = testPrefix("groups");
  const a = new MongoAdapter({ connection: url, prefix, permitGraceMs: 100 });
  const b = new MongoAdapter({ connection: url, prefix, permitGraceMs: 100 });
  const client = new MongoClient(url);

  beforeAll(async () => {
    await Promise.all([a.connect(), b.connect(), client.connect()]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close(), client.close()]);
    await dropPrefix(url, prefix);
  });

  const claim = async (queue: string, limit = 10): Promise<ClaimedJob[]> =>
    (await a.claim({ queue, workerId: "w", limit, leaseMs: 60_000, priorityRange: null })).jobs;

  it("repairs a slot whose release was lost (settled by another process) in recoverStalled", async () => {
    const queue = "leak";
    await a.updateSettings(queue, { groupConcurrency: 1 });
    await a.enqueue([
      newJob(queue, { id: "j1", group: "g" }),
      newJob(queue, { id: "j2", group: "g" }),
    ]);
    const [first] = await claim(queue);
    expect(first?.id).toBe("j1");
    // b does not know j1's token: its complete cannot free the slot.
    const [outcome] = await b.settle(queue, [
      { kind: "complete", id: "j1", token: first!.leaseToken, result: null },
    ]);
    expect(outcome).toBe("ok");
    expect(await claim(queue)).toEqual([]);

    // Past the grace, recovery frees the slot no active job carries.
    await new Promise((r) => setTimeout(r, 150));
    await a.recoverStalled({ queue, maxStalls: 1, limit: 10 });
    expect((await claim(queue)).map((j) => j.id)).toEqual(["j2"]);
  });

  it("announces a group when another process retries its job, even after the group went idle", async () => {
    const queue = "foreign-retry";
    await a.enqueue([newJob(queue, { id: "r1", group: "g" })]);
    const [job] = await claim(queue);
    expect(job?.id).toBe("r1");
    // Nothing else pending: the group's turn has gone idle.
    expect(await claim(queue)).toEqual([]);
    const [outcome] = await b.settle(queue, [
      {
        kind: "retry",
        id: "r1",
        token: job!.leaseToken,
        error: { attempt: 1, name: "Error", message: "again", at: await b.now() },
        delayMs: 0,
      },
    ]);
    expect(outcome).toBe("ok");
    // b stamped the retry due at its own reading of the server clock; a's reading may trail
    // it by a few ms under load (each adapter measures its offset separately), so the job may
    // fall due for a only a moment later. Without the announcement it never would.
    let claimed: string[] = [];
    await waitUntil(
      async () => {
        claimed = (await claim(queue)).map((j) => j.id);
        return claimed.length > 0;
      },
      "the retried job to be claimable",
      2_000,
    );
    expect(claimed).toEqual(["r1"]);
  });

  it("prunes idle groups' documents in recoverStalled; a new job makes one again", async () => {
    const queue = "prune";
    await a.enqueue([
      ...["g0", "g1", "g2"].map((group) => newJob(queue, { group })),
      newJob(queue, { group: "busy" }),
      newJob(queue, { group: "later", delayMs: 60_000 }),
    ]);
    const jobs = await claim(queue);
    expect(jobs).toHaveLength(4);
    await a.settle(
      queue,
      jobs
        .filter((j) => j.group !== "busy")
        .map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: null })),
    );
    const groupIds = async () =>
      (
        await client
          .db()
          .collection(`${prefix}groups`)
          .find({ queue }, { projection: { _id: 1 } })
          .toArray()
      )
        .map((d) => String(d._id))
        .sort();
    expect(await groupIds()).toHaveLength(6);
    await a.recoverStalled({ queue, maxStalls: 1, limit: 10 });
    // Kept: the lane, a group with an active job (no cap, so no slot says so), a group
    // with a delayed job.
    expect(await groupIds()).toEqual(["prune:", "prune:busy", "prune:later"]);
    await a.enqueue([newJob(queue, { id: "again", group: "g1" })]);
    expect((await claim(queue)).map((j) => j.id)).toEqual(["again"]);
  });

  it("costs a wasted turn, never a job, when an enqueuer dies between announce and insert", async () => {
    const queue = "crash-announce";
    await a.enqueue([newJob(queue, { id: "x1", group: "g" })]);
    // Simulate the crash: the group announced, its job never inserted.
    await client
      .db()
      .collection(`${prefix}groups`)
      .updateOne(
        { _id: `${queue}:ghost` as never },
        {
          $min: { turn: await a.now() },
          $inc: { v: 1 },
          $setOnInsert: { queue, group: "ghost", parked: false, slots: [], starts: [] },
        },
        { upsert: true },
      );
    expect((await claim(queue, 5)).map((j) => j.id)).toEqual(["x1"]);
    // The ghost group's turn was corrected to idle: it is no longer looked at.
    await waitUntil(async () => {
      const doc = await client
        .db()
        .collection(`${prefix}groups`)
        .findOne({ _id: `${queue}:ghost` as never });
      return (doc?.turn as number) >= Number.MAX_SAFE_INTEGER;
    }, "the ghost group to go idle");
  });
});
