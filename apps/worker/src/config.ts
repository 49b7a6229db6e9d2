import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Env,
  intVar,
  isQueueName,
  parseEnv,
  QUEUE_NAMES,
  type QueueName,
  requireStoreUrl,
  type StoreConfig,
  storeConfigOf,
  storeEnv,
  urlVar,
} from "@queueflow/app-kit";
import { z } from "zod";

/**
 * An age in ms that is unset unless given. Not `intVar(…).optional()`: its default would
 * fill in an unset variable (and 0, below the minimum, passed unchecked), so every
 * completed job was deleted at once where the README promises to keep them.
 */
const optionalMs = (max: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1_000, "must be at least 1000")
    .max(max, `must be at most ${max}`)
    .optional();

/** Every variable the worker reads; the README's config table lists the same. */
export const workerEnvSchema = z
  .object({
    ...storeEnv,
    /** Comma-separated catalog queues this process works; default all. */
    WORKER_QUEUES: z
      .string()
      .transform((v) => v.split(",").map((q) => q.trim()))
      .refine((qs) => qs.every(isQueueName), {
        message: `must be a comma-separated list of ${QUEUE_NAMES.join(", ")}`,
      })
      .optional(),
    WORKER_CONCURRENCY: intVar(4, 1, 1_000),
    WORKER_LEASE_MS: intVar(30_000, 1_000, 3_600_000),
    /** How long SIGTERM waits for running jobs before handing them back. */
    SHUTDOWN_TIMEOUT_MS: intVar(25_000, 0, 3_600_000),
    METRICS_PORT: intVar(9464, 0, 65_535),
    METRICS_HOST: z.string().min(1).default("127.0.0.1"),
    SMTP_URL: urlVar(["smtp", "smtps"]).optional(),
    SMTP_FROM: z.string().min(3).max(254).default("QueueFlow <noreply@queueflow.local>"),
    NOTIFY_WEBHOOK_URL: urlVar(["http", "https"]).optional(),
    /** Signs each webhook body (HMAC-SHA256, x-queueflow-signature) so the receiver can trust it. */
    NOTIFY_WEBHOOK_SECRET: z.string().min(16).max(256).optional(),
    CACHE_WARM_ORIGIN: urlVar(["http", "https"]).optional(),
    DATA_DIR: z.string().min(1).default(join(tmpdir(), "queueflow")),
    RETENTION_COMPLETED_MS: optionalMs(365 * 86_400_000),
    RETENTION_DEAD_MS: optionalMs(3_650 * 86_400_000),
    AUTOSCALE: z
      .enum(["off", "slo", "thresholds", "aggressive", "conservative", "predictive"], {
        error: "must be off, slo, thresholds, aggressive, conservative or predictive",
      })
      .default("off"),
    /** What the autoscaler resizes: each worker's concurrency, or a pool of child processes. */
    AUTOSCALE_MODE: z
      .enum(["concurrency", "processes"], { error: "must be concurrency or processes" })
      .default("concurrency"),
    AUTOSCALE_MIN_CONCURRENCY: intVar(1, 0, 1_000),
    AUTOSCALE_MAX_CONCURRENCY: intVar(32, 1, 1_000),
    /** Bounds of each queue's pool of child processes (AUTOSCALE_MODE=processes). */
    AUTOSCALE_MIN_PROCESSES: intVar(1, 0, 256),
    AUTOSCALE_MAX_PROCESSES: intVar(4, 1, 256),
    AUTOSCALE_TARGET_WAIT_MS: intVar(30_000, 100, 86_400_000),
    AUTOSCALE_INTERVAL_MS: intVar(5_000, 100, 600_000),
    /** Scale down only to the highest recommendation of this window (the HPA's 300 s). */
    AUTOSCALE_SCALE_DOWN_WINDOW_MS: intVar(300_000, 0, 3_600_000),
    OTEL_EXPORTER_OTLP_ENDPOINT: urlVar(["http", "https"]).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).max(100).default("queueflow-worker"),
  })
  .superRefine((value, ctx) => {
    requireStoreUrl(value, ctx);
    if (value.AUTOSCALE_MIN_CONCURRENCY > value.AUTOSCALE_MAX_CONCURRENCY) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTOSCALE_MIN_CONCURRENCY"],
        message: "must not exceed AUTOSCALE_MAX_CONCURRENCY",
      });
    }
    if (value.AUTOSCALE_MODE === "processes") {
      if (value.QUEUEFLOW_STORE === "memory") {
        ctx.addIssue({
          code: "custom",
          path: ["AUTOSCALE_MODE"],
          message:
            "processes needs a shared store: the memory store lives in one process, so child processes could not see its jobs; set QUEUEFLOW_STORE to redis, postgres or mongo",
        });
      }
      if (value.AUTOSCALE === "off") {
        ctx.addIssue({
          code: "custom",
          path: ["AUTOSCALE_MODE"],
          message: "processes needs a strategy: set AUTOSCALE (slo, thresholds, …) too",
        });
      }
      if (value.AUTOSCALE_MIN_PROCESSES > value.AUTOSCALE_MAX_PROCESSES) {
        ctx.addIssue({
          code: "custom",
          path: ["AUTOSCALE_MIN_PROCESSES"],
          message: "must not exceed AUTOSCALE_MAX_PROCESSES",
        });
      }
    }
  });

