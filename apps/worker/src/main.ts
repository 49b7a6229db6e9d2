import {
  createJobMetrics,
  createLogger,
  exitOnStartupError,
  onShutdown,
  openStore,
  startTracing,
} from "@queueflow/app-kit";
import { loadWorkerConfig } from "./config.js";
import { startWorkers } from "./runtime.js";
import { createWorkerServer, listen } from "./server.js";

/** The worker as its own process: `node dist/main.js` in the container, `pnpm start` here. */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const log = createLogger("queueflow-worker", config.logLevel);
  const tracing = await startTracing(config.otel, log);
  const adapter = await openStore(config.store);
  const metrics = createJobMetrics();
  const runtime = startWorkers({
    config,
    adapter,
    logger: log,
    metrics,
    middleware: tracing.middleware,
  });
  for (const w of runtime.workers) tracing.instrumentation?.observeWorker(w);
  let stopping = false;
  const server = createWorkerServer({ adapter, runtime, metrics, stopping: () => stopping });
  const url = await listen(server, config.metrics.port, config.metrics.host);
  log.info(
    { store: config.store.kind, metrics: `${url}/metrics` },
    `worker health and metrics on ${url}`,
  );
  onShutdown(log, async () => {
    stopping = true;
    await runtime.close();
    server.close();
    await adapter.close();
    await tracing.shutdown();
  });
}

main().catch(exitOnStartupError);
