import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MemoryAdapter, Queue } from "@queueflow/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  AutoscalerMetrics,
  createMetricsHandler,
  kedaDocument,
  metricsActuator,
  RETIRE_MESSAGE,
  runPoolChild,
} from "../src/index.js";
import { signals } from "./helpers.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

describe("Prometheus metrics", () => {
  it("exposes desired workers and queue depth per queue", async () => {
    const metrics = new AutoscalerMetrics();
    metrics.recordSignals("emails", signals({ depth: 42, workers: 3, oldestWaitMs: 1500 }));
    const actuator = metricsActuator(metrics, "emails", { initial: 3 });
    await actuator.apply(7);
    expect(actuator.current()).toBe(7);
    const text = await metrics.text();
    expect(text).toContain('queueflow_autoscaler_desired_workers{queue="emails"} 7');
    expect(text).toContain('queueflow_queue_depth{queue="emails"} 42');
    expect(text).toContain('queueflow_queue_oldest_wait_seconds{queue="emails"} 1.5');
    expect(metrics.contentType).toMatch(/text\/plain/);
  });
});

describe("KEDA document and HTTP handler", () => {
  it("computes queue-global numbers from the store, identical from any replica", async () => {
    let clock = 5_000_000;
    const adapter = new MemoryAdapter({ now: () => clock });
    const queue = new Queue("keda", { adapter });
    for (let i = 0; i < 3; i++) await queue.add("x", {});
    await queue.add("x", {}, { delayMs: 60_000 });
    clock += 2000;
    const a = await kedaDocument(adapter, "keda");
    const b = await kedaDocument(adapter, "keda");
    expect(a).toEqual(b);
    expect(a).toMatchObject({ depth: 3, delayed: 1, active: 0, backlog: 3, oldestWaitSeconds: 2 });
  });

  it("serves /metrics and /keda over node:http", async () => {
    const adapter = new MemoryAdapter();
    await new Queue("served", { adapter }).add("x", {});
    const metrics = new AutoscalerMetrics();
    metrics.recordDecision("served", { desired: 2 });
    server = createServer(createMetricsHandler({ metrics, adapter, queue: "served" }));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const m = await fetch(`${base}/metrics`);
    expect(await m.text()).toContain('queueflow_autoscaler_desired_workers{queue="served"} 2');
    const k = await fetch(`${base}/keda`);
    expect(k.headers.get("content-type")).toBe("application/json");
    expect(((await k.json()) as { backlog: number }).backlog).toBe(1);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe("runPoolChild", () => {
  it("closes the worker on the retire message, then exits 0", async () => {
    const proc = new EventEmitter() as EventEmitter & { exit: (code?: number) => void };
    const codes: (number | undefined)[] = [];
    proc.exit = (code) => void codes.push(code);
    let closed = 0;
    const done = runPoolChild({ close: async () => void closed++ }, proc);
    proc.emit("message", { type: "other" });
    expect(closed).toBe(0);
    proc.emit("message", RETIRE_MESSAGE);
    proc.emit("SIGTERM");
    await done;
    expect(closed).toBe(1);
    expect(codes).toEqual([0]);
  });
});
