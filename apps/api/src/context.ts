import type { JobMetrics } from "@queueflow/app-kit";
import type { DeadLetters } from "@queueflow/dlq";
import type { FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import type { EventHub } from "./events.js";
import type { HealthOptions } from "./health.js";
import type { Scope } from "./http/auth.js";
import type { JobBudget, RouteClass } from "./http/rate-limits.js";
import type { StreamSlots } from "./http/stream-slots.js";
import type { Queues, Throughput } from "./queues.js";

/** What the routes share: built once in `createApi`, handed to each route plugin. */
export interface ApiContext {
  queues: Queues;
  throughput: Throughput;
  metrics: JobMetrics;
  events: EventHub;
  healthOptions: HealthOptions;
  /**
   * The `onRequest` hooks of an /api route: its class's rate limit (first, so guessing keys
   * is limited too), then the key check for `scope`. The class defaults to the scope's:
   * read, submit, or manage for admin.
   */
  guard: (scope: Scope, routeClass?: RouteClass) => onRequestAsyncHookHandler[];
  /** Who a request counts against in rate limits and stream caps. */
  requesterOf: (request: FastifyRequest) => string;
  /** Jobs per key per window, charged by submit. */
  jobBudget: JobBudget;
  streams: StreamSlots;
  /** Dead-letter operations over the catalog's queues. */
  deadLetters: DeadLetters;
  /** Largest JSON merge patch a replay accepts, in JSON bytes. */
  patchMaxBytes: number;
}
