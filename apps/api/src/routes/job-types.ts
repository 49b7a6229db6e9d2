import { JOB_TYPES } from "@queueflow/app-kit";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { jobTypeList } from "../http/responses.js";
import { responses, SECURITY } from "../http/schemas.js";

// Computed once: the catalog does not change while the process runs.
const catalog = JOB_TYPES.map((t) => ({
  name: t.name,
  queue: t.queue,
  description: t.description,
  // Plain JSON data; typed as records for the response schema.
  defaults: t.defaults as Record<string, unknown>,
  payloadSchema: z.toJSONSchema(t.payload, { io: "input" }) as Record<string, unknown>,
}));

/** The job catalog with each payload's JSON Schema, so clients can validate before sending. */
export const jobTypeRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      "/job-types",
      {
        onRequest: ctx.guard("read"),
        schema: {
          tags: ["jobs"],
          summary: "The job types, their queues, defaults and payload JSON Schemas",
          security: SECURITY,
          response: responses(jobTypeList),
        },
      },
      async () => ({ jobTypes: catalog }),
    );
  };
