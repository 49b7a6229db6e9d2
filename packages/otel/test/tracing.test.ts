import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { MemoryAdapter, type NewJob, Queue, UnrecoverableError, Worker } from "@queueflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInstrumentation } from "../src/index.js";
import { freshQueue, memoryTracing, waitFor } from "./helpers.js";

type Jobs = {
  send: { payload: { to: string }; result: string };
  flaky: { payload: null; result: null };
};

// A context manager is process-global by nature; the providers themselves are passed in.
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});

function setup(options: { parentOnProducer?: boolean } = {}) {
  const tracing = memoryTracing();
  const otel = createInstrumentation({
    tracerProvider: tracing.provider,
    propagator: new W3CTraceContextPropagator(),
    ...options,
  });
  return { ...tracing, otel };
}

const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("producer spans", () => {
  it("makes add one PRODUCER `send <queue>` span, child of the caller's span, carried in metadata", async () => {
    const { otel, provider, named } = setup();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, {
      adapter: new MemoryAdapter(),
      middleware: [otel.middleware],
    });
    const request = provider.getTracer("app").startSpan("request");
    const job = await context.with(trace.setSpan(context.active(), request), () =>
      queue.add("send", { to: "a@example.com" }),
    );
    request.end();

    const [send] = named(`send ${name}`);
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(send?.attributes).toMatchObject({
      "messaging.system": "queueflow",
      "messaging.system.name": "queueflow",
      "messaging.destination.name": name,
      "messaging.operation.type": "send",
      "messaging.operation.name": "send",
      "messaging.message.id": job.id,
      "queueflow.job.name": "send",
    });
    expect(send?.attributes["messaging.batch.message_count"]).toBeUndefined();
    expect(parentId(send!)).toBe(request.spanContext().spanId);
    const stored = await queue.getJob(job.id);
    expect(stored?.metadata).toEqual({
      traceparent: `00-${send!.spanContext().traceId}-${send!.spanContext().spanId}-01`,
    });
    expect(stored?.payload).toEqual({ to: "a@example.com" });
  });

  it("gives each job of a bulk add its own PRODUCER create span and links them from one CLIENT send span", async () => {
    const { otel, named } = setup();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, {
      adapter: new MemoryAdapter(),
      middleware: [otel.middleware],
    });
    const added = await queue.addBulk([
      { name: "send", payload: { to: "a" } },
      { name: "send", payload: { to: "b" } },
      { name: "send", payload: { to: "c" } },
    ]);

    const creates = named(`create ${name}`);
    const [send] = named(`send ${name}`);
    expect(creates).toHaveLength(3);
    expect(creates.every((s) => s.kind === SpanKind.PRODUCER)).toBe(true);
    expect(creates.map((s) => s.attributes["messaging.message.id"])).toEqual(
      added.map((r) => r.job.id),
    );
    expect(creates[0]?.attributes["messaging.operation.type"]).toBe("create");
    expect(send?.kind).toBe(SpanKind.CLIENT);
    expect(send?.attributes["messaging.batch.message_count"]).toBe(3);
    expect(send?.attributes["messaging.message.id"]).toBeUndefined();
    expect(send?.links.map((l) => l.context.spanId)).toEqual(
      creates.map((s) => s.spanContext().spanId),
    );
    for (const [i, r] of added.entries()) {
      const stored = await queue.getJob(r.job.id);
      expect(stored?.metadata.traceparent).toContain(creates[i]!.spanContext().spanId);
    }
  });

  it("never writes into a metadata object the caller shares between jobs", async () => {
    const { otel } = setup();
    const shared = { tenant: "acme" };
    const queue = new Queue<Jobs>(freshQueue(), {
      adapter: new MemoryAdapter(),
      middleware: [otel.middleware],
      defaultJobOptions: { metadata: shared },
    });
    const [a, b] = await queue.addBulk([
      { name: "send", payload: { to: "a" } },
      { name: "send", payload: { to: "b" } },
    ]);
    expect(shared).toEqual({ tenant: "acme" });
    const ma = (await queue.getJob(a!.job.id))?.metadata;
    const mb = (await queue.getJob(b!.job.id))?.metadata;
    expect(ma?.tenant).toBe("acme");
    expect(ma?.traceparent).toBeTypeOf("string");
    expect(ma?.traceparent).not.toBe(mb?.traceparent);
  });

  it("marks a failed add ERROR with error.type and rethrows", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    adapter.enqueue = (_jobs: NewJob[]) =>
      Promise.reject(Object.assign(new Error("store down"), { code: "ECONNREFUSED" }));
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [otel.middleware] });
    await expect(queue.add("send", { to: "x" })).rejects.toThrow("store down");
    const [send] = named(`send ${name}`);
    expect(send?.status).toEqual({ code: SpanStatusCode.ERROR, message: "store down" });
    expect(send?.attributes["error.type"]).toBe("ECONNREFUSED");
    expect(send?.events.map((e) => e.name)).toEqual(["exception"]);
  });
});

