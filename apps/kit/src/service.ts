import type { StorageAdapter } from "@queueflow/core";
import type { StoreConfig } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { exitOnStartupError, onShutdown } from "./shutdown.js";
import { openStore } from "./store.js";
import { startTracing, type Tracing } from "./tracing.js";

/** What every app's configuration carries for {@link runService}. */
export interface ServiceConfig {
  logLevel: string;
  otel: { endpoint: string | undefined; serviceName: string };
  store: StoreConfig;
}

/** What {@link runService} opened for the app before starting it. */
export interface ServiceContext<C extends ServiceConfig> {
  config: C;
  log: Logger;
  tracing: Tracing;
  adapter: StorageAdapter;
}

/**
 * One app as its own process: load its configuration, open its logger, tracing and store,
 * `start` it, and on the first SIGTERM or SIGINT run the stop `start` returned, then close the
 * store and flush the tracing (see {@link onShutdown} for the exit codes). A configuration error
 * at start-up prints its message and exits 2, any other start-up failure exits 1.
 */
export function runService<C extends ServiceConfig>(o: {
  name: string;
  loadConfig: () => C;
  start: (ctx: ServiceContext<C>) => Promise<() => Promise<void>>;
}): void {
  const run = async () => {
    const config = o.loadConfig();
    const log = createLogger(o.name, config.logLevel);
    const tracing = await startTracing(config.otel, log);
    const adapter = await openStore(config.store);
    // Before start, not after: workers claim as soon as they start, and a SIGTERM while the
    // rest of start-up ran (its HTTP side, autoscaling) killed the process with its jobs
    // still leased, instead of closing them gracefully (seen under load in the apps' tests).
    const started = o.start({ config, log, tracing, adapter });
    onShutdown(log, async () => {
      const stop = await started;
      await stop();
      await adapter.close();
      await tracing.shutdown();
    });
    await started;
  };
  run().catch(exitOnStartupError);
}
