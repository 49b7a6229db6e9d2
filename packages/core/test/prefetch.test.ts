import { describe, expect, it } from "vitest";
import { type JobContext, Queue, type Worker, type WorkerOptions } from "../src/index.js";
import { closedAfterEach, freshQueue, waitFor } from "./helpers.js";
import { OutageAdapter } from "./outage-adapter.js";

type Jobs = { work: { payload: { n: number; ms: number }; result: number } };

const newWorker = closedAfterEach<Jobs>();

function startWorker(
  queue: string,
  options: WorkerOptions,
  work: (job: JobContext<Jobs, "work">) => Promise<number>,
): Worker<Jobs> {
  return newWorker(queue, { work }, { runSchedules: false, ...options });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` jobs; the first runs `firstMs`, the others none. */
async function addJobs(store: OutageAdapter, queue: string, count: number, firstMs = 0) {
  const producer = new Queue<Jobs>(queue, { adapter: store.store });
  const added = await producer.addBulk(
    Array.from({ length: count }, (_, n) => ({
      name: "work" as const,
      payload: { n, ms: n === 0 ? firstMs : 0 },
    })),
  );
  return added.map((r) => r.job.id);
}

async function states(store: OutageAdapter, queue: string, ids: string[]) {
  return Promise.all(ids.map(async (id) => (await store.store.getJob(queue, id))?.state));
}

/** Wait until every one of `ids` is completed. */
function allCompleted(store: OutageAdapter, queue: string, ids: string[], timeoutMs = 5000) {
  return waitFor(async () => (await states(store, queue, ids)).every((s) => s === "completed"), {
    what: "every job to complete",
    timeoutMs,
  });
}

describe("Worker prefetch", () => {
  it("holds claimed jobs ahead of a busy slot and runs each once, in claim order", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 5, 300);
    const started: number[] = [];
    const worker = startWorker(
      queue,
      { adapter: store.adapter, concurrency: 1, prefetch: 4 },
      async (job) => {
        started.push(job.payload.n);
        await pause(job.payload.ms);
        return job.payload.n;
      },
    );
    await waitFor(() => worker.running === 1 && worker.buffered === 4, {
      what: "one job running and four held",
    });
    expect((await store.store.counts(queue)).active).toBe(5);
    await allCompleted(store, queue, ids);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it("refills a freed slot from what it holds, not with a claim per job", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 10);
    startWorker(queue, { adapter: store.adapter, concurrency: 1, prefetch: 9 }, async (job) => {
      return job.payload.n;
    });
    await allCompleted(store, queue, ids);
    // One claim took all ten; without prefetch each job needs a claim of its own.
    expect(store.claimed).toBe(10);
    expect(store.claims).toBeLessThanOrEqual(2);
  });

  it("never holds more than concurrency + prefetch jobs", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 60);
    let peak = 0;
    // Running or held by the worker; a finished job whose settle is in flight frees its slot.
    const worker: Worker<Jobs> = startWorker(
      queue,
      { adapter: store.adapter, concurrency: 2, prefetch: 3 },
      async (job) => {
        peak = Math.max(peak, worker.running + worker.buffered);
        await pause(2);
        return job.payload.n;
      },
    );
    await allCompleted(store, queue, ids);
    expect(peak).toBeGreaterThan(2);
    expect(peak).toBeLessThanOrEqual(5);
  });

  it("extends the leases of held jobs: none stalls while it waits behind a long run", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 4, 1_000);
    const runs = new Map<number, number>();
    startWorker(
      queue,
      { adapter: store.adapter, concurrency: 1, prefetch: 3, leaseMs: 300, heartbeatMs: 50 },
      async (job) => {
        runs.set(job.payload.n, (runs.get(job.payload.n) ?? 0) + 1);
        await pause(job.payload.ms);
        return job.payload.n;
      },
    );
    const recovered: string[] = [];
    // Stall recovery of another worker, as often as it can, for the whole long run.
    while ((await states(store, queue, ids)).some((s) => s !== "completed")) {
      const { recovered: r } = await store.store.recoverStalled({
        queue,
        maxStalls: 5,
        limit: 100,
      });
      recovered.push(...r);
      await pause(20);
    }
    expect(recovered).toEqual([]);
    expect([...runs.values()]).toEqual([1, 1, 1, 1]);
    // Started from the buffer, on the first claim's leases: none was handed back as stale.
    expect(store.claimed).toBe(4);
  });

  it("hands held jobs back unstarted on close(), for another worker to run at once", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 4, 200);
    const started: number[] = [];
    const worker = startWorker(
      queue,
      { adapter: store.adapter, concurrency: 1, prefetch: 3 },
      async (job) => {
        started.push(job.payload.n);
        await pause(job.payload.ms);
        return job.payload.n;
      },
    );
    await waitFor(() => worker.buffered === 3, { what: "three jobs held" });
    await worker.close();
    expect(started).toEqual([0]);
    expect(await states(store, queue, ids)).toEqual(["completed", "waiting", "waiting", "waiting"]);
    const back = await Promise.all(ids.slice(1).map((id) => store.store.getJob(queue, id)));
    expect(back.map((j) => j?.attempts)).toEqual([0, 0, 0]);
  });

  it("hands held jobs back when parked with setConcurrency(0)", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 3, 200);
    const worker = startWorker(
      queue,
      { adapter: store.adapter, concurrency: 1, prefetch: 2 },
      async (job) => {
        await pause(job.payload.ms);
        return job.payload.n;
      },
    );
    await waitFor(() => worker.buffered === 2, { what: "two jobs held" });
    worker.setConcurrency(0);
    expect(worker.buffered).toBe(0);
    await waitFor(
      async () => (await states(store, queue, ids)).join() === "completed,waiting,waiting",
      {
        what: "the first to complete and the held ones to be waiting",
      },
    );
  });

  it("does not start a held job once half its lease went by unextended (store down)", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 3, 500);
    const startedWhileDown: number[] = [];
    const worker = startWorker(
      queue,
      {
        adapter: store.adapter,
        concurrency: 1,
        prefetch: 2,
        leaseMs: 400,
        heartbeatMs: 50,
        stalledIntervalMs: 50,
        maxStalls: 5,
      },
      async (job) => {
        if (store.down) startedWhileDown.push(job.payload.n);
        // The first job's run outlasts half a lease after the store goes away.
        if (job.payload.n === 0 && job.attempt === 1) {
          store.down = true;
          await pause(job.payload.ms);
        }
        return job.payload.n;
      },
    );
    await waitFor(() => worker.buffered === 2 || store.down, { what: "two jobs held" });
    // Down from the first run's start until well after it ended.
    await waitFor(() => worker.running === 0, { what: "the first run to end" });
    await pause(100);
    store.down = false;
    await allCompleted(store, queue, ids, 10_000);
    expect(startedWhileDown).toEqual([]);
  });
});

describe("Worker prefetch: auto, the default", () => {
  it("claims short jobs many per round trip", async () => {
    const store = new OutageAdapter();
    store.claimLatencyMs = 5;
    const queue = freshQueue();
    const ids = await addJobs(store, queue, 300);
    startWorker(queue, { adapter: store.adapter, concurrency: 1 }, async (job) => job.payload.n);
    await allCompleted(store, queue, ids, 20_000);
    // Without a buffer a slot waits out a claim per job: 300 claims.
    expect(store.claims).toBeLessThan(30);
  });

  it("holds nothing ahead of handlers longer than a claim round trip", async () => {
    const store = new OutageAdapter();
    store.claimLatencyMs = 1;
    const queue = freshQueue();
    const producer = new Queue<Jobs>(queue, { adapter: store.store });
    const added = await producer.addBulk(
      Array.from({ length: 8 }, (_, n) => ({ name: "work" as const, payload: { n, ms: 30 } })),
    );
    const buffered: number[] = [];
    const worker = startWorker(queue, { adapter: store.adapter, concurrency: 1 }, async (job) => {
      buffered.push(worker.buffered);
      await pause(job.payload.ms);
      return job.payload.n;
    });
    await allCompleted(
      store,
      queue,
      added.map((r) => r.job.id),
      20_000,
    );
    expect(buffered).toEqual(added.map(() => 0));
  });

  it("refuses a prefetch that is neither a count nor auto", () => {
    expect(() =>
      startWorker(freshQueue(), { prefetch: -1, autostart: false }, async () => 0),
    ).toThrow(/prefetch \(or "auto"\) must be a non-negative integer/);
  });
});
