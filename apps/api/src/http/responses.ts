import { z } from "zod";
import { jobStates } from "./schemas.js";

/**
 * Success bodies, for the OpenAPI document and for the serializer, which checks every answer
 * against them (fastify-type-provider-zod): an answer that drifted from its schema is a 500 in
 * the tests, not a silently wrong document. The API's own views are strict objects, so a field
 * added to a view without its schema fails loudly. Bodies passed through from @queueflow/dlq
 * are plain objects: a field the package adds later is left out of the answer (as any
 * response schema does in Fastify) until it is described here.
 */

const isoTime = z.iso.datetime().describe("ISO 8601, UTC");

export const attemptErrorView = z.strictObject({
  attempt: z.number().int(),
  name: z.string(),
  message: z.string(),
  errorClass: z.string().nullable(),
  at: isoTime.nullable(),
});

/** A job as the API shows it: no lease token, no error stacks, ISO times. */
export const jobViewSchema = z.strictObject({
  id: z.string(),
  queue: z.string(),
  name: z.string(),
  state: jobStates,
  priority: z.number().int(),
  payload: z.unknown().describe("the payload, as the job type's schema accepted it"),
  result: z.unknown().describe("what the handler returned; null until completed"),
  progress: z.unknown(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  stalls: z.number().int(),
  errors: z.array(attemptErrorView),
  metadata: z.record(z.string(), z.unknown()),
  dedupKey: z.string().nullable(),
  timeoutMs: z.number().nullable(),
  workerId: z.string().nullable(),
  createdAt: isoTime.nullable(),
  runAt: isoTime.nullable(),
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
});

export const deadLetterViewSchema = jobViewSchema.extend({
  errorClass: z.string().describe("the class of the latest error; unknown when it has none"),
});

/** One submitted job: `created` false when a jobId or dedupKey matched an existing job. */
const submitted = z.strictObject({ created: z.boolean(), job: jobViewSchema });
export const submitResponse = z.union([submitted, z.strictObject({ jobs: z.array(submitted) })]);

export const jobPage = z.strictObject({
  jobs: z.array(jobViewSchema),
  nextCursor: z.string().nullable(),
});
export const jobResponse = z.strictObject({ job: jobViewSchema });
export const retryResponse = z.strictObject({ retried: z.boolean(), job: jobViewSchema });
export const cancelResponse = z.strictObject({ id: z.string(), state: jobStates });
export const promoteResponse = z.strictObject({ id: z.string(), promoted: z.boolean() });
export const removedResponse = z.strictObject({ id: z.string(), removed: z.boolean() });

const counts = z.object({
  waiting: z.number().int(),
  delayed: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  dead: z.number().int(),
  cancelled: z.number().int(),
});

export const queueSummary = z.strictObject({
  name: z.string(),
  paused: z.boolean(),
  counts,
  throughput: z
    .strictObject({
      completedPerSec: z.number(),
      finishedPerSec: z.number(),
      windowSec: z.number(),
    })
    .nullable()
    .describe("completions per second over the last minute of reads; null until two reads"),
  jobTypes: z.array(z.string()),
});
export const queueList = z.strictObject({ queues: z.array(queueSummary) });
export const pausedResponse = z.strictObject({ name: z.string(), paused: z.boolean() });
export const cleanResponse = z.strictObject({ removed: z.number().int(), more: z.boolean() });

const scheduleSpec = z.union([
  z.strictObject({ kind: z.literal("cron"), expression: z.string(), timezone: z.string() }),
  z.strictObject({ kind: z.literal("every"), intervalMs: z.number() }),
  z.strictObject({ kind: z.literal("once"), at: z.number() }),
]);
export const scheduleViewSchema = z.strictObject({
  id: z.string(),
  queue: z.string(),
  spec: scheduleSpec,
  job: z.strictObject({ name: z.string(), payload: z.unknown(), priority: z.number() }),
  nextRunAt: isoTime.nullable(),
});
export const scheduleList = z.strictObject({ schedules: z.array(scheduleViewSchema) });
export const scheduleResponse = z.strictObject({ schedule: scheduleViewSchema });

export const jobTypeList = z.strictObject({
  jobTypes: z.array(
    z.strictObject({
      name: z.string(),
      queue: z.string(),
      description: z.string(),
      defaults: z.record(z.string(), z.unknown()),
      payloadSchema: z.record(z.string(), z.unknown()).describe("JSON Schema of the payload"),
    }),
  ),
});

/** GET /api/events answers a stream, not JSON. */
export const eventStream = {
  description: "Server-Sent Events: `event: <type>` and `data: { type, queue, jobId?, at, data }`",
  content: { "text/event-stream": { schema: z.string() } },
};

export const deadLetterPage = z.strictObject({
  jobs: z.array(deadLetterViewSchema),
  nextCursor: z.string().nullable(),
});
export const deadLetterResponse = z.strictObject({ job: deadLetterViewSchema });

const tally = z.record(z.string(), z.number());
const dlqQueueStats = z.object({
  total: z.number(),
  byName: tally,
  byErrorClass: tally,
  byErrorName: tally,
  oldestFailedAt: isoTime.nullable(),
  newestFailedAt: isoTime.nullable(),
});
export const deadLetterStats = z.object({
  at: isoTime.nullable(),
  total: z.number(),
  byQueue: tally,
  byName: tally,
  byErrorClass: tally,
  byErrorName: tally,
  oldestFailedAt: isoTime.nullable(),
  newestFailedAt: isoTime.nullable(),
  byAge: z.array(
    z.object({
      maxAgeMs: z.number().nullable().describe("dead for less than this; null: the last bucket"),
      count: z.number(),
    }),
  ),
  queues: z.record(z.string(), dlqQueueStats),
});

const jobRef = { queue: z.string(), id: z.string() };
export const replayResponse = z.object({
  asOf: z.number().describe("the store time the replay was bounded by: send it again to retry"),
  counts: z.object({ replayed: z.number(), skipped: z.number(), failed: z.number() }),
  replayed: z.array(z.object(jobRef)),
  skipped: z.array(z.object({ ...jobRef, reason: z.string() })),
  failed: z.array(z.object({ ...jobRef, reason: z.string(), message: z.string() })),
  stoppedBy: z.enum(["done", "max_jobs", "aborted"]),
  nextCursor: z.string().nullable(),
});
export const purgeResponse = z.object({
  asOf: z.number(),
  deleted: z.number(),
  byQueue: tally,
  stoppedBy: z.enum(["done", "max_jobs", "aborted"]),
});
