import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import type { ClaimedJob, NewJob } from "@queueflow/core";
import pg from "pg";
import { describe, expect, it } from "vitest";
import type { PostgresAdapter } from "../src/index.js";
import { claimFrom, databaseUrl, separatePools, withClient } from "./database.js";

// Groups across separate pools (as separate hosts), and the invariants that keep the groups
// table exact: active counters equal the active jobs, and no pending grouped job sits in an
// idle group (which would hide it from every claim).
const { schema, adapters } = separatePools("groups");

function complete(a: PostgresAdapter, queue: string, jobs: ClaimedJob[]) {
  return a.settle(
    queue,
    jobs.map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: null })),
  );
}

/** Counter drift and hidden jobs for `queue`, read straight from the tables. */
async function invariants(queue: string): Promise<{ drift: number; hidden: number }> {
  return withClient(async (c) => {
    const drift = await c.query<{ n: string }>(
      `select count(*) as n from "${schema}".groups g
       where g.queue = $1 and g.grp <> '' and g.active <> (
         select count(*) from "${schema}".jobs j
         where j.queue = g.queue and j.grp = g.grp and j.state = 'active')`,
      [queue],
    );
    const hidden = await c.query<{ n: string }>(
      `select count(*) as n from "${schema}".jobs j
       where j.queue = $1 and j.grp is not null and j.state in ('waiting', 'delayed')
         and not exists (select 1 from "${schema}".groups g
                         where g.queue = j.queue and g.grp = j.grp and g.turn is not null)`,
      [queue],
    );
    return { drift: Number(drift.rows[0]!.n), hidden: Number(hidden.rows[0]!.n) };
  });
}

/** The server's clock in ms, the clock `nextWakeAt` is on. */
function storeNow(): Promise<number> {
  return withClient(async (c) => {
    const r = await c.query<{ ms: string }>(
      "select floor(extract(epoch from clock_timestamp()) * 1000)::bigint as ms",
    );
    return Number(r.rows[0]!.ms);
  });
}

