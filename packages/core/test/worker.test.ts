import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  type ClaimRequest,
  isQueueFlowError,
  MemoryAdapter,
  Queue,
  type RetentionOptions,
  type StorageAdapter,
  UnrecoverableError,
  Worker,
} from "../src/index.js";
import { freshQueue, settled, waitFor } from "./helpers.js";
import { OutageAdapter } from "./outage-adapter.js";

type Jobs = {
  "email.send": { payload: { to: string }; result: { id: string } };
  flaky: { payload: { failTimes: number }; result: string };
  slow: { payload: { ms: number }; result: null };
};

const workers: Worker<Jobs>[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(1000)));
});

function setup(adapter: StorageAdapter = new MemoryAdapter()) {
  const name = freshQueue();
  const queue = new Queue<Jobs>(name, { adapter });
  const attemptsSeen = new Map<string, number>();
  const start = (opts: ConstructorParameters<typeof Worker<Jobs>>[2] = {}) => {
    const w = new Worker<Jobs>(
      name,
      {
        "email.send": async (job) => ({ id: `sent-${job.payload.to}` }),
        flaky: async (job) => {
          attemptsSeen.set(job.id, job.attempt);
          if (job.attempt <= job.payload.failTimes) throw new Error(`fail #${job.attempt}`);
          return "ok";
        },
        slow: async (job) => {
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, job.payload.ms);
            job.signal.addEventListener("abort", () => {
              clearTimeout(t);
              reject(job.signal.reason);
            });
          });
          return null;
        },
      },
      { adapter, ...opts },
    );
    workers.push(w);
    return w;
  };
  return { name, queue, adapter, start, attemptsSeen };
}

