import type { DeadLetterFilter, JsonObject } from "@queueflow/dlq";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiContext } from "../context.js";
import { replayView, statsView, validatedPatch } from "../dead-letters.js";
import { ApiError } from "../http/errors.js";
import { deadLetterView } from "../http/job-view.js";
import {
  deadLetterPage,
  deadLetterResponse,
  deadLetterStats,
  purgeResponse,
  replayResponse,
} from "../http/responses.js";
import { BODY_ERRORS, jobParams, queueList, responses, SECURITY } from "../http/schemas.js";

// Every filter field is a typed value held to a small alphabet, so nothing shaped like a
// store operator ({"$ne": …}, `[$gt]=` in a query) or a query fragment reaches a store.
const queueName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "not a queue name");
const jobName = z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, "not a job type name");
const errorClass = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "not an error class");
const errorName = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "not an error name");
/** `nextCursor` of a previous answer: base64url, produced by @queueflow/dlq. */
const cursor = z.string().regex(/^[A-Za-z0-9_-]{1,2048}$/, "not a dead-letter cursor");
/** The largest time a Date can hold, in ms. */
const MAX_TIME_MS = 8_640_000_000_000_000;

/** A store time in a body: ms since the epoch, or an ISO 8601 date-time with an offset. */
const bodyTime = z.union([
  z.number().int().min(0).max(MAX_TIME_MS),
  z.iso.datetime({ offset: true }).transform((v) => Date.parse(v)),
]);
/**
 * The same in a query string: digits, or an ISO 8601 date-time with an offset. One transform
 * over a union of plain strings: a union of transforms has no input schema to document, and
 * came out of the OpenAPI document as an empty `anyOf`.
 */
const queryTime = z
  .union([z.string().regex(/^\d{1,16}$/, "ms since the epoch"), z.iso.datetime({ offset: true })])
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));
const bodyCount = z.number().int().min(0).max(1_000);
const queryCount = z
  .string()
  .regex(/^\d{1,4}$/, "a whole number")
  .transform(Number)
  .pipe(z.number().max(1_000));

const filterFields = {
  name: jobName.optional(),
  errorClass: errorClass.optional(),
  errorName: errorName.optional(),
};

const listQuery = z.strictObject({
  queue: queueList.optional(),
  ...filterFields,
  failedAfter: queryTime.optional(),
  failedBefore: queryTime.optional(),
  minAttempts: queryCount.optional(),
  maxAttempts: queryCount.optional(),
  cursor: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(50),
});

const filterBody = z.strictObject({
  queue: z.union([queueName, z.array(queueName).min(1).max(16)]).optional(),
  ...filterFields,
  failedAfter: bodyTime.optional(),
  failedBefore: bodyTime.optional(),
  minAttempts: bodyCount.optional(),
  maxAttempts: bodyCount.optional(),
});
type FilterInput = z.output<typeof filterBody>;

const asOf = z.number().int().min(0).max(MAX_TIME_MS);

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const PATCH_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX_PATCH_DEPTH = 16;

/**
 * What is wrong with a merge patch, or null. Depth first (so no later walk can overflow the
 * stack), then keys at every level (a payload field name, never `__proto__`, `$where` or a
 * dotted path), then its size.
 */
export function patchProblem(patch: unknown, maxBytes: number): string | null {
  const walk = (value: unknown, path: string, depth: number): string | null => {
    if (depth > MAX_PATCH_DEPTH) return `${path} is nested deeper than ${MAX_PATCH_DEPTH} levels`;
    if (typeof value !== "object" || value === null) return null;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = walk(value[i], `${path}[${i}]`, depth + 1);
        if (bad) return bad;
      }
      return null;
    }
    for (const [key, v] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) return `${path} must not contain the key ${key}`;
      if (!PATCH_KEY.test(key)) {
        return `${path} has the key ${JSON.stringify(key.slice(0, 70))}: keys are payload field names (A-Z a-z 0-9 _ -, a letter or _ first)`;
      }
      const bad = walk(v, `${path}.${key}`, depth + 1);
      if (bad) return bad;
    }
    return null;
  };
  const bad = walk(patch, "patch", 0);
  if (bad) return bad;
  const bytes = Buffer.byteLength(JSON.stringify(patch));
  return bytes > maxBytes ? `patch is ${bytes} bytes of JSON, over ${maxBytes}` : null;
}

