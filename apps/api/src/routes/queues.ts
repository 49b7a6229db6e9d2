import { jobTypesOf, type QueueName } from "@queueflow/app-kit";
import type { Queue } from "@queueflow/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { cleanResponse, pausedResponse, queueList, queueSummary } from "../http/responses.js";
import { BODY_ERRORS, queueParam, responses, SECURITY } from "../http/schemas.js";

const ERRORS = [400, 401, 403, 404];

const cleanBody = z.strictObject({
  state: z.enum(["completed", "dead", "cancelled"]),
  olderThanMs: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86_400_000),
  limit: z.number().int().min(1).max(10_000).default(1_000),
});

/** Queue overview and queue-wide management. */
export const queueRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    const read = ctx.guard("read");
    const admin = ctx.guard("admin");

    async function summary(queue: Queue) {
      const [counts, paused] = await Promise.all([queue.counts(), queue.isPaused()]);
      return {
        name: queue.name,
        paused,
        counts,
        throughput: ctx.throughput.record(queue.name, counts),
        jobTypes: jobTypesOf(queue.name as QueueName).map((t) => t.name),
      };
    }

    app.get(
      "/queues",
      {
        onRequest: read,
        schema: {
          tags: ["queues"],
          summary: "Every queue with its counts per state and throughput",
          description:
            "throughput is completions per second over the last minute of reads, from the store's counts (every host's workers); null until two reads a second apart.",
          security: SECURITY,
          response: responses(queueList, ...ERRORS),
        },
      },
      async () => ({ queues: await Promise.all(ctx.queues.all().map(summary)) }),
    );

    app.get(
      "/queues/:queue",
      {
        onRequest: read,
        schema: {
          tags: ["queues"],
          summary: "One queue's counts per state and throughput",
          security: SECURITY,
          params: queueParam,
          response: responses(queueSummary, ...ERRORS),
        },
      },
      async (request) => summary(ctx.queues.get(request.params.queue)),
    );

    for (const action of ["pause", "resume"] as const) {
      app.post(
        `/queues/:queue/${action}`,
        {
          onRequest: admin,
          schema: {
            tags: ["queues"],
            summary:
              action === "pause"
                ? "Stop claims on every worker of the queue (adds still go through)"
                : "Let workers claim again",
            security: SECURITY,
            params: queueParam,
            response: responses(pausedResponse, ...ERRORS, ...BODY_ERRORS),
          },
        },
        async (request) => {
          const queue = ctx.queues.get(request.params.queue);
          await (action === "pause" ? queue.pause() : queue.resume());
          return { name: queue.name, paused: action === "pause" };
        },
      );
    }

    app.post(
      "/queues/:queue/clean",
      {
        onRequest: ctx.guard("admin", "bulk"),
        schema: {
          tags: ["queues"],
          summary: "Delete finished jobs older than an age, at most `limit` per call",
          security: SECURITY,
          params: queueParam,
          body: cleanBody,
          response: responses(cleanResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const removed = await ctx.queues.get(request.params.queue).clean(request.body);
        return { removed, more: removed === request.body.limit };
      },
    );
  };
