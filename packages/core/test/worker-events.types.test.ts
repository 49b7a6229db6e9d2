// Type-level tests: `pnpm typecheck` (tsc over test/) fails when a type is wrong; at run time
// expectTypeOf does nothing, so the vitest run only checks the runtime values below.
import { describe, expect, expectTypeOf, it } from "vitest";
import { type Job, MemoryAdapter, Queue, Worker, type WorkerEvents } from "../src/index.js";
import { freshQueue, waitFor } from "./helpers.js";

type Jobs = {
  "email.send": { payload: { to: string }; result: { messageId: string } };
  // biome-ignore lint/suspicious/noConfusingVoidType: JobMap's docs declare "no result" so.
  "report.build": { payload: { month: string }; result: void };
  count: { payload: null; result: number | undefined };
};

const handlers = {
  "email.send": () => ({ messageId: "m-1" }),
  "report.build": () => undefined,
  count: () => 3,
};

describe("worker.on('completed') types its result from the job map", () => {
  it("is the handler's result type for a worker of one job name", () => {
    type One = { only: { payload: null; result: { id: string } } };
    const worker = new Worker<One>("q", { only: () => ({ id: "x" }) }, { autostart: false });
    worker.on("completed", (job, result) => {
      expectTypeOf(job).toEqualTypeOf<Job<One, "only">>();
      expectTypeOf(result).toEqualTypeOf<{ id: string }>();
    });
  });

  it("is the union of the handlers' result types; nothing returned is reported as null", () => {
    expectTypeOf<Parameters<WorkerEvents<Jobs>["completed"]>>().toEqualTypeOf<
      [Job<Jobs>, { messageId: string } | null | number]
    >();
    const worker = new Worker<Jobs>("q", handlers, { autostart: false });
    worker.on("completed", (_job, result) => {
      expectTypeOf(result).toEqualTypeOf<{ messageId: string } | null | number>();
    });
    // A listener of the job alone whose body returns a value (push) must still compile.
    const ids: string[] = [];
    worker.on("completed", (job) => ids.push(job.id));
  });

  it("stays unknown for a worker without a job map, and accepts listeners typed unknown", () => {
    const untyped = new Worker("q", { any: () => 1 }, { autostart: false });
    untyped.on("completed", (_job, result) => {
      expectTypeOf(result).toBeUnknown();
    });
    // A listener written against the old `unknown` signature still type-checks.
    const old = (_job: Job<Jobs>, _result: unknown): void => undefined;
    new Worker<Jobs>("q", handlers, { autostart: false }).on("completed", old);
  });

  it("reports at run time what the handler returned, null for nothing", async () => {
    const adapter = new MemoryAdapter();
    const queue = freshQueue("events");
    const producer = new Queue<Jobs>(queue, { adapter });
    await producer.add("email.send", { to: "a@example.com" });
    await producer.add("report.build", { month: "2025-01" });
    const seen = new Map<string, unknown>();
    const worker = new Worker<Jobs>(queue, handlers, { adapter });
    worker.on("completed", (job, result) => {
      seen.set(job.name, result);
    });
    try {
      await waitFor(() => seen.size === 2, { what: "both jobs to complete" });
    } finally {
      await worker.close();
    }
    expect(Object.fromEntries(seen)).toEqual({
      "email.send": { messageId: "m-1" },
      "report.build": null,
    });
  });
});
