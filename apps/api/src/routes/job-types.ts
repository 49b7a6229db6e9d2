import { JOB_TYPES } from "@queueflow/app-kit";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";

// Computed once: the catalog does not change while the process runs.
const catalog = JOB_TYPES.map((t) => ({
  name: t.name,
  queue: t.queue,
  description: t.description,
  defaults: t.defaults,
  payloadSchema: z.toJSONSchema(t.payload, { io: "input" }),
}));

/** The job catalog with each payload's JSON Schema, so clients can validate before sending. */
export const jobTypeRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      "/job-types",
      {
        onRequest: ctx.auth("read"),
        schema: {
          tags: ["jobs"],
          summary: "The job types, their queues, defaults and payload JSON Schemas",
          security: [{ apiKey: [] }],
        },
      },
      async () => ({ jobTypes: catalog }),
    );
  };
