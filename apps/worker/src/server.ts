import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isQueueName } from "@queueflow/app-kit";
import { kedaDocument } from "@queueflow/autoscaler";
import type { StorageAdapter } from "@queueflow/core";

export interface WorkerServerOptions {
  adapter: StorageAdapter;
  /** The workers of this process, or (AUTOSCALE_MODE=processes) the pools of child processes. */
  runtime: { status(): object[] };
  /** A prom-client registry, or anything that renders an exposition the same way. */
  metrics: { registry: { metrics(): Promise<string>; contentType: string } };
  /** True once shutdown began: readiness fails so no new traffic is routed here. */
  stopping: () => boolean;
}

function send(
  res: import("node:http").ServerResponse,
  status: number,
  body: unknown,
  type = "application/json",
): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

async function storePing(
  adapter: StorageAdapter,
): Promise<{ ok: boolean; latencyMs: number | null; message?: string }> {
  try {
    const h = await adapter.health();
    return {
      ok: h.ok,
      latencyMs: h.ok ? Math.round(h.latencyMs * 10) / 10 : null,
      ...(h.message ? { message: h.message } : {}),
    };
  } catch (err) {
    return { ok: false, latencyMs: null, message: (err as Error).message };
  }
}

/**
 * The worker's small HTTP side: probes, Prometheus metrics and the KEDA metrics-api document
 * (`/keda?queue=emails`, computed from the store, so every replica answers the same). Plain
 * node:http: four read-only routes do not need a framework.
 */
export function createWorkerServer(o: WorkerServerOptions): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://worker");
    if (req.method !== "GET")
      return send(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "GET only" } });
    const route = async () => {
      switch (url.pathname) {
        case "/health/live":
          return send(res, 200, { status: "ok" });
        case "/health/ready": {
          const ping = await storePing(o.adapter);
          const ready = ping.ok && !o.stopping();
          return send(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready" });
        }
        case "/health": {
          // A process pool lists its pools (children per queue); otherwise this process's workers.
          const statusKey = "pools" in o.runtime ? "pools" : "workers";
          const store = await storePing(o.adapter);
          const status = !store.ok ? "unhealthy" : o.stopping() ? "degraded" : "healthy";
          return send(res, status === "unhealthy" ? 503 : 200, {
            status,
            checkedAt: new Date().toISOString(),
            components: {
              store,
              workers: { stopping: o.stopping(), [statusKey]: o.runtime.status() },
            },
          });
        }
        case "/metrics":
          return send(res, 200, await o.metrics.registry.metrics(), o.metrics.registry.contentType);
        case "/keda": {
          const queue = url.searchParams.get("queue") ?? "";
          if (!isQueueName(queue))
            return send(res, 400, {
              error: { code: "QUEUE_NOT_FOUND", message: "?queue= must name a catalog queue" },
            });
          return send(res, 200, await kedaDocument(o.adapter, queue));
        }
        default:
          return send(res, 404, {
            error: { code: "NOT_FOUND", message: `No route ${url.pathname}` },
          });
      }
    };
    route().catch((err: unknown) =>
      send(res, 503, { error: { code: "QF_STORE_UNAVAILABLE", message: (err as Error).message } }),
    );
  });
}

/** Listen and resolve with the base URL. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return `http://${host.includes(":") ? `[${host}]` : host}:${actual}`;
}
