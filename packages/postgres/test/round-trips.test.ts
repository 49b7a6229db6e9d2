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

describe("plain enqueue", () => {
  const names = (spy: { mock: { calls: unknown[][] } }) =>
    spy.mock.calls.map((call) =>
      (call[0] as { name?: string }).name?.replace(/^qf_/, "").replace(`_${schema}`, ""),
    );

  it("inserts new ids without on conflict, and re-runs a batch whose id was taken", async () => {
    const queue = uniqueQueue("optimistic");
    const fresh = new PostgresAdapter({ connection: pool, schema });
    const spy = vi.spyOn(pool, "query");
    try {
      const first = await fresh.enqueue([newJob(queue, { id: "a" }), newJob(queue, { id: "b" })]);
      expect(first.map((r) => r.created)).toEqual([true, true]);
      expect(names(spy)).toEqual(["enqueue_plain_new"]);

      // "b" is taken: the plain insert fails and inserts nothing, the re-run skips "b".
      spy.mockClear();
      const second = await fresh.enqueue([newJob(queue, { id: "c" }), newJob(queue, { id: "b" })]);
      expect(second.map((r) => [r.job.id, r.created])).toEqual([
        ["c", true],
        ["b", false],
      ]);
      expect(names(spy)).toEqual(["enqueue_plain_new", "enqueue_plain"]);

      // Ids were taken lately: the next batches go straight to the conflict-safe statement.
      spy.mockClear();
      await fresh.enqueue([newJob(queue, { id: "d" })]);
      expect(names(spy)).toEqual(["enqueue_one"]);
      expect((await fresh.counts(queue)).waiting).toBe(4);
    } finally {
      spy.mockRestore();
      await fresh.close();
    }
  });
});

describe("wake-up", () => {
  const claim = (queue: string) =>
    adapter.claim({ queue, workerId: "w", limit: 10, leaseMs: 30_000, priorityRange: null });
  const wait = (queue: string, timeoutMs: number) =>
    adapter.waitForWork(queue, timeoutMs, new AbortController().signal);
  /** "woke" when the wait ends within `ms` (far below its own timeout), else "slept". */
  async function endsWithin(p: Promise<void>, ms: number): Promise<"woke" | "slept"> {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<"slept">((r) => {
      timer = setTimeout(() => r("slept"), ms);
    });
    try {
      return await Promise.race([p.then(() => "woke" as const), slept]);
    } finally {
      clearTimeout(timer);
    }
  }
  /** The statements sent through the pool, by name without the schema suffix. */
  const sent = (spy: { mock: { calls: unknown[][] } }) =>
    spy.mock.calls.map(([statement]) =>
      (statement as { name: string }).name.replace(`_${schema}`, ""),
    );

  it("waits without a round trip after a claim, and wakes for work that raced the claim", async () => {
    const queue = uniqueQueue("wake");
    // Added before anyone listens, so its notification went to nobody. The first wait starts
    // LISTEN and then looks for such work; it can end before its timeout only by finding this
    // job, so once it has, LISTEN is active. (A 50 ms first wait raced LISTEN's start: under
    // load it timed out first, the claim was sent before LISTEN took effect, and the next wait
    // rightly looked for work again: one query where the test expected none.)
    await adapter.enqueue([newJob(queue)]);
    expect(await endsWithin(wait(queue, 60_000), 20_000)).toBe("woke");
    expect((await claim(queue)).jobs).toHaveLength(1);

    const spy = vi.spyOn(pool, "query");
    try {
      // LISTEN was active across the claim and nothing arrived since: nothing to ask.
      await wait(queue, 200);
      expect(sent(spy)).toEqual([]);
      // A pending wait is woken by the add's notification alone. Its own look was skipped
      // before the add was even sent (the add's reply is I/O, the look a microtask).
      const pending = wait(queue, 60_000);
      await adapter.enqueue([newJob(queue)]);
      expect(await endsWithin(pending, 20_000)).toBe("woke");
      expect(sent(spy)).toEqual(["qf_enqueue_one_new"]);
      // That notification came after the latest claim, so the next wait cannot trust the
      // claim's snapshot: it looks, and finds the job.
      expect(await endsWithin(wait(queue, 60_000), 20_000)).toBe("woke");
      expect(sent(spy)).toEqual(["qf_enqueue_one_new", "qf_has_work"]);
    } finally {
      spy.mockRestore();
    }
    expect((await claim(queue)).jobs).toHaveLength(1);
  });
});

