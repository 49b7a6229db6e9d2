import { MemoryAdapter, Queue, Worker } from "@queueflow/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  Autoscaler,
  AutoscalerMetrics,
  concurrencyActuator,
  type Decision,
  thresholds,
} from "../src/index.js";
import { waitFor } from "./helpers.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe("Autoscaler", () => {
  it("samples, decides through the guards and resizes a live worker", async () => {
    let clock = 1_000_000;
    const adapter = new MemoryAdapter({ now: () => clock });
    const queue = new Queue("auto", { adapter });
    const worker = new Worker("auto", { x: async () => null }, { adapter, autostart: false });
    cleanup.push(() => worker.close(1000));
    const metrics = new AutoscalerMetrics();
    const scaler = new Autoscaler({
      adapter,
      queue: "auto",
      strategy: thresholds({ scaleUpThreshold: 10, scaleDownThreshold: 2 }),
      actuator: concurrencyActuator(worker),
      guards: { minWorkers: 1, maxWorkers: 6, scaleDown: { stabilizationWindowMs: 0 } },
      track: [worker],
      metrics,
    });
    cleanup.push(() => scaler.stop());
    const decisions: Decision[] = [];
    scaler.on("decision", (d) => decisions.push(d));
    await queue.addBulk(Array.from({ length: 50 }, () => ({ name: "x", payload: {} })));

    const up = await scaler.tick();
    // ⌈(50 − 10) ÷ 10⌉ = 4 more than 1.
    expect(up).toMatchObject({ strategy: "thresholds", current: 1, recommended: 5, desired: 5 });
    expect(up.reason).toMatch(/Queue depth \(50\) exceeds threshold/);
    expect(worker.concurrency).toBe(5);
    expect(await metrics.text()).toMatch(/queueflow_autoscaler_desired_workers\{queue="auto"\} 5/);

    let completed = 0;
    worker.on("completed", () => completed++);
    worker.start();
    await waitFor(() => completed === 50, 10_000, "50 completions");
    const path: number[] = [];
    for (let i = 0; i < 10 && worker.concurrency > 1; i++) {
      clock += 20_000;
      path.push((await scaler.tick()).desired);
    }
    // The seed's rule removes one per decision below the down threshold.
    expect(path).toEqual([4, 3, 2, 1]);
    expect(worker.concurrency).toBe(1);
    expect(decisions.some((d) => /below threshold/.test(d.reason))).toBe(true);
  });

  it("runs on its interval until stopped", async () => {
    const adapter = new MemoryAdapter();
    let applied = 3;
    const scaler = new Autoscaler({
      adapter,
      queue: "loop",
      strategy: thresholds(),
      actuator: {
        name: "fake",
        current: () => applied,
        apply: async (n) => {
          applied = n;
        },
      },
      guards: { minWorkers: 1, maxWorkers: 5, scaleDown: { stabilizationWindowMs: 0 } },
      intervalMs: 10,
    });
    let ticks = 0;
    scaler.on("decision", () => ticks++);
    scaler.start();
    await waitFor(
      () => ticks >= 3 && applied === 1,
      10_000,
      "three ticks scaling an idle queue to 1",
    );
    await scaler.stop();
    // stop() waited for any evaluation under way; a manual tick still works afterwards.
    const after = ticks;
    await scaler.tick();
    expect(ticks).toBe(after + 1);
  });
});
