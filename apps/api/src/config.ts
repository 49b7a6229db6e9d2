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
    /** Per key and window: submit requests, jobs submitted, and requests of each other class. */
    RATE_LIMIT_WINDOW_MS: intVar(60_000, 1_000, 3_600_000),
    RATE_LIMIT_MAX: intVar(100, 1, 1_000_000),
    RATE_LIMIT_JOBS_MAX: intVar(1_000, 1, 100_000_000),
    RATE_LIMIT_READ_MAX: intVar(600, 1, 1_000_000),
    RATE_LIMIT_MANAGE_MAX: intVar(120, 1, 1_000_000),
    RATE_LIMIT_BULK_MAX: intVar(10, 1, 1_000_000),
    BODY_LIMIT_BYTES: intVar(1_048_576, 1_024, 16 * 1_048_576),
    /** The whole request, headers and body, must arrive within this. */
    REQUEST_TIMEOUT_MS: intVar(30_000, 100, 600_000),
    /**
     * A socket with no traffic for this long is closed. At least 20 s so the event stream's
     * 15 s heartbeat keeps a live stream open.
     */
    CONNECTION_TIMEOUT_MS: intVar(75_000, 20_000, 3_600_000),
    /** Open event streams: in the whole process, and per key. */
    EVENTS_MAX_STREAMS: intVar(100, 1, 100_000),
    EVENTS_MAX_STREAMS_PER_KEY: intVar(5, 1, 100_000),
    /** A waiting job older than this with nothing running on its queue makes health degraded. */
    HEALTH_STALE_WAIT_MS: intVar(60_000, 1_000, 86_400_000),
    /** A store ping slower than this makes health degraded. */
    HEALTH_SLOW_STORE_MS: intVar(500, 1, 60_000),
    /** How often the live-event stream reads the store for changes made by other processes. */
    EVENTS_POLL_MS: intVar(1_000, 50, 60_000),
    /** Dead letters growing by more than this within HEALTH_DLQ_WINDOW_MS make health degraded. */
    HEALTH_DLQ_GROWTH_MAX: intVar(100, 0, 1_000_000_000),
    HEALTH_DLQ_WINDOW_MS: intVar(300_000, 1_000, 86_400_000),
    /** Largest JSON merge patch a dead-letter replay accepts, in JSON bytes. */
    DLQ_PATCH_MAX_BYTES: intVar(65_536, 2, 1_048_576),
    /** When set, dead-letter alerts are POSTed here (DeadLetterAlerts + webhookNotifier). */
    DLQ_ALERT_WEBHOOK_URL: urlVar(["http", "https"]).optional(),
    /** Alert when the dead-letter total reaches this (resolves below half of it). */
    DLQ_ALERT_COUNT: intVar(100, 1, 1_000_000_000),
    /** Alert when the total grows by this much between two evaluations. */
    DLQ_ALERT_GROWTH: intVar(20, 1, 1_000_000_000),
    DLQ_ALERT_INTERVAL_MS: intVar(60_000, 100, 86_400_000),
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
  /** Per key and window; unauthenticated requests count per client address. */
  rateLimit: {
    windowMs: number;
    /** Submit requests. */
    max: number;
    /** Jobs submitted: a batch of 100 counts 100. */
    jobsMax: number;
    /** GET requests under /api, event streams included. */
    readMax: number;
    /** Admin requests that change one job, queue or schedule. */
    manageMax: number;
    /** Dead-letter bulk replay and purge, and queue clean. */
    bulkMax: number;
  };
  bodyLimitBytes: number;
  timeouts: { requestMs: number; connectionMs: number };
  streams: { max: number; maxPerKey: number };
  health: {
    staleWaitMs: number;
    slowStoreMs: number;
    deadLetterGrowthMax: number;
    deadLetterWindowMs: number;
  };
  eventsPollMs: number;
  deadLetters: {
    patchMaxBytes: number;
    /** Alerts run only when a webhook URL is set. */
    alerts: { webhookUrl: string; count: number; growth: number; intervalMs: number } | null;
  };
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
    rateLimit: {
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      max: e.RATE_LIMIT_MAX,
      jobsMax: e.RATE_LIMIT_JOBS_MAX,
      readMax: e.RATE_LIMIT_READ_MAX,
      manageMax: e.RATE_LIMIT_MANAGE_MAX,
      bulkMax: e.RATE_LIMIT_BULK_MAX,
    },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    timeouts: { requestMs: e.REQUEST_TIMEOUT_MS, connectionMs: e.CONNECTION_TIMEOUT_MS },
    streams: { max: e.EVENTS_MAX_STREAMS, maxPerKey: e.EVENTS_MAX_STREAMS_PER_KEY },
    health: {
      staleWaitMs: e.HEALTH_STALE_WAIT_MS,
      slowStoreMs: e.HEALTH_SLOW_STORE_MS,
      deadLetterGrowthMax: e.HEALTH_DLQ_GROWTH_MAX,
      deadLetterWindowMs: e.HEALTH_DLQ_WINDOW_MS,
    },
    eventsPollMs: e.EVENTS_POLL_MS,
    deadLetters: {
      patchMaxBytes: e.DLQ_PATCH_MAX_BYTES,
      alerts:
        e.DLQ_ALERT_WEBHOOK_URL === undefined
          ? null
          : {
              webhookUrl: e.DLQ_ALERT_WEBHOOK_URL,
              count: e.DLQ_ALERT_COUNT,
              growth: e.DLQ_ALERT_GROWTH,
              intervalMs: e.DLQ_ALERT_INTERVAL_MS,
            },
    },
    otel: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    logLevel: e.LOG_LEVEL,
  };
}
