import type { RateLimitOptions } from "@fastify/rate-limit";
import type { JobMetrics } from "@queueflow/app-kit";
import type { DeadLetters } from "@queueflow/dlq";
import type { onRequestAsyncHookHandler } from "fastify";
import type { EventHub } from "./events.js";
import type { HealthOptions } from "./health.js";
import type { Scope } from "./http/auth.js";
import type { Queues, Throughput } from "./queues.js";

/** What the routes share: built once in `createApi`, handed to each route plugin. */
export interface ApiContext {
  queues: Queues;
  throughput: Throughput;
  metrics: JobMetrics;
  events: EventHub;
  healthOptions: HealthOptions;
  auth: (scope: Scope) => onRequestAsyncHookHandler;
  submitRateLimit: RateLimitOptions;
  /** Dead-letter operations over the catalog's queues. */
  deadLetters: DeadLetters;
  /** Largest JSON merge patch a replay accepts, in JSON bytes. */
  patchMaxBytes: number;
}