const ERRORS = [400, 401, 403, 404, 413, 422];

/**
 * Dead letters across the catalog's queues, through @queueflow/dlq: list with typed filters
 * and cross-queue cursors, stats from the store's counters, idempotent replay (bounded by
 * `asOf`) with a JSON merge patch checked against the job type, and purge by filter.
 */
export const deadLetterRoutes =
  (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    const read = ctx.guard("read");
    const admin = ctx.guard("admin");
    const bulk = ctx.guard("admin", "bulk");
    const dlq = ctx.deadLetters;

    const patch = z
      .record(z.string(), z.unknown())
      .superRefine((value, refine) => {
        const problem = patchProblem(value, ctx.patchMaxBytes);
        if (problem) refine.addIssue({ code: "custom", message: problem });
      })
      .transform((value) => value as JsonObject);

    /** A checked filter as DeadLetters takes it; a queue outside the catalog is a 404. */
    function toFilter(input: FilterInput): DeadLetterFilter {
      const { queue, ...rest } = input;
      const queues = queue === undefined ? undefined : typeof queue === "string" ? [queue] : queue;
      for (const q of queues ?? []) ctx.queues.get(q);
      return { ...rest, ...(queues ? { queue: queues } : {}) };
    }

    app.get(
      "/dead-letters",
      {
        onRequest: read,
        schema: {
          tags: ["dead letters"],
          summary: "List dead jobs with their error history, a page at a time",
          description:
            "Queue by queue in catalog order, oldest death first. Filters: queue (comma-separated), name, errorClass and errorName (of the latest error), failedAfter (inclusive) and failedBefore (exclusive) as ms since the epoch or ISO 8601, minAttempts/maxAttempts. nextCursor is only valid with the same filters.",
          security: SECURITY,
          querystring: listQuery,
          response: responses(deadLetterPage, ...ERRORS),
        },
      },
      async (request) => {
        const { queue, cursor, limit, ...rest } = request.query;
        const filter = toFilter({
          ...rest,
          ...(queue === undefined ? {} : { queue: queue.split(",") }),
        });
        const page = await dlq.list({ filter, cursor: cursor ?? null, limit });
        return { jobs: page.jobs.map(deadLetterView), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/dead-letters/stats",
      {
        onRequest: read,
        schema: {
          tags: ["dead letters"],
          summary: "Dead-letter totals by queue, job type, error class and error name, and ages",
          description: "Computed by the store from its counters: no dead job is read.",
          security: SECURITY,
          response: responses(deadLetterStats, ...ERRORS),
        },
      },
      async () => statsView(await dlq.stats()),
    );

    app.get(
      "/dead-letters/:queue/:id",
      {
        onRequest: read,
        schema: {
          tags: ["dead letters"],
          summary: "One dead job with its error history",
          security: SECURITY,
          params: jobParams,
          response: responses(deadLetterResponse, ...ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        ctx.queues.get(queue);
        const job = await dlq.get(queue, id);
        if (!job) {
          throw new ApiError(
            404,
            "DEAD_LETTER_NOT_FOUND",
            `Job ${id} of "${queue}" is not a dead letter (it does not exist or is not dead).`,
          );
        }
        return { job: deadLetterView(job) };
      },
    );

    app.post(
      "/dead-letters/replay",
      {
        onRequest: bulk,
        schema: {
          tags: ["dead letters"],
          summary: "Replay the dead jobs matching a filter, optionally with a JSON merge patch",
          description:
            "filter is required ({} matches every dead job). Only jobs that died at or before asOf (a store time in ms; default: now) are replayed, and the answer says which asOf it used: send the same request again with that asOf (an HTTP retry) and nothing is replayed twice. The patch (RFC 7396) is merged into each payload, which must then pass its job type's schema, or the job stays dead and is listed under failed. At most maxJobs jobs are looked at; continue with nextCursor and the same filter and asOf.",
          security: SECURITY,
          body: z.strictObject({
            filter: filterBody,
            patch: patch.optional(),
            asOf: asOf.optional(),
            maxAttempts: z.number().int().min(1).max(25).optional(),
            maxJobs: z.number().int().min(1).max(10_000).default(1_000),
            cursor: cursor.optional(),
          }),
          response: responses(replayResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const body = request.body;
        const result = await dlq.replay({
          filter: toFilter(body.filter),
          maxJobs: body.maxJobs,
          ...(body.patch === undefined ? {} : { patch: validatedPatch(body.patch) }),
          ...(body.asOf === undefined ? {} : { asOf: body.asOf }),
          ...(body.maxAttempts === undefined ? {} : { maxAttempts: body.maxAttempts }),
          ...(body.cursor === undefined ? {} : { cursor: body.cursor }),
        });
        return replayView(result);
      },
    );

    app.post(
      "/dead-letters/:queue/:id/replay",
      {
        onRequest: admin,
        schema: {
          tags: ["dead letters"],
          summary: "Replay one dead job, optionally with a JSON merge patch",
          description:
            "Body optional. Idempotent with asOf as for the bulk replay: a job already replayed is reported under skipped (not_dead, or failed_after_as_of when it died again), not run again. A patched payload its job type's schema refuses is a 422 and the job stays dead.",
          security: SECURITY,
          params: jobParams,
          body: z
            .strictObject({
              patch: patch.optional(),
              asOf: asOf.optional(),
              maxAttempts: z.number().int().min(1).max(25).optional(),
            })
            .nullish(),
          response: responses(replayResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const { queue, id } = request.params;
        ctx.queues.get(queue);
        const body = request.body ?? {};
        const result = replayView(
          await dlq.replayJob(queue, id, {
            ...(body.patch === undefined ? {} : { patch: validatedPatch(body.patch) }),
            ...(body.asOf === undefined ? {} : { asOf: body.asOf }),
            ...(body.maxAttempts === undefined ? {} : { maxAttempts: body.maxAttempts }),
          }),
        );
        if (result.skipped[0]?.reason === "not_found") {
          throw new ApiError(404, "QF_JOB_NOT_FOUND", `Job ${id} does not exist in "${queue}".`);
        }
        const failed = result.failed[0];
        if (failed) {
          throw new ApiError(
            failed.reason === "invalid_payload" ? 422 : 500,
            failed.reason === "invalid_payload" ? "QF_INVALID_PAYLOAD" : "INTERNAL",
            `Job ${id} stays dead: ${failed.message}`,
          );
        }
        return result;
      },
    );

    app.post(
      "/dead-letters/purge",
      {
        onRequest: bulk,
        schema: {
          tags: ["dead letters"],
          summary: "Delete the dead jobs matching a filter",
          description:
            "filter is required ({} matches every dead job). Deletes only jobs that died at or before asOf (default: now), at most maxJobs per call (stoppedBy says max_jobs when more are left). Safe to repeat.",
          security: SECURITY,
          body: z.strictObject({
            filter: filterBody,
            asOf: asOf.optional(),
            maxJobs: z.number().int().min(1).max(100_000).default(10_000),
          }),
          response: responses(purgeResponse, ...ERRORS, ...BODY_ERRORS),
        },
      },
      async (request) => {
        const body = request.body;
        return dlq.purge({
          filter: toFilter(body.filter),
          maxJobs: body.maxJobs,
          ...(body.asOf === undefined ? {} : { asOf: body.asOf }),
        });
      },
    );
  };