describe("Worker", () => {
  it("runs a job and keeps its result", async () => {
    const { queue, start, adapter, name } = setup();
    const job = await queue.add("email.send", { to: "a@example.com" });
    start();
    await settled(adapter, name);
    const done = await queue.getJob(job.id);
    expect(done?.state).toBe("completed");
    expect(done?.result).toEqual({ id: "sent-a@example.com" });
    expect(done?.attempts).toBe(1);
  });

  it("retries with backoff, then completes, keeping each failed attempt's error", async () => {
    const { queue, start, adapter, name } = setup();
    const job = await queue.add(
      "flaky",
      { failTimes: 2 },
      { attempts: 3, backoff: { type: "fixed", delayMs: 20 } },
    );
    const w = start();
    const retries: number[] = [];
    w.on("retrying", (_j, _e, delay) => retries.push(delay));
    await settled(adapter, name);
    const done = await queue.getJob(job.id);
    expect(done?.state).toBe("completed");
    expect(retries).toEqual([20, 20]);
    expect(done?.errors.map((e) => [e.attempt, e.message])).toEqual([
      [1, "fail #1"],
      [2, "fail #2"],
    ]);
  });

  it("sends a job to dead once its attempts are spent", async () => {
    const { queue, start, adapter, name } = setup();
    const job = await queue.add(
      "flaky",
      { failTimes: 99 },
      { attempts: 2, backoff: { type: "fixed", delayMs: 1 } },
    );
    const w = start();
    const dead: string[] = [];
    w.on("dead", (j) => dead.push(j.id));
    await settled(adapter, name);
    expect((await queue.getJob(job.id))?.state).toBe("dead");
    expect(dead).toEqual([job.id]);
    expect((await queue.getJob(job.id))?.errors).toHaveLength(2);
  });

  it("skips remaining attempts on UnrecoverableError", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<{ bad: { payload: null; result: null } }>(name, { adapter });
    const job = await queue.add("bad", null, { attempts: 5 });
    const w = new Worker<{ bad: { payload: null; result: null } }>(
      name,
      {
        bad: () => {
          throw new UnrecoverableError("malformed request");
        },
      },
      { adapter },
    );
    await settled(adapter, name);
    await w.close();
    const done = await queue.getJob(job.id);
    expect(done?.state).toBe("dead");
    expect(done?.attempts).toBe(1);
    expect(done?.errors[0]?.name).toBe("UnrecoverableError");
    expect(done?.errors[0]?.errorClass).toBe("unrecoverable");
  });

  it("with handleSignals, closes gracefully on SIGTERM, then re-raises the signal", async () => {
    const { queue, start } = setup();
    const running = await queue.add("slow", { ms: 200 });
    const kill = vi.spyOn(process, "kill").mockImplementation(() => true);
    const listenersBefore = process.listenerCount("SIGTERM");
    try {
      const w = start({ handleSignals: true });
      await waitFor(async () => (await queue.getJob(running.id))?.state === "active");
      const closed = new Promise<void>((resolve) => w.once("closed", () => resolve()));
      // Deliver the signal to the handler only: a real one would end the test runner.
      process.emit("SIGTERM", "SIGTERM");
      await closed;
      await waitFor(() => kill.mock.calls.length > 0);
      expect(kill).toHaveBeenCalledWith(process.pid, "SIGTERM");
      expect((await queue.getJob(running.id))?.state).toBe("completed");
      const later = await queue.add("slow", { ms: 1 });
      expect((await queue.getJob(later.id))?.state).toBe("waiting");
      expect(process.listenerCount("SIGTERM")).toBe(listenersBefore);
    } finally {
      kill.mockRestore();
    }
  });

  it("gives the event loop a turn while draining a long queue of quick jobs", async () => {
    const { queue, start, adapter, name } = setup();
    const total = 20_000;
    for (let i = 0; i < total; i += 1000) {
      await queue.addBulk(
        Array.from({ length: 1000 }, () => ({ name: "email.send" as const, payload: { to: "x" } })),
      );
    }
    start({ concurrency: 100 });
    const completedWhenTimerRan = await new Promise<number>((resolve) => {
      setTimeout(async () => resolve((await adapter.counts(name)).completed), 0);
    });
    expect(completedWhenTimerRan).toBeLessThan(total);
    await settled(adapter, name);
  });

  it("classes failures with the worker's classifier, falling back to the default", async () => {
    const { queue, start, adapter, name } = setup();
    const refused = await queue.add("flaky", { failTimes: 1 }, { attempts: 1 });
    const custom = await queue.add("flaky", { failTimes: 2 }, { attempts: 1 });
    start({
      classifyError: (error, job) =>
        job.id === custom.id ? "billing" : error instanceof TypeError ? "never" : undefined,
    });
    await settled(adapter, name);
    expect((await queue.getJob(refused.id))?.errors.map((e) => e.errorClass)).toEqual(["unknown"]);
    expect((await queue.getJob(custom.id))?.errors.map((e) => e.errorClass)).toEqual(["billing"]);
  });

  it("aborts a handler at its timeout and counts a failed attempt", async () => {
    const { queue, start, adapter, name } = setup();
    const job = await queue.add("slow", { ms: 60_000 }, { timeoutMs: 50, attempts: 1 });
    start();
    await settled(adapter, name);
    const done = await queue.getJob(job.id);
    expect(done?.state).toBe("dead");
    expect(done?.errors[0]?.message).toMatch(/timed out after 50 ms/);
    expect(done?.errors[0]?.errorClass).toBe("timeout");
  });

  it("never runs more than `concurrency` jobs at once", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { work: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter });
    await queue.addBulk(
      Array.from({ length: 40 }, () => ({ name: "work" as const, payload: null })),
    );
    let running = 0;
    let peak = 0;
    const w = new Worker<J>(
      name,
      {
        work: async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 2));
          running--;
          return null;
        },
      },
      { adapter, concurrency: 4 },
    );
    await settled(adapter, name);
    await w.close();
    expect(peak).toBe(4);
    expect((await queue.counts()).completed).toBe(40);
  });

  it("snoozes without spending an attempt", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { poll: { payload: null; result: string } };
    const queue = new Queue<J>(name, { adapter });
    const job = await queue.add("poll", null, { attempts: 1 });
    let runs = 0;
    const w = new Worker<J>(
      name,
      {
        poll: async (ctx) => {
          runs++;
          if (runs < 3) return ctx.snooze(5);
          return `done after ${runs}`;
        },
      },
      { adapter },
    );
    await settled(adapter, name);
    await w.close();
    const done = await queue.getJob(job.id);
    expect(done?.state).toBe("completed");
    expect(done?.result).toBe("done after 3");
    expect(done?.attempts).toBe(1);
  });

  it("reports progress to the store and as an event", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { export: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter });
    const job = await queue.add("export", null);
    const seen: unknown[] = [];
    const w = new Worker<J>(
      name,
      {
        export: async (ctx) => {
          await ctx.updateProgress(50);
          await ctx.updateProgress({ done: 10, total: 10 });
          return null;
        },
      },
      { adapter },
    );
    w.on("progress", (_j, p) => seen.push(p));
    await settled(adapter, name);
    await w.close();
    expect(seen).toEqual([50, { done: 10, total: 10 }]);
    expect((await queue.getJob(job.id))?.progress).toEqual({ done: 10, total: 10 });
  });

  it("aborts a running job's signal when it is cancelled, and discards its outcome", async () => {
    const { queue, start } = setup();
    const job = await queue.add("slow", { ms: 60_000 });
    const w = start({ leaseMs: 300, heartbeatMs: 20 });
    const lost: string[] = [];
    w.on("lost", (j) => lost.push(j.id));
    await waitFor(() => w.running === 1, { what: "job to start" });
    expect(await queue.cancel(job.id)).toBe("cancelled");
    await waitFor(() => lost.length === 1, { what: "lost event" });
    expect((await queue.getJob(job.id))?.state).toBe("cancelled");
    expect(w.running).toBe(0);
  });

  it("sends a job with no handler to dead with QF_NO_HANDLER", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue(name, { adapter });
    const job = await queue.add("unknown.job", { x: 1 });
    const w = new Worker(name, {}, { adapter });
    await settled(adapter, name);
    await w.close();
    const dead = await queue.getJob(job.id);
    expect(dead?.state).toBe("dead");
    expect(dead?.errors[0]?.message).toMatch(/no handler for "unknown.job"/);
  });

  it("on close, waits for running jobs up to the deadline, then hands their leases back", async () => {
    const { queue, start, adapter, name } = setup();
    const quick = await queue.add("slow", { ms: 20 });
    const stuck = await queue.add("slow", { ms: 60_000 });
    const w = start({ concurrency: 2 });
    await waitFor(() => w.running === 2, { what: "both jobs to start" });
    await w.close(200);
    expect((await queue.getJob(quick.id))?.state).toBe("completed");
    const back = await queue.getJob(stuck.id);
    expect(back?.state).toBe("waiting");
    expect(back?.attempts).toBe(0);
    expect(back?.errors).toEqual([]);
    expect(await adapter.counts(name)).toMatchObject({ active: 0, waiting: 1 });
  });

  it("keeps extending leases while close() waits for running jobs", async () => {
    const { queue, start, adapter, name } = setup();
    const job = await queue.add("slow", { ms: 900 });
    const w = start({ leaseMs: 300, heartbeatMs: 50 });
    await waitFor(() => w.running === 1, { what: "the job to start" });
    const stalls: string[] = [];
    // A second worker would take the job over if its lease ran out while the first closes.
    start({ stalledIntervalMs: 20, leaseMs: 300 }).on("stalled", (id) => stalls.push(id));
    await w.close(5_000);
    expect(stalls).toEqual([]);
    const done = await queue.getJob(job.id);
    expect(done?.state).toBe("completed");
    expect(done?.attempts).toBe(1);
    expect((await adapter.counts(name)).active).toBe(0);
  });

  it("recovers a job whose worker died, and another worker completes it", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { work: { payload: null; result: string } };
    const queue = new Queue<J>(name, { adapter });
    const job = await queue.add("work", null);
    // A crashed worker: it claims and never settles.
    const { jobs } = await adapter.claim({
      queue: name,
      workerId: "crashed",
      limit: 1,
      leaseMs: 30,
      priorityRange: null,
    });
    expect(jobs).toHaveLength(1);
    const w = new Worker<J>(
      name,
      { work: async () => "rescued" },
      { adapter, stalledIntervalMs: 20 },
    );
    const stalled: string[] = [];
    w.on("stalled", (id) => stalled.push(id));
    await waitFor(async () => (await queue.getJob(job.id))?.state === "completed", {
      what: "rescued job",
    });
    await w.close();
    expect(stalled).toEqual([job.id]);
    expect((await queue.getJob(job.id))?.stalls).toBe(1);
  });

  it("serves priority bands in proportion in weighted mode", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { work: { payload: { band: string }; result: null } };
    const queue = new Queue<J>(name, { adapter });
    for (const [band, priority] of [
      ["high", 10],
      ["normal", 5],
      ["low", 1],
    ] as const) {
      await queue.addBulk(
        Array.from({ length: 100 }, () => ({
          name: "work" as const,
          payload: { band },
          options: { priority },
        })),
      );
    }
    const order: string[] = [];
    const w = new Worker<J>(
      name,
      {
        work: async (ctx) => {
          order.push(ctx.payload.band);
          return null;
        },
      },
      { adapter, fairness: { mode: "weighted", weights: { high: 60, normal: 30, low: 10 } } },
    );
    await waitFor(() => order.length >= 100, { what: "100 jobs" });
    await w.close();
    const first100 = order.slice(0, 100);
    const share = (b: string) => first100.filter((x) => x === b).length;
    expect(share("high")).toBeGreaterThanOrEqual(55);
    expect(share("normal")).toBeGreaterThanOrEqual(25);
    expect(share("low")).toBeGreaterThanOrEqual(5);
  });

  it("holds no jobs ahead in weighted mode unless told to", async () => {
    // Claims slower than the handlers: an auto buffer would fill.
    const store = new OutageAdapter();
    store.claimLatencyMs = 5;
    const adapter = store.adapter;
    const name = freshQueue();
    type J = { work: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter: store.store });
    await queue.addBulk(
      Array.from({ length: 200 }, () => ({ name: "work" as const, payload: null })),
    );
    const buffered: number[] = [];
    const w: Worker<J> = new Worker<J>(
      name,
      {
        work: async () => {
          buffered.push(w.buffered);
          return null;
        },
      },
      { adapter, fairness: { mode: "weighted", weights: { high: 60, normal: 30, low: 10 } } },
    );
    await waitFor(() => buffered.length >= 200, { what: "200 jobs" });
    await w.close();
    expect(Math.max(...buffered)).toBe(0);
  });

  it("fires a schedule from the worker, once per run, even with two workers", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter });
    await queue.schedule(
      "tick",
      { at: Date.now() + 20 },
      { name: "email.send", payload: { to: "cron" } },
    );
    const mk = () =>
      new Worker<Jobs>(
        name,
        {
          "email.send": async () => ({ id: "x" }),
          flaky: async () => "",
          slow: async () => null,
        },
        { adapter, scheduleIntervalMs: 10 },
      );
    const a = mk();
    const b = mk();
    workers.push(a, b);
    await waitFor(async () => (await queue.counts()).completed === 1, { what: "the firing" });
    await new Promise((r) => setTimeout(r, 100));
    expect((await queue.counts()).completed).toBe(1);
    expect((await queue.listSchedules())[0]?.nextRunAt).toBeNull();
  });
});

