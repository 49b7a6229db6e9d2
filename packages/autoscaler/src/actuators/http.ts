import type { IncomingMessage, ServerResponse } from "node:http";
import type { StorageAdapter } from "@queueflow/core";
import { kedaDocument } from "./keda.js";
import type { AutoscalerMetrics } from "./prometheus.js";

/** Options of {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /** Served at `metricsPath` (default `/metrics`). */
  metrics?: AutoscalerMetrics;
  /** With `queue`, serve the KEDA document at `kedaPath` (default `/keda`). */
  adapter?: StorageAdapter;
  queue?: string;
  metricsPath?: string;
  kedaPath?: string;
}

/**
 * A `node:http` request listener serving the Prometheus text and the KEDA document.
 * @example
 * http.createServer(createMetricsHandler({ metrics, adapter, queue: "emails" })).listen(9464);
 */
export function createMetricsHandler(
  options: MetricsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const metricsPath = options.metricsPath ?? "/metrics";
  const kedaPath = options.kedaPath ?? "/keda";
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = async () => {
      if (req.method !== "GET") return send(res, 405, "text/plain", "GET only\n");
      if (path === metricsPath && options.metrics) {
        return send(res, 200, options.metrics.contentType, await options.metrics.text());
      }
      if (path === kedaPath && options.adapter && options.queue) {
        const doc = await kedaDocument(options.adapter, options.queue);
        return send(res, 200, "application/json", JSON.stringify(doc));
      }
      send(res, 404, "text/plain", "not found\n");
    };
    reply().catch((err: unknown) => {
      send(res, 500, "text/plain", `${err instanceof Error ? err.message : String(err)}\n`);
    });
  };
}
