import { QUEUE_NAMES } from "@queueflow/app-kit";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { ApiError } from "../http/errors.js";
import { eventStream } from "../http/responses.js";
import { jobIdPattern, queueList, responses, SECURITY } from "../http/schemas.js";

const HEARTBEAT_MS = 15_000;

const query = z.strictObject({
  queue: queueList.optional(),
  job: z
    .string()
    .max(2_600)
    .refine(
      (v) => v.split(",").length <= 20 && v.split(",").every((id) => jobIdPattern.test(id)),
      "up to 20 comma-separated job ids",
    )
    .optional(),
});

/** GET /api/events: Server-Sent Events of job and queue changes, filtered by queue. */
export const eventRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    const open = new Set<() => void>();
    // Streams never go idle, so the server could not close while one is open: end them first.
    app.addHook("preClose", async () => {
      for (const end of [...open]) end();
    });

    app.get(
      "/events",
      {
        onRequest: ctx.guard("read"),
        schema: {
          tags: ["events"],
          summary: "Live job and queue events (text/event-stream)",
          description:
            "Events: job:added, queue:paused, queue:resumed and, for workers in this process, job:active, job:progress, job:completed, job:failed, job:retrying, job:dead; from the store every EVENTS_POLL_MS (so changes made by any process show): queue:counts for each watched queue and job:state for each job named in `job` (which needs exactly one `queue`). Each event's data is JSON: { type, queue, jobId?, at, data }. At most EVENTS_MAX_STREAMS_PER_KEY streams per key and EVENTS_MAX_STREAMS in all are open at once (429 TOO_MANY_STREAMS past either).",
          security: SECURITY,
          querystring: query,
          response: responses(eventStream, 404),
        },
      },
      async (request, reply) => {
        const queues = request.query.queue?.split(",") ?? null;
        for (const q of queues ?? []) ctx.queues.get(q);
        const ids = request.query.job?.split(",");
        if (ids && queues?.length !== 1) {
          throw new ApiError(400, "VALIDATION_FAILED", "`job` needs exactly one `queue`.");
        }
        const release = ctx.streams.take(ctx.requesterOf(request));
        reply.hijack();
        const res = reply.raw;
        // Hijacked: only headers already on the raw response (helmet's) go out with these.
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store, no-transform",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        let seq = 0;
        const write = (chunk: string) => {
          if (!res.writableEnded) res.write(chunk);
        };
        write(`retry: 2000\n: watching ${(queues ?? QUEUE_NAMES).join(",")}\n\n`);
        const unsubscribe = ctx.events.subscribe(
          {
            queues: queues ? new Set(queues) : null,
            jobs: ids && queues ? { queue: queues[0]!, ids: new Set(ids) } : null,
          },
          (event) =>
            write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
        );
        const heartbeat = setInterval(() => write(": ping\n\n"), HEARTBEAT_MS);
        const end = () => {
          clearInterval(heartbeat);
          unsubscribe();
          release();
          open.delete(end);
          if (!res.writableEnded) res.end();
        };
        open.add(end);
        request.raw.on("close", end);
      },
    );
  };
