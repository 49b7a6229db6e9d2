import { trace } from "@opentelemetry/api";
import { type JobCounts, MemoryAdapter, Queue, Worker } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { createInstrumentation } from "../src/index.js";
import { freshQueue, waitFor } from "./helpers.js";

type Jobs = { work: { payload: { fail: boolean }; result: string } };

// This file registers nothing global: it runs as an application without an OpenTelemetry SDK.
describe("with no SDK registered", () => {
  it("records nothing, writes nothing into metadata and never throws", async () => {
    const otel = createInstrumentation();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [otel.middleware] });
    const one = await queue.add("work", { fail: false });
    const bulk = await queue.addBulk([
      { name: "work", payload: { fail: false } },
      {
        name: "work",
        payload: { fail: true },
        options: { attempts: 2, backoff: { type: "fixed", delayMs: 5 } },
      },
    ]);
    let active: boolean | undefined;
    const worker = new Worker<Jobs>(
      name,
      {
        work: (job) => {
          active = trace.getActiveSpan()?.isRecording() ?? false;
          if (job.payload.fail) throw new Error("fails");
          return "ok";
        },
      },
      { adapter, middleware: [otel.middleware] },
    );
    let countsCalls = 0;
    const stopQueues = otel.observeQueues([
      {
        name,
        counts: (): Promise<JobCounts> => {
          countsCalls += 1;
          return queue.counts();
        },
        listJobs: (s, o) => queue.listJobs(s, o),
      },
    ]);
    const stopWorker = otel.observeWorker(worker);
    await waitFor(
      async () => {
        const c = await queue.counts();
        return c.completed === 2 && c.dead === 1;
      },
      { what: "the workload to finish" },
    );
    stopWorker();
    stopQueues();
    await worker.close();
    for (const id of [one.id, ...bulk.map((r) => r.job.id)]) {
      expect((await queue.getJob(id))?.metadata).toEqual({});
    }
    expect(active).toBe(false);
    // The no-op meter never collects, so the store is never read for gauges.
    expect(countsCalls).toBe(0);
  });
});
