import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { MemoryAdapter, type Middleware, Queue, Worker } from "../src/index.js";
import { freshQueue, settled, waitFor } from "./helpers.js";

type Jobs = { work: { payload: { n: number }; result: string } };

describe("middleware", () => {
  it("wraps add outermost-first and can stamp metadata before the jobs are stored", async () => {
    const calls: string[] = [];
    const stamp: Middleware = {
      async add(ctx, next) {
        calls.push("outer:before");
        for (const job of ctx.jobs) job.metadata.traceparent = "00-abc-def-01";
        const result = await next();
        calls.push("outer:after");
        return result;
      },
    };
    const inner: Middleware = {
      async add(ctx, next) {
        calls.push(`inner:${ctx.jobs.length}`);
        return next();
      },
    };
    const queue = new Queue<Jobs>(freshQueue(), {
      adapter: new MemoryAdapter(),
      middleware: [stamp, inner],
    });
    const job = await queue.add("work", { n: 1 });
    expect(calls).toEqual(["outer:before", "inner:1", "outer:after"]);
    expect((await queue.getJob(job.id))?.metadata).toEqual({ traceparent: "00-abc-def-01" });
  });

  it("runs the handler inside process, so context it activates reaches the handler", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter });
    await queue.add("work", { n: 7 });
    const store = new AsyncLocalStorage<string>();
    const seen: { ctxJob?: string; outcome?: string; kind?: string } = {};
    const middleware: Middleware = {
      process(ctx, next) {
        seen.ctxJob = ctx.job.name;
        return store.run(`span-for-${ctx.job.id}`, next);
      },
      async settle(ctx, next) {
        const outcome = await next();
        seen.kind = ctx.settlement.kind;
        seen.outcome = outcome;
        return outcome;
      },
    };
    const w = new Worker<Jobs>(
      name,
      { work: async (job) => `${store.getStore()} n=${job.payload.n}` },
      { adapter, middleware: [middleware] },
    );
    await settled(adapter, name);
    await waitFor(() => seen.outcome !== undefined, { what: "settle middleware" });
    await w.close();
    const [done] = (await queue.listJobs("completed")).jobs;
    expect(done?.result).toBe(`span-for-${done?.id} n=7`);
    expect(seen).toEqual({ ctxJob: "work", kind: "complete", outcome: "ok" });
  });

  it("sees a failed attempt as a rejected next() and can count it", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter });
    await queue.add("work", { n: 1 }, { attempts: 1 });
    const errors: string[] = [];
    const w = new Worker<Jobs>(
      name,
      {
        work: () => {
          throw new Error("kaput");
        },
      },
      {
        adapter,
        middleware: [
          {
            process: (_ctx, next) =>
              next().catch((err: unknown) => {
                errors.push((err as Error).message);
                throw err;
              }),
          },
        ],
      },
    );
    await settled(adapter, name);
    await w.close();
    expect(errors).toEqual(["kaput"]);
    expect((await queue.counts()).dead).toBe(1);
  });
});

describe("live concurrency", () => {
  it("claims more after a raise and never more than the new limit after a cut", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { hold: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter });
    await queue.addBulk(
      Array.from({ length: 30 }, () => ({ name: "hold" as const, payload: null })),
    );
    const gates: (() => void)[] = [];
    const w = new Worker<J>(
      name,
      { hold: () => new Promise<null>((resolve) => gates.push(() => resolve(null))) },
      { adapter, concurrency: 2 },
    );
    await waitFor(() => w.running === 2, { what: "2 running" });
    w.setConcurrency(5);
    await waitFor(() => w.running === 5, { what: "5 running after the raise" });
    w.setConcurrency(1);
    for (const open of gates.splice(0)) open();
    await waitFor(() => w.running === 1, { what: "1 running after the cut" });
    let peak = 0;
    w.on("active", () => {
      peak = Math.max(peak, w.running);
    });
    for (let i = 0; i < 5; i++) {
      await waitFor(() => gates.length === 1, { what: "the next job" });
      gates.shift()!();
    }
    expect(peak).toBe(1);
    expect(w.concurrency).toBe(1);
    expect(() => w.setConcurrency(-1)).toThrow(
      expect.objectContaining({ code: "QF_INVALID_ARGUMENT" }),
    );
    w.setConcurrency(50);
    await waitFor(
      async () => {
        for (const open of gates.splice(0)) open();
        return (await queue.counts()).completed === 30;
      },
      { what: "the rest to complete" },
    );
    await w.close();
    expect((await queue.counts()).completed).toBe(30);
  });

  it("parks at concurrency 0: finishes what runs, claims nothing until raised", async () => {
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    type J = { hold: { payload: null; result: null } };
    const queue = new Queue<J>(name, { adapter });
    await queue.addBulk(
      Array.from({ length: 4 }, () => ({ name: "hold" as const, payload: null })),
    );
    const gates: (() => void)[] = [];
    const w = new Worker<J>(
      name,
      { hold: () => new Promise<null>((resolve) => gates.push(() => resolve(null))) },
      { adapter, concurrency: 2 },
    );
    await waitFor(() => w.running === 2, { what: "2 running" });
    w.setConcurrency(0);
    for (const open of gates.splice(0)) open();
    await waitFor(async () => (await queue.counts()).completed === 2, { what: "2 completed" });
    // Give the claim loop every chance to misbehave before checking it claimed nothing.
    await new Promise((r) => setTimeout(r, 50));
    expect(w.running).toBe(0);
    expect((await queue.counts()).waiting).toBe(2);
    w.setConcurrency(2);
    await waitFor(
      async () => {
        for (const open of gates.splice(0)) open();
        return (await queue.counts()).completed === 4;
      },
      { what: "the rest after raising" },
    );
    await w.close();
  });
});
