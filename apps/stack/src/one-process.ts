import { createApi, loadApiConfig } from "@queueflow/app-api";
import {
  createJobMetrics,
  createLogger,
  type Env,
  onShutdown,
  openStore,
  startTracing,
} from "@queueflow/app-kit";
import { loadWorkerConfig, startWorkers } from "@queueflow/app-worker";

/**
 * The API and the workers in this process, on one store object: the memory store lives in
 * one process, so this is the only way both apps see the same jobs. One metrics registry, so
 * the API's /metrics shows the workers' counters too, and the API's /health lists them.
 */
export async function runOneProcess(env: Env): Promise<{ apiUrl: string }> {
  const apiConfig = loadApiConfig(env);
  const workerConfig = loadWorkerConfig(env);
  const log = createLogger("queueflow", apiConfig.logLevel);
  const tracing = await startTracing({ ...apiConfig.otel, serviceName: "queueflow" }, log);
  const adapter = await openStore(apiConfig.store);
  const metrics = createJobMetrics();
  const runtime = startWorkers({
    config: workerConfig,
    adapter,
    logger: log.child({ app: "worker" }),
    metrics,
    middleware: tracing.middleware,
  });
  // Installed as soon as workers claim, so a SIGTERM during the API's start-up closes them
  // gracefully instead of killing the process with their jobs leased.
  let api: { close(): Promise<unknown> } | undefined;
  onShutdown(log, async () => {
    // Workers first: their running jobs finish while the API still answers status queries.
    await runtime.close();
    await api?.close();
    await adapter.close();
    await tracing.shutdown();
  });
  const { app, events } = await createApi({
    config: apiConfig,
    adapter,
    logger: log.child({ app: "api" }),
    metrics,
    middleware: tracing.middleware,
    localWorkers: runtime.status,
  });
  for (const worker of runtime.workers) events.attachWorker(worker);
  api = app;
  const apiUrl = await app.listen({ port: apiConfig.port, host: apiConfig.host });
  return { apiUrl };
}