describe("Worker close against a store that stops answering", () => {
  it("returns within its deadline plus a bounded grace and reports the jobs left leased", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { work: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter });
    await queue.add("work", null);
    // From now on every settle hangs, as a command lost in a reconnect would.
    adapter.settle = () => new Promise(() => {});
    const w = new Worker<J>(name, { work: () => new Promise(() => {}) }, { adapter });
    const errors: unknown[] = [];
    w.on("error", (err) => errors.push(err));
    await waitFor(() => w.running === 1, { what: "the job to start" });
    const started = Date.now();
    await w.close(100);
    expect(Date.now() - started).toBeLessThan(100 + 5_000 + 3_000);
    expect(errors.some((e) => isQueueFlowError(e, "QF_STORE_UNAVAILABLE"))).toBe(true);
    expect((await queue.counts()).active).toBe(1);
  });
});

describe("Worker close with a periodic store call in flight", () => {
  it("returns only once its heartbeat call has answered, so the adapter can be closed next", async () => {
    const { queue, adapter, start } = setup();
    await queue.add("slow", { ms: 60_000 });
    const extend = adapter.extendLeases.bind(adapter);
    let pending = 0;
    let calls = 0;
    adapter.extendLeases = async (...args) => {
      pending++;
      calls++;
      await new Promise((r) => setTimeout(r, 300));
      pending--;
      return extend(...args);
    };
    const w = start({ heartbeatMs: 20 });
    await waitFor(() => calls > 0, { what: "a heartbeat to be in flight" });
    await w.close(50);
    expect(pending).toBe(0);
  });
});

