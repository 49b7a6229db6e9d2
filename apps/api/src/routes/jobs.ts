import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { jobView } from "../http/job-view.js";
import {
  cancelResponse,
  jobPage,
  jobResponse,
  promoteResponse,
  removedResponse,
  retryResponse,
} from "../http/responses.js";
import {
  BODY_ERRORS,
  jobParams,
  jobStates,
  queueParam,
  responses,
  SECURITY,
} from "../http/schemas.js";

const listQuery = z.strictObject({
  state: jobStates.default("waiting"),
  // Store cursors are short opaque tokens (base-36 positions today).
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_.=-]{1,256}$/, "not a cursor")
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_.-]{0,63}$/, "not a job type name")
    .optional(),
});

const ERRORS = [400, 401, 403, 404, 409];

/** Inspect and manage single jobs. */
export const jobRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    const read = ctx.guard("read");
    const admin = ctx.guard("admin");

    app.get(
      "/queues/:queue/jobs",
      {
        onRequest: read,
        schema: {
          tags: ["jobs"],
          summary: "List jobs in a state, oldest first, a page at a time",
          security: SECURITY,
          params: queueParam,
          querystring: listQuery,
          response: responses(jobPage, ...ERRORS),
        },
      },
      async (request) => {
        const { state, cursor, limit, name } = request.query;
        const page = await ctx.queues.get(request.params.queue).listJobs(state, {
          cursor: cursor ?? null,
          limit,
          ...(name === undefined ? {} : { name }),
        });
        return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/queues/:queue/jobs/:id",
      {
        onRequest: read,
        schema: {
          tags: ["jobs"],
          summary: "Get a job with its attempts and error history",
          security: SECURITY,
          params: jobParams,
          response: responses(jobResponse, ...ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        const job = await ctx.queues.get(queue).getJob(id);
        if (!job) throw notFound(queue, id);
        return { job: jobView(job) };
      },
    );

    app.post(
      "/queues/:queue/jobs/:id/retry",
      {
        onRequest: admin,
        schema: {
          tags: ["jobs"],
          summary: "Run a dead or cancelled job again",
          description:
            "No payload patch: a patched payload would skip the job type's validation, so fix the cause and resubmit instead.",
          security: SECURITY,
          params: jobParams,
          response: responses(retryResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        const q = ctx.queues.get(queue);
        const moved = await q.retry(id);
        if (moved.length === 0) {
          const job = await q.getJob(id);
          if (!job) throw notFound(queue, id);
          throw new ApiError(
            409,
            "QF_INVALID_STATE",
            `Job ${id} is ${job.state}; only dead or cancelled jobs can be retried.`,
          );
        }
        return { retried: true, job: jobView((await q.getJob(id))!) };
      },
    );

    app.post(
      "/queues/:queue/jobs/:id/cancel",
      {
        onRequest: admin,
        schema: {
          tags: ["jobs"],
          summary: "Cancel a job that has not finished",
          description:
            "A running job's handler sees its signal abort at the worker's next heartbeat.",
          security: SECURITY,
          params: jobParams,
          response: responses(cancelResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        const state = await ctx.queues.get(queue).cancel(id);
        return { id, state };
      },
    );

    app.post(
      "/queues/:queue/jobs/:id/promote",
      {
        onRequest: admin,
        schema: {
          tags: ["jobs"],
          summary: "Make a delayed job due now",
          security: SECURITY,
          params: jobParams,
          response: responses(promoteResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        const q = ctx.queues.get(queue);
        if (!(await q.promote(id))) {
          const job = await q.getJob(id);
          if (!job) throw notFound(queue, id);
          throw new ApiError(409, "QF_INVALID_STATE", `Job ${id} is ${job.state}, not delayed.`);
        }
        return { id, promoted: true };
      },
    );

    app.delete(
      "/queues/:queue/jobs/:id",
      {
        onRequest: admin,
        schema: {
          tags: ["jobs"],
          summary: "Remove a job that is not running",
          security: SECURITY,
          params: jobParams,
          response: responses(removedResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        if (!(await ctx.queues.get(queue).remove(id))) throw notFound(queue, id);
        return { id, removed: true };
      },
    );
  };

function notFound(queue: string, id: string): ApiError {
  return new ApiError(404, "QF_JOB_NOT_FOUND", `Job ${id} does not exist in "${queue}".`);
}
