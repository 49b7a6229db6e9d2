import { MemoryAdapter, Queue, Worker } from "@queueflow/core";
import { afterEach, describe, expect, it } from "vitest";
import { concurrencyActuator } from "../src/index.js";
import { waitFor } from "./helpers.js";

type Jobs = { work: { payload: number; result: null } };
let worker: Worker<Jobs> | undefined;
afterEach(async () => {
  await worker?.close(1000);
  worker = undefined;
});

describe("concurrencyActuator on a live Worker (memory adapter)", () => {
  it("resizes while jobs run, losing and duplicating nothing", async () => {
    const adapter = new MemoryAdapter();
    const queue = new Queue<Jobs>("live", { adapter });
    const runs = new Map<string, number>();
    let inFlight = 0;
    let peak = 0;
    /** The most jobs in flight at once since the last resize: sampling inFlight can miss it. */
    let peakSinceResize = 0;
    const w = new Worker<Jobs>(
      "live",
      {
        work: async (job) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          peakSinceResize = Math.max(peakSinceResize, inFlight);
          await new Promise((r) => setTimeout(r, 5 + (Number(job.payload) % 7)));
          inFlight--;
          return null;
        },
      },
      { adapter, concurrency: 2 },
    );
    worker = w;
    const completions = new Map<string, number>();
    let lost = 0;
    w.on("completed", (job) => completions.set(job.id, (completions.get(job.id) ?? 0) + 1));
    w.on("lost", () => lost++);
    w.on("active", (job) => runs.set(job.id, (runs.get(job.id) ?? 0) + 1));
    const actuator = concurrencyActuator(w);
    const total = 300;
    await queue.addBulk(Array.from({ length: total }, (_, i) => ({ name: "work", payload: i })));

    await waitFor(() => completions.size >= 20, 10_000, "first completions");
    expect(peak).toBeLessThanOrEqual(2);
    peakSinceResize = 0;
    await actuator.apply(8);
    expect(actuator.current()).toBe(8);
    await waitFor(() => peakSinceResize === 8, 10_000, "8 jobs in flight after raising to 8");
    expect(peak).toBeLessThanOrEqual(8);
    await actuator.apply(1);
    // Lowering never interrupts: running jobs finish, then at most one runs.
    await waitFor(() => inFlight <= 1, 10_000, "in-flight to drain down to 1");
    const seen = completions.size;
    await waitFor(() => completions.size >= seen + 10, 10_000, "progress at concurrency 1");
    expect(inFlight).toBeLessThanOrEqual(1);
    await actuator.apply(5);
    await waitFor(() => completions.size === total, 20_000, "all jobs completed");

    expect(lost).toBe(0);
    expect([...completions.values()].every((n) => n === 1)).toBe(true);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(total);
    const counts = await queue.counts();
    expect(counts).toMatchObject({ completed: total, waiting: 0, active: 0, dead: 0 });
  });

  it("parks the worker at a desired 0 and rounds fractional desires", async () => {
    const fake = {
      concurrency: 3,
      setConcurrency(n: number) {
        this.concurrency = n;
      },
    };
    await concurrencyActuator(fake).apply(0);
    expect(fake.concurrency).toBe(0);
    await concurrencyActuator(fake).apply(2.6);
    expect(fake.concurrency).toBe(3);
  });
});