describe("Worker retention", () => {
  it("deletes completed jobs past their retention age and keeps dead ones it was not told to", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { ok: { payload: null; result: null }; bad: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter });
    const ok = await queue.add("ok", null);
    await queue.add("bad", null, { attempts: 1 });
    const w = new Worker<J>(
      name,
      {
        ok: () => null,
        bad: () => {
          throw new Error("no");
        },
      },
      { adapter, retention: { completedMs: 0, intervalMs: 10 } },
    );
    await waitFor(async () => (await queue.counts()).dead === 1, { what: "the dead job" });
    // Only a finished job can be cleaned, so its disappearance proves it completed first.
    await waitFor(async () => (await queue.getJob(ok.id)) === null, { what: "retention" });
    await w.close();
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, completed: 0, dead: 1 });
  });
});

describe("Worker retention of 0 ms", () => {
  type J = { ok: { payload: null; result: { n: number } } };

  async function completeOne(retention: RetentionOptions) {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<J>(name, { adapter });
    const added = await queue.add("ok", null);
    // The sweep would remove the job too: an hour between sweeps leaves only the settle.
    const w = new Worker<J>(
      name,
      { ok: () => ({ n: 7 }) },
      { adapter, retention: { ...retention, intervalMs: 3_600_000 } },
    );
    const result = await new Promise((resolve) => w.once("completed", (_job, r) => resolve(r)));
    const stored = await queue.getJob(added.id);
    await w.close();
    return { result, stored };
  }

  it("deletes a job in the settle that completes it", async () => {
    const { result, stored } = await completeOne({ completedMs: 0 });
    expect(result).toEqual({ n: 7 });
    expect(stored).toBeNull();
  });

  it("keeps a completed job for any longer retention until the sweep", async () => {
    const { stored } = await completeOne({ completedMs: 1 });
    expect(stored).toMatchObject({ state: "completed", result: { n: 7 } });
  });
});

