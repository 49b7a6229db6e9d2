import { type JobCounts, MemoryAdapter, Queue, Worker } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { createInstrumentation } from "../src/index.js";
import { freshQueue, memoryMetrics, type Point, waitFor } from "./helpers.js";

type Jobs = { work: { payload: { fail: boolean }; result: null } };

const sum = (points: Point[], match: Record<string, unknown> = {}) =>
  points
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (p.count ?? p.value), 0);

describe("metrics", () => {
  it("counts sent and consumed jobs and times send, process and settle after a known workload", async () => {
    const metrics = memoryMetrics();
    const otel = createInstrumentation({ meterProvider: metrics.provider });
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [otel.middleware] });
    // 2 single adds + a bulk of 3 = 5 jobs sent in 3 send operations.
    await queue.add("work", { fail: false });
    await queue.add(
      "work",
      { fail: true },
      { attempts: 2, backoff: { type: "fixed", delayMs: 5 } },
    );
    await queue.addBulk([
      { name: "work", payload: { fail: false } },
      { name: "work", payload: { fail: false } },
      { name: "work", payload: { fail: false } },
    ]);
    const worker = new Worker<Jobs>(
      name,
      {
        work: (job) => {
          if (job.payload.fail) throw new RangeError("nope");
          return null;
        },
      },
      { adapter, middleware: [otel.middleware], concurrency: 4 },
    );
    await waitFor(
      async () => {
        const c = await queue.counts();
        return c.completed === 4 && c.dead === 1;
      },
      { what: "4 completed and 1 dead" },
    );
    await worker.close();

    const m = await metrics.collect();
    const base = { "messaging.system": "queueflow", "messaging.destination.name": name };
    expect(sum(m("messaging.client.sent.messages"), base)).toBe(5);
    expect(sum(m("messaging.client.sent.messages"), { "error.type": undefined })).toBe(5);
    // 4 jobs once, the failing one twice.
    const consumed = m("messaging.client.consumed.messages");
    expect(sum(consumed, { ...base, "messaging.consumer.group.name": name })).toBe(6);

    const process = m("messaging.process.duration");
    expect(sum(process, { "messaging.operation.name": "process" })).toBe(6);
    expect(sum(process, { "error.type": "RangeError" })).toBe(2);
    expect(sum(process, { "error.type": undefined })).toBe(4);

    const ops = m("messaging.client.operation.duration");
    expect(sum(ops, { "messaging.operation.name": "send" })).toBe(3);
    expect(
      sum(ops, { "messaging.operation.type": "settle", "messaging.operation.name": "complete" }),
    ).toBe(4);
    expect(sum(ops, { "messaging.operation.name": "retry" })).toBe(1);
    expect(sum(ops, { "messaging.operation.name": "dead_letter" })).toBe(1);
    for (const p of [...process, ...ops]) expect(p.value).toBeGreaterThanOrEqual(0);
  });

  it("reads queue gauges on collection with at most one counts() per queue per collection", async () => {
    const metrics = memoryMetrics();
    const otel = createInstrumentation({ meterProvider: metrics.provider });
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const other = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter });
    const empty = new Queue<Jobs>(other, { adapter });
    await queue.add("work", { fail: false });
    await queue.add("work", { fail: false });
    await queue.add("work", { fail: false }, { delayMs: 60_000 });
    await queue.add("work", { fail: true }, { attempts: 1 });
    // Dead-letter the failing job by hand, and hand the other claimed jobs straight back.
    const [failing] = (await queue.listJobs("waiting")).jobs.filter((j) => j.payload.fail);
    const claimed = await adapter.claim({
      queue: name,
      workerId: "w",
      limit: 4,
      leaseMs: 60_000,
      priorityRange: null,
    });
    const target = claimed.jobs.find((j) => j.id === failing!.id)!;
    await adapter.settle(name, [
      {
        kind: "dead",
        id: target.id,
        token: target.leaseToken,
        error: { attempt: 1, name: "Error", message: "x", at: Date.now() },
      },
      ...claimed.jobs
        .filter((j) => j.id !== target.id)
        .map((j) => ({ kind: "snooze" as const, id: j.id, token: j.leaseToken, delayMs: 0 })),
    ]);

    let countsCalls = 0;
    let listCalls = 0;
    const spy = (q: Queue<Jobs>) => ({
      name: q.name,
      counts: (): Promise<JobCounts> => {
        countsCalls += 1;
        return q.counts();
      },
      listJobs: (state: "waiting", o: { limit: number }) => {
        listCalls += 1;
        return q.listJobs(state, o);
      },
    });
    const stop = otel.observeQueues([spy(queue), spy(empty)]);
    const started = Date.now();
    const m = await metrics.collect();
    expect(countsCalls).toBe(2);
    // Only the queue with something waiting is asked for its oldest job.
    expect(listCalls).toBe(1);

    const jobs = m("queueflow.queue.jobs").filter(
      (p) => p.attributes["messaging.destination.name"] === name,
    );
    const byState = Object.fromEntries(
      jobs.map((p) => [p.attributes["queueflow.job.state"], p.value]),
    );
    expect(byState).toEqual({
      waiting: 2,
      delayed: 1,
      active: 0,
      completed: 0,
      dead: 1,
      cancelled: 0,
    });
    const dead = m("queueflow.queue.dead_letters");
    expect(dead.find((p) => p.attributes["messaging.destination.name"] === name)?.value).toBe(1);
    expect(dead.find((p) => p.attributes["messaging.destination.name"] === other)?.value).toBe(0);
    const age = m("queueflow.queue.oldest_waiting.age");
    const oldest = age.find((p) => p.attributes["messaging.destination.name"] === name)!.value;
    expect(oldest).toBeGreaterThanOrEqual(0);
    expect(oldest).toBeLessThan((Date.now() - started) / 1000 + 60);
    expect(age.find((p) => p.attributes["messaging.destination.name"] === other)?.value).toBe(0);

    stop();
    await metrics.collect();
    expect(countsCalls).toBe(2);
  });

  // A Queue passed as it is: the type check fails if ObservableQueue asks for more than a
  // Queue of handlers that return nothing gives (a `result: void` is not JSON).
  it("observes a Queue whose jobs return nothing, as it is", async () => {
    const metrics = memoryMetrics();
    const otel = createInstrumentation({ meterProvider: metrics.provider });
    const name = freshQueue();
    // biome-ignore lint/suspicious/noConfusingVoidType: what users write for "returns nothing"
    const queue = new Queue<{ ping: { payload: null; result: void } }>(name, {
      adapter: new MemoryAdapter(),
    });
    await queue.add("ping", null);
    const stop = otel.observeQueues([queue]);
    const m = await metrics.collect();
    stop();
    const waiting = m("queueflow.queue.jobs").find(
      (p) =>
        p.attributes["messaging.destination.name"] === name &&
        p.attributes["queueflow.job.state"] === "waiting",
    );
    expect(waiting?.value).toBe(1);
  });

  it("reports worker running and concurrency gauges, summed per queue", async () => {
    const metrics = memoryMetrics();
    const otel = createInstrumentation({ meterProvider: metrics.provider });
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    await new Queue<Jobs>(name, { adapter }).addBulk(
      Array.from({ length: 3 }, () => ({ name: "work" as const, payload: { fail: false } })),
    );
    const gates: (() => void)[] = [];
    const hold = () => new Promise<null>((resolve) => gates.push(() => resolve(null)));
    const a = new Worker<Jobs>(name, { work: hold }, { adapter, concurrency: 2 });
    const b = new Worker<Jobs>(name, { work: hold }, { adapter, concurrency: 3 });
    const stops = [otel.observeWorker(a), otel.observeWorker(b)];
    await waitFor(() => a.running + b.running === 3, { what: "3 running" });
    const m = await metrics.collect();
    expect(m("queueflow.worker.running")).toEqual([
      expect.objectContaining({
        value: 3,
        attributes: expect.objectContaining({ "messaging.destination.name": name }),
      }),
    ]);
    expect(m("queueflow.worker.concurrency")[0]?.value).toBe(5);
    for (const stop of stops) stop();
    for (const open of gates) open();
    await Promise.all([a.close(), b.close()]);
  });
});
