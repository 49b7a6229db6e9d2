import {
  createLogger,
  exitOnStartupError,
  onShutdown,
  openStore,
  startTracing,
} from "@queueflow/app-kit";
import { createApi } from "./app.js";
import { loadApiConfig } from "./config.js";

/** The API as its own process: `node dist/main.js` in the container, `pnpm start` here. */
async function main(): Promise<void> {
  const config = loadApiConfig();
  const log = createLogger("queueflow-api", config.logLevel);
  const tracing = await startTracing(config.otel, log);
  const adapter = await openStore(config.store);
  const { app } = await createApi({ config, adapter, logger: log, middleware: tracing.middleware });
  const address = await app.listen({ port: config.port, host: config.host });
  log.info({ store: config.store.kind, docs: `${address}/docs` }, `API listening on ${address}`);
  onShutdown(log, async () => {
    await app.close();
    await adapter.close();
    await tracing.shutdown();
  });
}

main().catch(exitOnStartupError);