describe("Queue input", () => {
  it("rejects a payload that fails its schema, storing nothing", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, {
      adapter,
      schemas: { "email.send": z.object({ to: z.string().email() }) },
    });
    await expect(queue.add("email.send", { to: "not-an-email" })).rejects.toSatisfy((err) =>
      isQueueFlowError(err, "QF_INVALID_PAYLOAD"),
    );
    await queue.add("email.send", { to: "ok@example.com" });
    expect((await queue.counts()).waiting).toBe(1);
  });

  it("validates every entry of a bulk add before storing any", async () => {
    const adapter = new MemoryAdapter();
    const queue = new Queue<Jobs>(freshQueue(), { adapter });
    await expect(
      queue.addBulk([
        { name: "email.send", payload: { to: "a" } },
        { name: "email.send", payload: { to: "b" }, options: { priority: 99 } },
      ]),
    ).rejects.toSatisfy((err) => isQueueFlowError(err, "QF_INVALID_ARGUMENT"));
    expect((await queue.counts()).waiting).toBe(0);
  });

  it("applies default attempts by priority band", async () => {
    const queue = new Queue<Jobs>(freshQueue(), { adapter: new MemoryAdapter() });
    const critical = await queue.add("email.send", { to: "a" }, { priority: "critical" });
    const background = await queue.add("email.send", { to: "b" }, { priority: "background" });
    const explicit = await queue.add(
      "email.send",
      { to: "c" },
      { priority: "critical", attempts: 9 },
    );
    expect([critical.maxAttempts, background.maxAttempts, explicit.maxAttempts]).toEqual([5, 1, 9]);
  });

  it("refuses calls after close with QF_CLOSED", async () => {
    const queue = new Queue<Jobs>(freshQueue(), { adapter: new MemoryAdapter() });
    await queue.close();
    await expect(queue.counts()).rejects.toSatisfy((err) => isQueueFlowError(err, "QF_CLOSED"));
  });

  it("refuses unknown states, non-terminal clean and non-JSON patches before touching the store", async () => {
    const queue = new Queue<Jobs>(freshQueue(), { adapter: new MemoryAdapter() });
    const job = await queue.add("email.send", { to: "a" });
    const invalid = (err: unknown) => isQueueFlowError(err, "QF_INVALID_ARGUMENT");
    await expect(queue.listJobs("stuck" as never)).rejects.toSatisfy(invalid);
    await expect(queue.clean({ state: "waiting" as never, olderThanMs: 0 })).rejects.toSatisfy(
      invalid,
    );
    await expect(
      queue.retry(job.id, { payloadPatch: { when: new Date() } as never }),
    ).rejects.toSatisfy((err) => isQueueFlowError(err, "QF_INVALID_PAYLOAD"));
    expect((await queue.getJob(job.id))?.state).toBe("waiting");
  });
});

