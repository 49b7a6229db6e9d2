import {
  type Env,
  intVar,
  parseEnv,
  requireStoreUrl,
  type StoreConfig,
  storeConfigOf,
  storeEnv,
  urlVar,
} from "@queueflow/app-kit";
import { z } from "zod";

// Long enough that guessing is hopeless, short enough to paste: 16+ of a URL-safe alphabet.
const keyList = z
  .string()
  .transform((v) => v.split(",").map((k) => k.trim()))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9_.~-]{16,256}$/, "each key must be 16-256 of A-Z a-z 0-9 _ . ~ -"),
      )
      .max(64),
  );

/** Every variable the API reads; the README's config table lists the same. */
export const apiEnvSchema = z
  .object({
    ...storeEnv,
    PORT: intVar(3000, 0, 65_535),
    HOST: z.string().min(1).default("127.0.0.1"),
    /** Comma-separated keys per scope; admin implies submit implies read. */
    API_KEYS_READ: keyList.optional(),
    API_KEYS_SUBMIT: keyList.optional(),
    API_KEYS_ADMIN: keyList.optional(),
    RATE_LIMIT_MAX: intVar(100, 1, 1_000_000),
    RATE_LIMIT_WINDOW_MS: intVar(60_000, 1_000, 3_600_000),
    BODY_LIMIT_BYTES: intVar(1_048_576, 1_024, 16 * 1_048_576),
    /** A waiting job older than this with nothing running on its queue makes health degraded. */
    HEALTH_STALE_WAIT_MS: intVar(60_000, 1_000, 86_400_000),
    /** A store ping slower than this makes health degraded. */
    HEALTH_SLOW_STORE_MS: intVar(500, 1, 60_000),
    /** How often the live-event stream reads the store for changes made by other processes. */
    EVENTS_POLL_MS: intVar(1_000, 50, 60_000),
    OTEL_EXPORTER_OTLP_ENDPOINT: urlVar(["http", "https"]).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).max(100).default("queueflow-api"),
  })
  .superRefine((value, ctx) => {
    requireStoreUrl(value, ctx);
    if (!value.API_KEYS_READ && !value.API_KEYS_SUBMIT && !value.API_KEYS_ADMIN) {
      ctx.addIssue({
        code: "custom",
        path: ["API_KEYS_ADMIN"],
        message:
          "no API key is configured: set API_KEYS_ADMIN (and optionally API_KEYS_SUBMIT, API_KEYS_READ)",
      });
    }
  });

export interface ApiConfig {
  store: StoreConfig;
  port: number;
  host: string;
  keys: { read: string[]; submit: string[]; admin: string[] };
  rateLimit: { max: number; windowMs: number };
  bodyLimitBytes: number;
  health: { staleWaitMs: number; slowStoreMs: number };
  eventsPollMs: number;
  otel: { endpoint: string | undefined; serviceName: string };
  logLevel: string;
}

/**
 * Read and check the API's configuration.
 * @throws ConfigError listing every bad variable.
 */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const e = parseEnv(apiEnvSchema, env);
  return {
    store: storeConfigOf(e),
    port: e.PORT,
    host: e.HOST,
    keys: {
      read: e.API_KEYS_READ ?? [],
      submit: e.API_KEYS_SUBMIT ?? [],
      admin: e.API_KEYS_ADMIN ?? [],
    },
    rateLimit: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    health: { staleWaitMs: e.HEALTH_STALE_WAIT_MS, slowStoreMs: e.HEALTH_SLOW_STORE_MS },
    eventsPollMs: e.EVENTS_POLL_MS,
    otel: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    logLevel: e.LOG_LEVEL,
  };
}
