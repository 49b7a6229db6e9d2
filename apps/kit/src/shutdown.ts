import type { Logger } from "pino";

/**
 * Run `stop` once on the first SIGTERM or SIGINT, then exit: 0 when it finished, 1 when it
 * threw. A second signal while stopping exits at once (an operator pressing Ctrl-C twice
 * means it).
 */
export function onShutdown(log: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** Print a configuration error without a stack trace and exit 2, the usual "bad usage" code. */
export function exitOnStartupError(err: unknown): never {
  const e = err as Error;
  console.error(e.name === "ConfigError" ? e.message : e);
  process.exit(e.name === "ConfigError" ? 2 : 1);
}