describe("groups across pools", () => {
  it("never exceeds groupConcurrency when many pools claim at once, and counts stay exact", async () => {
    const queue = uniqueQueue("group-cap-pools");
    await adapters[0]!.updateSettings(queue, { groupConcurrency: 2 });
    await adapters[0]!.enqueue(
      Array.from({ length: 60 }, (_, i) => newJob(queue, { group: `g${i % 6}` })),
    );
    const claimed = (
      await Promise.all(
        adapters.flatMap((a, i) =>
          Array.from({ length: 8 }, (_, k) => claimFrom(a, queue, `w${i}-${k}`)),
        ),
      )
    ).flat();
    const perGroup = new Map<string, number>();
    for (const j of claimed) perGroup.set(j.group!, (perGroup.get(j.group!) ?? 0) + 1);
    for (const n of perGroup.values()) expect(n).toBeLessThanOrEqual(2);
    expect(await invariants(queue)).toEqual({ drift: 0, hidden: 0 });
    await complete(adapters[1]!, queue, claimed);
    expect(await invariants(queue)).toEqual({ drift: 0, hidden: 0 });
  });

  it("hides no job when adds, claims and settles race on many groups", async () => {
    const queue = uniqueQueue("group-race-adds");
    await adapters[0]!.updateSettings(queue, { groupConcurrency: 3 });
    const total = 400;
    let added = 0;
    let done = 0;
    const adders = adapters.map(async (a, i) => {
      for (let b = 0; b < 10; b++) {
        const batch: NewJob[] = Array.from({ length: 10 }, (_, k) =>
          newJob(queue, k % 5 === 0 ? {} : { group: `t${(i * 7 + b + k) % 20}` }),
        );
        await a.enqueue(batch);
        added += batch.length;
      }
    });
    const until = Date.now() + 20_000;
    const claimers = adapters.flatMap((a, i) =>
      Array.from({ length: 3 }, async (_, k) => {
        while (done < total && Date.now() < until) {
          const jobs = await claimFrom(a, queue, `c${i}-${k}`, 4);
          if (jobs.length === 0) {
            await new Promise((r) => setTimeout(r, 2));
            continue;
          }
          await complete(a, queue, jobs);
          done += jobs.length;
        }
      }),
    );
    await Promise.all([...adders, ...claimers]);
    expect(added).toBe(total);
    expect(done).toBe(total);
    expect(await invariants(queue)).toEqual({ drift: 0, hidden: 0 });
    expect((await adapters[0]!.counts(queue)).completed).toBe(total);
  });

  it("keeps a group in turn when an add commits after the claim's snapshot was taken", async () => {
    const queue = uniqueQueue("group-stale");
    const a = adapters[3]!;
    // A queue cap makes the claim lock the queue row: holding that row stalls the claim
    // after its snapshot was taken and before it picks the group.
    await a.updateSettings(queue, { concurrency: 10 });
    await a.enqueue([newJob(queue, { group: "warm" })]);
    await complete(a, queue, await claimFrom(a, queue, "w", 1)); // a knows the queue is grouped
    const [first] = await a.enqueue([newJob(queue, { group: "g" })]);
    const holder = new pg.Client({ connectionString: databaseUrl() });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query(`select 1 from "${schema}".queues where queue = $1 for update`, [queue]);
      const claiming = claimFrom(a, queue, "w", 10);
      await new Promise((r) => setTimeout(r, 200));
      const [second] = await adapters[0]!.enqueue([newJob(queue, { group: "g" })]);
      await holder.query("commit");
      expect((await claiming).map((j) => j.id)).toEqual([first!.job.id]);
      expect(await invariants(queue)).toEqual({ drift: 0, hidden: 0 });
      expect((await claimFrom(a, queue, "w", 10)).map((j) => j.id)).toEqual([second!.job.id]);
    } finally {
      await holder.end();
    }
  });

  it("claims other groups while an add to one group waits in an open transaction", async () => {
    const queue = uniqueQueue("group-tx");
    const a = adapters[0]!;
    await a.enqueue([newJob(queue, { group: "open" }), newJob(queue, { group: "other" })]);
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await client.query("begin");
      await a.enqueue([newJob(queue, { group: "open" })], { tx: client });
      const first = await claimFrom(adapters[1]!, queue, "w", 10);
      expect(first.map((j) => j.group)).toEqual(["other"]);
      await client.query("commit");
    } finally {
      await client.end();
    }
    const after = await claimFrom(adapters[1]!, queue, "w", 10);
    expect(after.map((j) => j.group)).toEqual(["open", "open"]);
  });

  it("prunes the rows of idle groups in stall recovery, and a new job brings one back", async () => {
    const queue = uniqueQueue("group-prune");
    const a = adapters[0]!;
    await a.enqueue([
      ...Array.from({ length: 12 }, (_, i) => newJob(queue, { group: `g${i}` })),
      newJob(queue, { group: "busy" }),
      newJob(queue, { group: "later", delayMs: 60_000 }),
    ]);
    const claimed = await claimFrom(a, queue, "w", 20);
    expect(claimed).toHaveLength(13);
    await complete(
      a,
      queue,
      claimed.filter((j) => j.group !== "busy"),
    );
    const rows = async () =>
      withClient(async (c) => {
        const r = await c.query<{ grp: string }>(
          `select grp from "${schema}".groups where queue = $1 order by grp`,
          [queue],
        );
        return r.rows.map((row) => row.grp);
      });
    expect(await rows()).toHaveLength(15);
    await a.recoverStalled({ queue, maxStalls: 1, limit: 10 });
    // Kept: the lane, a group with an active job, a group with a delayed job.
    expect(await rows()).toEqual(["", "busy", "later"]);
    await a.enqueue([newJob(queue, { group: "g3" })]);
    expect((await claimFrom(a, queue, "w", 5)).map((j) => j.group)).toEqual(["g3"]);
    expect(await invariants(queue)).toEqual({ drift: 0, hidden: 0 });
  });

  it("keeps an idle group's row while its rate window still holds starts", async () => {
    const queue = uniqueQueue("group-prune-rate");
    const a = adapters[0]!;
    await a.updateSettings(queue, { groupRateLimit: { max: 5, windowMs: 60_000 } });
    await a.enqueue([newJob(queue, { group: "rated" })]);
    await complete(a, queue, await claimFrom(a, queue, "w", 5));
    await a.recoverStalled({ queue, maxStalls: 1, limit: 10 });
    const kept = await withClient(async (c) => {
      const r = await c.query<{ n: string }>(
        `select count(*) as n from "${schema}".groups where queue = $1 and grp = 'rated'`,
        [queue],
      );
      return Number(r.rows[0]!.n);
    });
    expect(kept).toBe(1);
  });

  it("asks to be woken at once when a group had more due jobs than its share of a batch", async () => {
    const queue = uniqueQueue("group-share");
    const a = adapters[0]!;
    await a.enqueue([
      ...Array.from({ length: 3 }, () => newJob(queue, { group: "big" })),
      newJob(queue, { group: "small" }),
    ]);
    const request = { queue, workerId: "w", limit: 4, leaseMs: 30_000, priorityRange: null };
    // Two groups share four places: two each, and "small" has only one.
    const first = await a.claim(request);
    expect(first.jobs.map((j) => j.group).sort()).toEqual(["big", "big", "small"]);
    const now = await storeNow();
    expect(first.nextWakeAt).not.toBeNull();
    expect(first.nextWakeAt!).toBeLessThanOrEqual(now);
    const second = await a.claim(request);
    expect(second.jobs.map((j) => j.group)).toEqual(["big"]);
  });

  it("asks to be woken soon, backing off, when a claim skipped locked groups", async () => {
    const queue = uniqueQueue("group-skip");
    const a = adapters[0]!;
    await a.enqueue([newJob(queue, { group: "held" })]);
    const request = { queue, workerId: "w", limit: 5, leaseMs: 30_000, priorityRange: null };
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      // As a settle does while it moves the group's active count; no notification follows.
      await client.query("begin");
      await client.query(
        `select 1 from "${schema}".groups where queue = $1 and grp = 'held' for update`,
        [queue],
      );
      const first = await a.claim(request);
      const second = await a.claim(request);
      const now = await storeNow();
      expect(first.jobs).toEqual([]);
      expect(second.jobs).toEqual([]);
      // Well under the worker's poll interval (1 s), and the second wait is the longer one.
      expect(first.nextWakeAt).not.toBeNull();
      expect(first.nextWakeAt! - now).toBeLessThan(500);
      expect(second.nextWakeAt! - first.nextWakeAt!).toBeGreaterThan(0);
      await client.query("commit");
    } finally {
      await client.end();
    }
    const after = await a.claim(request);
    expect(after.jobs.map((j) => j.group)).toEqual(["held"]);
    expect(after.nextWakeAt).toBeNull();
  });
  it("applies several debounced adds of one key in one call in order", async () => {
    const queue = uniqueQueue("debounce-batch");
    const a = adapters[0]!;
    const results = await a.enqueue(
      [1, 2, 3].map((n) =>
        newJob(queue, { dedupKey: "k", dedupMode: "debounce", delayMs: 60_000, payload: { n } }),
      ),
    );
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect(await a.getJob(queue, results[0]!.job.id)).toMatchObject({ payload: { n: 3 } });
  });

  it("returns an active debounce job to a live add of its key, and a waiting one after it", async () => {
    const queue = uniqueQueue("debounce-live");
    const a = adapters[0]!;
    const [held] = await a.enqueue([newJob(queue, { dedupKey: "k", dedupMode: "debounce" })]);
    const [running] = await claimFrom(a, queue, "w", 1);
    expect(running!.id).toBe(held!.job.id);
    // The key's holder is the running debounce job: a live add returns it, never an error.
    const live = await a.enqueue([
      newJob(queue, { dedupKey: "k" }),
      newJob(queue, { dedupKey: "k" }),
    ]);
    expect(live.map((r) => [r.created, r.job.id, r.job.state])).toEqual([
      [false, held!.job.id, "active"],
      [false, held!.job.id, "active"],
    ]);
    // A debounced add creates the next job; a live add then returns that waiting holder.
    const [next] = await a.enqueue([newJob(queue, { dedupKey: "k", dedupMode: "debounce" })]);
    expect(next!.created).toBe(true);
    const [again] = await a.enqueue([newJob(queue, { dedupKey: "k" })]);
    expect([again!.created, again!.job.id]).toEqual([false, next!.job.id]);
    await complete(a, queue, [running!]);
    // Once the debounce job finished, its key is held by the waiting one alone.
    const [after] = await a.enqueue([
      newJob(queue, { dedupKey: "k", dedupMode: "throttle", dedupTtlMs: 1 }),
    ]);
    expect([after!.created, after!.job.id]).toEqual([false, next!.job.id]);
  });

  it("keeps a queue without groups off the groups table", async () => {
    const queue = uniqueQueue("plain");
    const a = adapters[2]!;
    await a.enqueue(Array.from({ length: 5 }, () => newJob(queue)));
    const jobs = await claimFrom(a, queue, "w", 5);
    expect(jobs).toHaveLength(5);
    await complete(a, queue, jobs);
    const rows = await withClient((c) =>
      c.query(`select 1 from "${schema}".groups where queue = $1`, [queue]),
    );
    expect(rows.rowCount).toBe(0);
  });
});
