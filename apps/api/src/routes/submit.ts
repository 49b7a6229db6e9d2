import { findJobType, type JobTypeName } from "@queueflow/app-kit";
import type { BulkJob, JobOptions, Json } from "@queueflow/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { jobView } from "../http/job-view.js";
import { submitResponse } from "../http/responses.js";
import { BODY_ERRORS, queueParam, responses, SECURITY } from "../http/schemas.js";

// A caller-chosen id may not contain ":", which schedule firings' ids use: a client could
// otherwise take a future firing's id and make that firing a no-op.
const callerId = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "use 1-128 of A-Z a-z 0-9 _ . -");

// Workers read metadata as a plain object (`metadata.traceparent`): a key such as toString
// or hasOwnProperty would shadow the method it names.
const metadataKey = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/)
  .refine((key) => !(key in Object.prototype), "a metadata key may not name an Object method");

const jobOptions = z.strictObject({
  priority: z
    .union([
      z.number().int().min(0).max(20),
      z.enum(["critical", "high", "normal", "low", "background"]),
    ])
    .optional(),
  delayMs: z
    .number()
    .int()
    .min(0)
    .max(365 * 86_400_000)
    .optional(),
  runAt: z.iso.datetime({ offset: true }).optional(),
  attempts: z.number().int().min(1).max(25).optional(),
  backoff: z
    .strictObject({
      type: z.enum(["fixed", "exponential"]),
      delayMs: z.number().int().min(0).max(86_400_000),
      maxDelayMs: z
        .number()
        .int()
        .min(0)
        .max(7 * 86_400_000)
        .optional(),
    })
    .optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  dedupKey: callerId.optional(),
  jobId: callerId.optional(),
  metadata: z
    .record(metadataKey, z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, "at most 16 metadata entries")
    .optional(),
});

const jobInput = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, "not a job type name"),
  /** Checked against the job type's own schema (see GET /api/job-types). */
  payload: z.unknown(),
  options: jobOptions.optional(),
});

const submitBody = z.union([jobInput, z.strictObject({ jobs: z.array(jobInput).min(1).max(100) })]);

type JobInput = z.infer<typeof jobInput>;

/** Catalog defaults, then the caller's options; `runAt` arrives as an ISO string. */
function optionsOf(input: JobInput): JobOptions {
  const type = findJobType(input.name);
  const { runAt, ...rest } = input.options ?? {};
  return {
    ...type?.defaults,
    ...rest,
    ...(runAt === undefined ? {} : { runAt: Date.parse(runAt) }),
  };
}

/** POST /api/queues/:queue/jobs: one job, or a batch stored in one round trip. */
export const submitRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      "/queues/:queue/jobs",
      {
        onRequest: ctx.guard("submit"),
        schema: {
          tags: ["jobs"],
          summary: "Submit a job or a batch of up to 100",
          description:
            "The payload is validated against the job type's schema (GET /api/job-types) before anything is stored; a batch is stored all or nothing. Answers 201 when created, 200 when a jobId or dedupKey matched an existing job. Rate-limited per key in requests (RATE_LIMIT_MAX) and in jobs (RATE_LIMIT_JOBS_MAX: a batch of 100 counts 100, and one that does not fit is refused whole).",
          security: SECURITY,
          params: queueParam,
          body: submitBody,
          response: responses(submitResponse, 404, 422, ...BODY_ERRORS),
        },
      },
      async (request, reply) => {
        const queue = ctx.queues.get(request.params.queue);
        const body = request.body;
        const inputs = "jobs" in body ? body.jobs : [body];
        for (const input of inputs) {
          const type = findJobType(input.name);
          if (!type || type.queue !== queue.name) {
            throw new ApiError(
              400,
              "UNKNOWN_JOB_TYPE",
              `Queue "${queue.name}" runs no job type "${input.name}"; see GET /api/job-types.`,
            );
          }
        }
        await ctx.jobBudget.charge(ctx.requesterOf(request), inputs.length, reply);
        const results = await queue.addBulk(
          inputs.map(
            (input) =>
              ({
                name: input.name as JobTypeName,
                payload: input.payload as Json,
                options: optionsOf(input),
              }) as BulkJob<Record<string, { payload: Json; result: unknown }>>,
          ),
        );
        const anyCreated = results.some((r) => r.created);
        void reply.code(anyCreated ? 201 : 200);
        if ("jobs" in body) {
          return { jobs: results.map((r) => ({ created: r.created, job: jobView(r.job) })) };
        }
        const first = results[0]!;
        return { created: first.created, job: jobView(first.job) };
      },
    );
  };
