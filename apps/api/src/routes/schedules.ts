import { findJobType, type JobTypeName } from "@queueflow/app-kit";
import type { Json, ScheduleRecord } from "@queueflow/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { removedResponse, scheduleList, scheduleResponse } from "../http/responses.js";
import { BODY_ERRORS, queueParam, responses, SECURITY, scheduleParams } from "../http/schemas.js";

const when = z.union([
  z.strictObject({
    // Five or six fields of digits and cron punctuation: nothing else reaches the parser.
    cron: z
      .string()
      .regex(/^[0-9A-Za-z*,/?LW#-]+( [0-9A-Za-z*,/?LW#-]+){4,5}$/, "not a cron expression"),
    timezone: z
      .string()
      .regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/, "not an IANA time zone")
      .optional(),
  }),
  z.strictObject({
    everyMs: z
      .number()
      .int()
      .min(1_000)
      .max(366 * 86_400_000),
  }),
  z.strictObject({ at: z.iso.datetime({ offset: true }) }),
]);

const scheduleBody = z.strictObject({
  when,
  job: z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, "not a job type name"),
    payload: z.unknown(),
  }),
});

function scheduleView(s: ScheduleRecord) {
  return {
    id: s.id,
    queue: s.queue,
    spec: s.spec,
    job: { name: s.job.name, payload: s.job.payload, priority: s.job.priority },
    nextRunAt: s.nextRunAt === null ? null : new Date(s.nextRunAt).toISOString(),
  };
}

const ERRORS = [400, 401, 403, 404, 422];

/** Cron, interval and one-off schedules; workers fire them, each run once. */
export const scheduleRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      "/queues/:queue/schedules",
      {
        onRequest: ctx.guard("read"),
        schema: {
          tags: ["schedules"],
          summary: "List a queue's schedules",
          security: SECURITY,
          params: queueParam,
          response: responses(scheduleList, ...ERRORS),
        },
      },
      async (request) => ({
        schedules: (await ctx.queues.get(request.params.queue).listSchedules()).map(scheduleView),
      }),
    );

    app.put(
      "/queues/:queue/schedules/:id",
      {
        onRequest: ctx.guard("admin"),
        schema: {
          tags: ["schedules"],
          summary: "Create or replace a schedule",
          description:
            "Re-declaring an unchanged schedule keeps its next run; the payload is validated like a submit.",
          security: SECURITY,
          params: scheduleParams,
          body: scheduleBody,
          response: responses(scheduleResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request, reply) => {
        const { queue: queueName, id } = request.params;
        const queue = ctx.queues.get(queueName);
        const { when: w, job } = request.body;
        const type = findJobType(job.name);
        if (!type || type.queue !== queue.name) {
          throw new ApiError(
            400,
            "UNKNOWN_JOB_TYPE",
            `Queue "${queue.name}" runs no job type "${job.name}".`,
          );
        }
        const spec =
          "cron" in w
            ? { cron: w.cron, ...(w.timezone ? { timezone: w.timezone } : {}) }
            : "everyMs" in w
              ? { everyMs: w.everyMs }
              : { at: new Date(w.at) };
        const record = await queue.schedule(id, spec, {
          name: job.name as JobTypeName,
          payload: job.payload as Json,
          options: type.defaults,
        });
        void reply.code(201);
        return { schedule: scheduleView(record) };
      },
    );

    app.delete(
      "/queues/:queue/schedules/:id",
      {
        onRequest: ctx.guard("admin"),
        schema: {
          tags: ["schedules"],
          summary: "Delete a schedule",
          security: SECURITY,
          params: scheduleParams,
          response: responses(removedResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        if (!(await ctx.queues.get(queue).unschedule(id))) {
          throw new ApiError(404, "SCHEDULE_NOT_FOUND", `No schedule "${id}" in "${queue}".`);
        }
        return { id, removed: true };
      },
    );
  };