describe("consumer spans", () => {
  it("links the process span to the creation span across separate Queue and Worker instances", async () => {
    // Two instrumentations and one store: as a producer process and a worker process would be.
    const producer = setup();
    const consumer = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [producer.otel.middleware] });
    const job = await queue.add("send", { to: "a@example.com" });
    const [send] = producer.named(`send ${name}`);

    const worker = new Worker<Jobs>(
      name,
      { send: async (j) => `sent ${j.payload.to}`, flaky: () => null },
      { adapter, middleware: [consumer.otel.middleware] },
    );
    await waitFor(() => consumer.named(`complete ${name}`).length === 1, { what: "settle span" });
    await worker.close();

    const [proc] = consumer.named(`process ${name}`);
    const [settle] = consumer.named(`complete ${name}`);
    expect(proc?.kind).toBe(SpanKind.CONSUMER);
    expect(proc?.attributes).toMatchObject({
      "messaging.system": "queueflow",
      "messaging.destination.name": name,
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.message.id": job.id,
      "messaging.consumer.group.name": name,
      "messaging.client.id": worker.id,
      "queueflow.job.attempt": 1,
    });
    expect(proc?.links).toHaveLength(1);
    expect(proc?.links[0]?.context.spanId).toBe(send!.spanContext().spanId);
    expect(proc?.links[0]?.context.traceId).toBe(send!.spanContext().traceId);
    // Linked, not parented: a new trace.
    expect(proc?.spanContext().traceId).not.toBe(send!.spanContext().traceId);
    expect(parentId(proc!)).toBeUndefined();
    expect(proc?.status.code).toBe(SpanStatusCode.UNSET);

    expect(settle?.kind).toBe(SpanKind.CLIENT);
    expect(settle?.attributes).toMatchObject({
      "messaging.operation.type": "settle",
      "messaging.operation.name": "complete",
      "messaging.message.id": job.id,
    });
    expect(parentId(settle!)).toBe(proc!.spanContext().spanId);
  });

  it("parents the process span on the creation span with parentOnProducer", async () => {
    const { otel, named } = setup({ parentOnProducer: true });
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [otel.middleware] });
    await queue.add("send", { to: "a" });
    const worker = new Worker<Jobs>(
      name,
      { send: () => "ok", flaky: () => null },
      { adapter, middleware: [otel.middleware] },
    );
    await waitFor(() => named(`complete ${name}`).length === 1, { what: "settle span" });
    await worker.close();
    const [send] = named(`send ${name}`);
    const [proc] = named(`process ${name}`);
    expect(proc?.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(parentId(proc!)).toBe(send!.spanContext().spanId);
    expect(proc?.links[0]?.context.spanId).toBe(send!.spanContext().spanId);
  });

  it("runs the handler with its process span active", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    await new Queue<Jobs>(name, { adapter }).add("send", { to: "a" });
    let seen: string | undefined;
    const worker = new Worker<Jobs>(
      name,
      {
        send: async () => {
          await new Promise((r) => setTimeout(r, 1));
          seen = trace.getActiveSpan()?.spanContext().spanId;
          return "ok";
        },
        flaky: () => null,
      },
      { adapter, middleware: [otel.middleware] },
    );
    await waitFor(() => named(`complete ${name}`).length === 1, { what: "settle span" });
    await worker.close();
    const [proc] = named(`process ${name}`);
    expect(seen).toBe(proc!.spanContext().spanId);
    // No producer instrumentation: nothing to link to, and nothing fails.
    expect(proc?.links).toEqual([]);
  });

  it("records a retried then dead job: a span per attempt, events, ERROR status and error.type", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [otel.middleware] });
    const job = await queue.add("flaky", null, {
      attempts: 2,
      backoff: { type: "fixed", delayMs: 20 },
    });
    const worker = new Worker<Jobs>(
      name,
      {
        send: () => "",
        flaky: () => {
          throw new TypeError("boom");
        },
      },
      { adapter, middleware: [otel.middleware] },
    );
    await waitFor(() => named(`dead_letter ${name}`).length === 1, { what: "dead letter" });
    await worker.close();

    const attempts = named(`process ${name}`).sort(
      (a, b) =>
        Number(a.attributes["queueflow.job.attempt"]) -
        Number(b.attributes["queueflow.job.attempt"]),
    );
    expect(attempts.map((s) => s.attributes["queueflow.job.attempt"])).toEqual([1, 2]);
    const [send] = named(`send ${name}`);
    for (const span of attempts) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: "boom" });
      expect(span.attributes["error.type"]).toBe("TypeError");
      expect(span.attributes["messaging.message.id"]).toBe(job.id);
      expect(span.links[0]?.context.spanId).toBe(send!.spanContext().spanId);
      const exception = span.events.find((e) => e.name === "exception");
      expect(exception?.attributes?.["exception.type"]).toBe("TypeError");
      expect(exception?.attributes?.["exception.message"]).toBe("boom");
    }
    const retry = attempts[0]!.events.find((e) => e.name === "queueflow.job.retry_scheduled");
    expect(retry?.attributes).toEqual({ "queueflow.job.delay_ms": 20, "queueflow.job.attempt": 2 });
    const dead = attempts[1]!.events.find((e) => e.name === "queueflow.job.dead_lettered");
    expect(dead?.attributes).toEqual({ "error.type": "TypeError" });
    expect(named(`retry ${name}`)).toHaveLength(1);
    const [deadSettle] = named(`dead_letter ${name}`);
    expect(deadSettle?.attributes["messaging.operation.name"]).toBe("dead_letter");
    expect(parentId(deadSettle!)).toBe(attempts[1]!.spanContext().spanId);
    expect((await queue.counts()).dead).toBe(1);
  });

  it("uses a QueueFlow error's code as error.type (a timeout)", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    await new Queue<Jobs>(name, { adapter }).add(
      "send",
      { to: "a" },
      { attempts: 1, timeoutMs: 10 },
    );
    const worker = new Worker<Jobs>(
      name,
      { send: () => new Promise<string>(() => {}), flaky: () => null },
      { adapter, middleware: [otel.middleware] },
    );
    await waitFor(() => named(`dead_letter ${name}`).length === 1, { what: "dead letter" });
    await worker.close();
    const [proc] = named(`process ${name}`);
    expect(proc?.attributes["error.type"]).toBe("QF_TIMEOUT");
  });

  it("records a snooze as an event, not an error", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    await new Queue<Jobs>(name, { adapter }).add("send", { to: "a" });
    let runs = 0;
    const worker = new Worker<Jobs>(
      name,
      {
        send: (job) => {
          runs += 1;
          if (runs === 1) return job.snooze(5);
          return "ok";
        },
        flaky: () => null,
      },
      { adapter, middleware: [otel.middleware] },
    );
    await waitFor(() => named(`complete ${name}`).length === 1, { what: "completion" });
    await worker.close();
    const [snoozed] = named(`process ${name}`).filter((s) =>
      s.events.some((e) => e.name === "queueflow.job.snoozed"),
    );
    expect(snoozed?.status.code).toBe(SpanStatusCode.UNSET);
    expect(snoozed?.attributes["error.type"]).toBeUndefined();
    expect(snoozed?.events.find((e) => e.name === "queueflow.job.snoozed")?.attributes).toEqual({
      "queueflow.job.delay_ms": 5,
    });
    expect(named(`snooze ${name}`)).toHaveLength(1);
  });

  it("reports an unrecoverable error as dead on the first attempt", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    await new Queue<Jobs>(name, { adapter }).add("send", { to: "a" }, { attempts: 5 });
    const worker = new Worker<Jobs>(
      name,
      {
        send: () => {
          throw new UnrecoverableError("bad address");
        },
        flaky: () => null,
      },
      { adapter, middleware: [otel.middleware] },
    );
    await waitFor(() => named(`dead_letter ${name}`).length === 1, { what: "dead letter" });
    await worker.close();
    const procs = named(`process ${name}`);
    expect(procs).toHaveLength(1);
    expect(procs[0]?.events.some((e) => e.name === "queueflow.job.dead_lettered")).toBe(true);
  });
});