describe("plain enqueue", () => {
  it("returns records equal to the stored jobs, for twins in a batch and ids already taken", async () => {
    const queue = uniqueQueue("plain-enqueue");
    const stored = newJob(queue, { payload: { b: 1, a: [1.5, "x", null] } });
    const [before] = await adapter.enqueue([stored]);
    const twin = newJob(queue, { delayMs: 60_000, metadata: { m: true } });
    const results = await adapter.enqueue([twin, { ...twin, payload: "other" }, stored]);
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(results[1]!.job).toEqual(results[0]!.job);
    expect(results[1]!.job).not.toBe(results[0]!.job);
    expect(results[0]!.job).toEqual(await adapter.getJob(queue, twin.id));
    expect(results[0]!.job.state).toBe("delayed");
    expect(results[2]!.job).toEqual(before!.job);
    expect(before!.job).toEqual(await adapter.getJob(queue, stored.id));
  });
});

describe("one-job enqueue", () => {
  it("adds a single job with the one-job statement, and returns a taken id's stored job", async () => {
    const queue = uniqueQueue("one-enqueue");
    // Its own adapter: whether ids were taken lately (see "plain enqueue") is per adapter.
    const fresh = new PostgresAdapter({ connection: pool, schema });
    const spy = vi.spyOn(pool, "query");
    try {
      const job = newJob(queue, { payload: { n: [1, "x"] }, metadata: { m: 1 }, delayMs: 5_000 });
      const [added] = await fresh.enqueue([job]);
      expect(added!.created).toBe(true);
      expect(added!.job).toEqual(await fresh.getJob(queue, job.id));
      expect(added!.job.state).toBe("delayed");
      const [again] = await fresh.enqueue([{ ...job, payload: "other" }]);
      expect(again).toEqual({ created: false, job: added!.job });
      const names = spy.mock.calls.map(([statement]) =>
        (statement as unknown as { name: string }).name.replace(`_${schema}`, ""),
      );
      expect(names.filter((n) => n.startsWith("qf_enqueue"))).toEqual([
        "qf_enqueue_one_new",
        "qf_enqueue_one_new",
        "qf_enqueue_one",
      ]);
    } finally {
      spy.mockRestore();
      await fresh.close();
    }
  });
});

describe("plain claim", () => {
  // The statements one claim sent, by prepared-statement name without the schema suffix.
  async function claimVia(queue: string, limit: number) {
    const spy = vi.spyOn(pool, "query");
    try {
      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit,
        leaseMs: 30_000,
        priorityRange: null,
      });
      const sent = spy.mock.calls.map(([statement]) =>
        (statement as unknown as { name: string }).name.replace(`_${schema}`, ""),
      );
      return { claimed: jobs.length, sent };
    } finally {
      spy.mockRestore();
    }
  }

  it("takes the full statement while a queue is paused or limited, and the plain one again after", async () => {
    const queue = uniqueQueue("plain-claim");
    await adapter.enqueue(Array.from({ length: 10 }, () => newJob(queue)));
    expect(await claimVia(queue, 1)).toEqual({ claimed: 1, sent: ["qf_claim_plain"] });

    // The plain statement refuses a capped queue without claiming; the full one enforces the cap.
    await adapter.updateSettings(queue, { concurrency: 3 });
    expect(await claimVia(queue, 5)).toEqual({
      claimed: 2,
      sent: ["qf_claim_plain", "qf_claim"],
    });
    expect(await claimVia(queue, 5)).toEqual({ claimed: 0, sent: ["qf_claim"] });

    await adapter.updateSettings(queue, { concurrency: null, paused: true });
    expect(await claimVia(queue, 5)).toEqual({ claimed: 0, sent: ["qf_claim"] });

    // Lifted: the full statement reports the queue plain, and claims after it are plain.
    await adapter.updateSettings(queue, { paused: false });
    expect(await claimVia(queue, 2)).toEqual({ claimed: 2, sent: ["qf_claim"] });
    expect(await claimVia(queue, 10)).toEqual({ claimed: 5, sent: ["qf_claim_plain"] });
  });

  it("reports when the next delayed job falls due once a claim comes back short", async () => {
    const queue = uniqueQueue("plain-wake");
    const [delayed] = await adapter.enqueue([newJob(queue, { delayMs: 60_000 })]);
    await adapter.enqueue([newJob(queue)]);
    const result = await adapter.claim({
      queue,
      workerId: "w",
      limit: 5,
      leaseMs: 30_000,
      priorityRange: null,
    });
    expect(result.jobs).toHaveLength(1);
    expect(result.nextWakeAt).toBe(delayed!.job.runAt);
  });
});
