import { createJobMetrics, runService } from "@queueflow/app-kit";
import { collectDefaultMetrics, Registry } from "prom-client";
import { loadWorkerConfig } from "./config.js";
import { startProcessPools } from "./pool.js";
import { startTracedWorkers } from "./runtime.js";
import { createWorkerServer, listen } from "./server.js";

/** The worker as its own process: `node dist/main.js` in the container, `pnpm start` here. */
runService({
  name: "queueflow-worker",
  loadConfig: loadWorkerConfig,
  async start({ config, log, tracing, adapter }) {
    let stopping = false;
    let service: {
      runtime: { status(): object[]; close(): Promise<void> };
      metrics: { registry: { metrics(): Promise<string>; contentType: string } };
    };
    if (config.autoscale.mode === "processes") {
      // The jobs run in child processes; this one scales them and serves health and metrics
      // (its own process metrics, the autoscaler's gauges, and the children's job metrics).
      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: "queueflow_" });
      const pools = await startProcessPools({ config, adapter, logger: log, registry });
      service = {
        runtime: pools,
        metrics: { registry: { contentType: registry.contentType, metrics: pools.metricsText } },
      };
    } else {
      const metrics = createJobMetrics();
      const runtime = startTracedWorkers({ config, adapter, logger: log, metrics }, tracing);
      service = { runtime, metrics };
    }
    const server = createWorkerServer({ adapter, ...service, stopping: () => stopping });
    const url = await listen(server, config.metrics.port, config.metrics.host);
    log.info(
      { store: config.store.kind, metrics: `${url}/metrics` },
      `worker health and metrics on ${url}`,
    );
    return async () => {
      stopping = true;
      await service.runtime.close();
      server.close();
    };
  },
});