describe("observeWorker", () => {
  it("reports a stalled job as a recover span linked to its creation", async () => {
    const { otel, named } = setup();
    const adapter = new MemoryAdapter();
    const name = freshQueue();
    const queue = new Queue<Jobs>(name, { adapter, middleware: [otel.middleware] });
    const job = await queue.add("send", { to: "a" });
    // A worker that claims and then dies: its lease simply runs out.
    await adapter.claim({
      queue: name,
      workerId: "ghost",
      limit: 1,
      leaseMs: 20,
      priorityRange: null,
    });
    const worker = new Worker<Jobs>(
      name,
      { send: () => "ok", flaky: () => null },
      { adapter, middleware: [otel.middleware], stalledIntervalMs: 20, maxStalls: 0 },
    );
    const stop = otel.observeWorker(worker);
    await waitFor(() => named(`recover ${name}`).length === 1, { what: "recover span" });
    stop();
    await worker.close();
    const [recover] = named(`recover ${name}`);
    const [send] = named(`send ${name}`);
    expect(recover?.attributes).toMatchObject({
      "messaging.message.id": job.id,
      "queueflow.job.state": "dead",
      "error.type": "StalledError",
    });
    expect(recover?.status.code).toBe(SpanStatusCode.ERROR);
    expect(recover?.events.map((e) => e.name)).toEqual(["queueflow.job.stalled"]);
    expect(recover?.links[0]?.context.spanId).toBe(send!.spanContext().spanId);
  });
});
