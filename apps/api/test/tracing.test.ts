import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type AppProcess, startApp, stopApp as stop } from "@queueflow/app-kit/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobResponse, KEYS, testStore, until } from "./stack.js";

const API_MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL("../../worker/src/main.ts", import.meta.url));

/** A span as OTLP/HTTP JSON carries it (ids in hex), with its resource's service name. */
interface OtlpSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}
type OtlpAttribute = { key: string; value: Record<string, unknown> };
const SPAN_KIND = { CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries(
    (list ?? []).map((a) => [a.key, Object.values(a.value)[0]] as [string, unknown]),
  );
}

/** An OTLP/HTTP collector on a random local port: what the apps' exporters POST lands here. */
async function collector(): Promise<{ url: string; spans: OtlpSpan[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      if (req.url !== "/v1/traces" || !req.headers["content-type"]?.includes("json")) {
        res.writeHead(415).end();
        return;
      }
      const parsed = JSON.parse(body) as {
        resourceSpans: {
          resource: { attributes: OtlpAttribute[] };
          scopeSpans: {
            spans: (Omit<OtlpSpan, "service" | "attributes"> & {
              attributes?: OtlpAttribute[];
            })[];
          }[];
        }[];
      };
      for (const rs of parsed.resourceSpans) {
        const service = String(attributes(rs.resource.attributes)["service.name"]);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              ...s,
              service,
              attributes: attributes(s.attributes),
              links: s.links ?? [],
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

describe("tracing through @queueflow/otel (API and worker processes on Redis)", () => {
  const store = testStore("redis");
  let otlp: Awaited<ReturnType<typeof collector>>;
  let api: AppProcess;
  let worker: AppProcess;
  let apiUrl: string;

  beforeAll(async () => {
    otlp = await collector();
    const common = {
      QUEUEFLOW_STORE: "redis",
      REDIS_URL: process.env.REDIS_URL!,
      QUEUEFLOW_NAMESPACE: (store.config as { namespace: string }).namespace,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      LOG_LEVEL: "info",
    };
    api = startApp(API_MAIN, { ...common, PORT: "0", API_KEYS_ADMIN: KEYS.admin });
    worker = startApp(WORKER_MAIN, { ...common, WORKER_QUEUES: "emails", METRICS_PORT: "0" });
    apiUrl = await until(
      () => /API listening on (http:\/\/\S+?)"/.exec(api.output())?.[1],
      "the API to listen",
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${api.output()}`);
    });
    await until(() => worker.output().includes("tracing to OTLP endpoint"), "the worker to start");
  });
  afterAll(async () => {
    if (api) await stop(api);
    if (worker) await stop(worker);
    otlp?.server.close();
    await store.drop();
  });

  it("links the worker's process span to the API's send span through the job's metadata", async () => {
    const call = async <T>(path: string, init: RequestInit = {}) => {
      const res = await fetch(`${apiUrl}${path}`, {
        ...init,
        headers: { "x-api-key": KEYS.admin, "content-type": "application/json" },
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    const submitted = await call<JobResponse>("/api/queues/emails/jobs", {
      method: "POST",
      body: JSON.stringify({
        name: "email.send",
        payload: { to: "ada@example.com", subject: "traced" },
      }),
    });
    expect(submitted.status).toBe(201);
    const id = submitted.body.job.id;
    const done = await until(async () => {
      const r = await call<JobResponse>(`/api/queues/emails/jobs/${id}`);
      return r.body.job.state === "completed" ? r.body.job : undefined;
    }, "the traced job to complete");

    // SIGTERM flushes each process's batch of spans before it exits.
    expect(await stop(api), api.output()).toBe(0);
    expect(await stop(worker), worker.output()).toBe(0);

    const ofJob = otlp.spans.filter((s) => s.attributes["messaging.message.id"] === id);
    const send = ofJob.find((s) => s.name === "send emails");
    const process_ = ofJob.find((s) => s.name === "process emails");
    const complete = ofJob.find((s) => s.name === "complete emails");
    expect(send, JSON.stringify(ofJob)).toMatchObject({
      service: "queueflow-api",
      kind: SPAN_KIND.PRODUCER,
      attributes: { "messaging.system": "queueflow", "queueflow.job.name": "email.send" },
    });
    expect(process_, JSON.stringify(ofJob)).toMatchObject({
      service: "queueflow-worker",
      kind: SPAN_KIND.CONSUMER,
      attributes: { "messaging.destination.name": "emails", "queueflow.job.attempt": 1 },
    });
    // The producer's context crossed processes inside the stored job, not its payload.
    expect(done.metadata.traceparent).toBe(`00-${send!.traceId}-${send!.spanId}-01`);
    expect(done.payload).not.toHaveProperty("traceparent");
    // Links, not parenthood (the default): the attempt starts its own trace, linked to the send.
    expect(process_!.links).toContainEqual(
      expect.objectContaining({ traceId: send!.traceId, spanId: send!.spanId }),
    );
    expect(process_!.traceId).not.toBe(send!.traceId);
    expect(complete).toMatchObject({
      service: "queueflow-worker",
      kind: SPAN_KIND.CLIENT,
      traceId: process_!.traceId,
      parentSpanId: process_!.spanId,
    });
  });
});
