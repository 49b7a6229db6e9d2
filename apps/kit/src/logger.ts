import { type Logger, pino } from "pino";

/** The JSON logger both apps use; `LOG_LEVEL=silent` quiets tests. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level });
}

export type { Logger };