export interface WorkerConfig {
  store: StoreConfig;
  queues: QueueName[];
  concurrency: number;
  leaseMs: number;
  shutdownTimeoutMs: number;
  metrics: { port: number; host: string };
  smtp: { url: string | undefined; from: string };
  webhook: { url: string | undefined; secret: string | undefined };
  cacheWarmOrigin: string | undefined;
  /** uploads/ (thumbnail input), thumbnails/, exports/, tmp/ live under it. */
  dirs: { uploads: string; thumbnails: string; exports: string; temp: string };
  retention: { completedMs?: number; deadMs?: number };
  autoscale: {
    strategy: z.output<typeof workerEnvSchema>["AUTOSCALE"];
    /**
     * `concurrency`: resize each worker's concurrency within min/max. `processes`: resize a
     * pool of child processes per queue within minProcesses/maxProcesses, each child working
     * that queue at the fixed WORKER_CONCURRENCY.
     */
    mode: z.output<typeof workerEnvSchema>["AUTOSCALE_MODE"];
    min: number;
    max: number;
    minProcesses: number;
    maxProcesses: number;
    targetWaitMs: number;
    intervalMs: number;
    scaleDownWindowMs: number;
  };
  otel: { endpoint: string | undefined; serviceName: string };
  logLevel: string;
}

/**
 * Read and check the worker's configuration.
 * @throws ConfigError listing every bad variable.
 */
export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const e = parseEnv(workerEnvSchema, env);
  return {
    store: storeConfigOf(e),
    queues: (e.WORKER_QUEUES as QueueName[] | undefined) ?? [...QUEUE_NAMES],
    concurrency: e.WORKER_CONCURRENCY,
    leaseMs: e.WORKER_LEASE_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST },
    smtp: { url: e.SMTP_URL, from: e.SMTP_FROM },
    webhook: { url: e.NOTIFY_WEBHOOK_URL, secret: e.NOTIFY_WEBHOOK_SECRET },
    cacheWarmOrigin: e.CACHE_WARM_ORIGIN,
    dirs: {
      uploads: join(e.DATA_DIR, "uploads"),
      thumbnails: join(e.DATA_DIR, "thumbnails"),
      exports: join(e.DATA_DIR, "exports"),
      temp: join(e.DATA_DIR, "tmp"),
    },
    retention: {
      ...(e.RETENTION_COMPLETED_MS === undefined ? {} : { completedMs: e.RETENTION_COMPLETED_MS }),
      ...(e.RETENTION_DEAD_MS === undefined ? {} : { deadMs: e.RETENTION_DEAD_MS }),
    },
    autoscale: {
      strategy: e.AUTOSCALE,
      mode: e.AUTOSCALE_MODE,
      min: e.AUTOSCALE_MIN_CONCURRENCY,
      max: e.AUTOSCALE_MAX_CONCURRENCY,
      minProcesses: e.AUTOSCALE_MIN_PROCESSES,
      maxProcesses: e.AUTOSCALE_MAX_PROCESSES,
      targetWaitMs: e.AUTOSCALE_TARGET_WAIT_MS,
      intervalMs: e.AUTOSCALE_INTERVAL_MS,
      scaleDownWindowMs: e.AUTOSCALE_SCALE_DOWN_WINDOW_MS,
    },
    otel: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    logLevel: e.LOG_LEVEL,
  };
}
