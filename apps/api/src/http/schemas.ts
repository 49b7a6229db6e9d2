import { z } from "zod";

/**
 * Path and query pieces shared by the routes. Names and ids are held to small alphabets
 * before they reach a store: nothing with quotes, braces, `$`, spaces or slashes gets in.
 */
export const queueParam = z.strictObject({
  queue: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "not a queue name"),
});

/** A query's `queue`: up to 16 queue names, comma-separated. */
export const queueList = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]{1,64}(,[A-Za-z0-9_.-]{1,64}){0,15}$/,
    "a comma-separated list of queue names",
  );

/**
 * Job ids as the store knows them. Colons are allowed here because schedule firings have ids
 * like `sched:nightly:1767225600000`; an id the caller picks at submit may not contain one.
 */
export const jobIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;
export const jobParams = queueParam.extend({
  id: z.string().regex(jobIdPattern, "not a job id"),
});

export const scheduleParams = queueParam.extend({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "not a schedule id"),
});

export const jobStates = z.enum(["waiting", "delayed", "active", "completed", "dead", "cancelled"]);

/** The shape of every error response (documented once, used by every route). */
export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

/** Every /api route takes a key in either header; the document declares both. */
export const SECURITY: { [scheme: string]: string[] }[] = [{ apiKey: [] }, { bearer: [] }];

/**
 * Errors any /api route can answer: a bad path or query (400, from the router too), no key or
 * a bad one (401), too small a scope (403), its rate limit (429).
 */
const COMMON_ERRORS = [400, 401, 403, 429];

/** Errors of a route that reads a body, whether it declares one or not: too large, not JSON. */
export const BODY_ERRORS = [413, 415];

/**
 * Response schemas of a route: its success body under `2xx` (a zod schema, or a non-JSON
 * `content` description such as the event stream's), and the common and listed error statuses
 * as an {@link errorBody}. They feed the OpenAPI document, and the serializer checks every
 * answer against them.
 */
export function responses<S extends z.ZodType | { description: string; content: object }>(
  success: S,
  ...statuses: number[]
) {
  return {
    "2xx": success,
    ...Object.fromEntries([...COMMON_ERRORS, ...statuses].map((s) => [s, errorBody])),
  } as Record<"2xx", S> & Record<number, typeof errorBody>;
}
