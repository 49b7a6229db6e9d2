import type { Notifier } from "../alerts.js";

/**
 * The logger methods {@link logNotifier} calls: pino's `(object, message)` shape, which
 * `console` also accepts.
 */
export interface AlertLogger {
  warn(object: object, message?: string): void;
  info(object: object, message?: string): void;
}

/**
 * A notifier that logs each event: firing events at `warn`, resolved ones at `info`, as
 * `(event, event.message)`.
 * @example
 * const notify = logNotifier(pino()); // or logNotifier(console)
 */
export function logNotifier(logger: AlertLogger = console): Notifier {
  return async (event) => {
    if (event.status === "firing") logger.warn(event, event.message);
    else logger.info(event, event.message);
  };
}