describe("Worker with an adapter that hands jobs over while it waits", () => {
  // A stand-in for a store with handoff (the Redis adapter's waitForJobs): the wait claims
  // on the worker's behalf, with the request the worker passed.
  class HandingAdapter extends MemoryAdapter {
    override readonly capabilities = { ...new MemoryAdapter().capabilities, handoff: true };
    readonly requests: ClaimRequest[] = [];
    readonly handed: string[] = [];
    async waitForJobs(request: ClaimRequest, timeoutMs: number, signal: AbortSignal) {
      this.requests.push(request);
      await this.waitForWork(request.queue, timeoutMs, signal);
      if (signal.aborted) return [];
      const { jobs } = await this.claim({ ...request, limit: 1 });
      this.handed.push(...jobs.map((j) => j.id));
      return jobs;
    }
  }

  it("starts the jobs the adapter hands over while the worker waits", async () => {
    const adapter = new HandingAdapter();
    const { queue, start, name } = setup(adapter);
    const worker = start({ concurrency: 4 });
    const completed: string[] = [];
    worker.on("completed", (job) => completed.push(job.id));
    await waitFor(() => adapter.requests.length > 0, { what: "the worker to wait" });
    const job = await queue.add("email.send", { to: "h@example.com" });
    await waitFor(() => completed.includes(job.id), { what: "the handed job to complete" });
    expect(adapter.handed).toContain(job.id);
    expect(adapter.requests[0]).toMatchObject({
      queue: name,
      workerId: worker.id,
      limit: 4,
      priorityRange: null,
    });
    expect((await queue.getJob(job.id))?.state).toBe("completed");
  });
});
