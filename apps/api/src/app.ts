import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import {
  createJobMetrics,
  type JobMetrics,
  type Logger,
  QUEUE_NAMES,
  registerQueueGauges,
} from "@queueflow/app-kit";
import type { Middleware, StorageAdapter } from "@queueflow/core";
import { DeadLetters } from "@queueflow/dlq";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { ApiConfig } from "./config.js";
import type { ApiContext } from "./context.js";
import {
  DeadLetterGrowth,
  registerDeadLetterGauges,
  startDeadLetterAlerts,
} from "./dead-letters.js";
import { EventHub } from "./events.js";
import type { LocalWorker } from "./health.js";
import { KeyRing, presentedKey, requireScope, type Scope } from "./http/auth.js";
import { answerClientError, answerFrameworkError, installErrorHandlers } from "./http/errors.js";
import { installJsonBody } from "./http/json-body.js";
import { JobBudget, type RouteClass, requestLimiters } from "./http/rate-limits.js";
import { requestLogView } from "./http/request-log.js";
import { docsCsp, installSecurityHeaders, noStore } from "./http/security-headers.js";
import { StreamSlots } from "./http/stream-slots.js";
import { Queues, Throughput } from "./queues.js";
import { deadLetterRoutes } from "./routes/dead-letters.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { jobTypeRoutes } from "./routes/job-types.js";
import { jobRoutes } from "./routes/jobs.js";
import { queueRoutes } from "./routes/queues.js";
import { scheduleRoutes } from "./routes/schedules.js";
import { submitRoutes } from "./routes/submit.js";

export interface ApiDeps {
  config: ApiConfig;
  /** An open store; the caller owns it (closes it after the API). */
  adapter: StorageAdapter;
  logger: Logger;
  /** Shared with a worker in the same process so one scrape shows both. */
  metrics?: JobMetrics;
  /** Extra Queue middleware (tracing). */
  middleware?: Middleware[];
  /** Workers running in this process, for /health. */
  localWorkers?: () => LocalWorker[];
}

export interface Api {
  app: FastifyInstance;
  events: EventHub;
  metrics: JobMetrics;
  queues: Queues;
  deadLetters: DeadLetters;
}

// Node checks request and header timeouts on this interval (30 s by default), so a timeout
// shorter than it would be enforced late; a quarter of the timeout keeps the overshoot small.
function timeoutCheckIntervalMs(requestTimeoutMs: number): number {
  return Math.min(5_000, Math.max(50, Math.floor(requestTimeoutMs / 4)));
}

/** Build the API (not listening yet): routes, docs, auth, limits, errors. */
export async function createApi(deps: ApiDeps): Promise<Api> {
  const { config, adapter } = deps;
  const { requestMs, connectionMs } = config.timeouts;
  const app = Fastify({
    loggerInstance: deps.logger.child(
      {},
      { serializers: { req: requestLogView } },
    ) as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    // Reject rather than strip: a body carrying __proto__ or constructor.prototype is hostile.
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Fastify sets no timeouts by default: a client sending its body a byte at a time, or
    // stalling after "{", would hold its socket for good.
    requestTimeout: requestMs,
    connectionTimeout: connectionMs,
    http: {
      headersTimeout: requestMs,
      requestTimeout: requestMs,
      connectionsCheckingInterval: timeoutCheckIntervalMs(requestMs),
    },
    // Live-event streams are long-lived; let close() end everything else promptly.
    forceCloseConnections: "idle",
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  installJsonBody(app);
  await installSecurityHeaders(app);

  const metrics = deps.metrics ?? createJobMetrics();
  registerQueueGauges(metrics, adapter, QUEUE_NAMES);
  const deadLetters = new DeadLetters({ adapter, queues: QUEUE_NAMES });
  registerDeadLetterGauges(metrics, deadLetters);
  const queues = new Queues(adapter, [metrics.middleware, ...(deps.middleware ?? [])]);
  const events = new EventHub(queues, config.eventsPollMs, deps.logger);
  const ring = new KeyRing(config.keys);
  // Per key, so one busy client cannot starve the others; the key's digest prefix, never the
  // key itself, names the bucket.
  const requesterOf = (request: FastifyRequest): string => {
    const key = presentedKey(request);
    const verified = key === undefined ? null : ring.verify(key);
    return verified ? `key:${verified.id}` : `ip:${request.ip}`;
  };
  await app.register(rateLimit, { global: false });
  const limiters = requestLimiters(app, config.rateLimit, requesterOf);
  const defaultClass: Record<Scope, RouteClass> = {
    read: "read",
    submit: "submit",
    admin: "manage",
  };
  const ctx: ApiContext = {
    queues,
    throughput: new Throughput(),
    metrics,
    events,
    healthOptions: {
      adapter,
      storeKind: config.store.kind,
      queues: QUEUE_NAMES,
      staleWaitMs: config.health.staleWaitMs,
      slowStoreMs: config.health.slowStoreMs,
      deadLetters: {
        dlq: deadLetters,
        growth: new DeadLetterGrowth(config.health.deadLetterWindowMs),
        growthMax: config.health.deadLetterGrowthMax,
      },
      ...(deps.localWorkers ? { localWorkers: deps.localWorkers } : {}),
    },
    guard: (scope, routeClass = defaultClass[scope]) => [
      limiters[routeClass],
      requireScope(ring, scope),
    ],
    requesterOf,
    jobBudget: new JobBudget(config.rateLimit.jobsMax, config.rateLimit.windowMs),
    streams: new StreamSlots(config.streams.max, config.streams.maxPerKey),
    deadLetters,
    patchMaxBytes: config.deadLetters.patchMaxBytes,
  };

  await app.register(swagger, {
    openapi: {
      info: {
        title: "QueueFlow API",
        version: "0.0.0",
        description:
          "Submit, inspect and manage QueueFlow jobs. Send your key in the x-api-key header or as Authorization: Bearer <key>: read keys may read, submit keys may also submit, admin keys may do everything.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", name: "x-api-key", in: "header" },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: true,
    transformStaticCSP: docsCsp,
  });

  await app.register(healthRoutes(ctx));
  await app.register(
    async (api) => {
      noStore(api);
      await api.register(jobTypeRoutes(ctx));
      await api.register(submitRoutes(ctx));
      await api.register(jobRoutes(ctx));
      await api.register(queueRoutes(ctx));
      await api.register(scheduleRoutes(ctx));
      await api.register(eventRoutes(ctx));
      await api.register(deadLetterRoutes(ctx));
    },
    { prefix: "/api" },
  );
  const stopAlerts = config.deadLetters.alerts
    ? startDeadLetterAlerts(deadLetters, config.deadLetters.alerts, deps.logger)
    : null;
  app.addHook("onClose", async () => {
    await stopAlerts?.();
    events.close();
  });
  return { app, events, metrics, queues, deadLetters };
}
