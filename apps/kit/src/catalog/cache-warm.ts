import { z } from "zod";
import { defineJobType } from "./job-type.js";

/**
 * Warm a cache by requesting paths of the configured origin (CACHE_WARM_ORIGIN), so the
 * first real visitor after a deploy or a purge gets a cached page. Paths only, never hosts.
 */
export const cacheWarm = defineJobType({
  name: "cache.warm",
  queue: "maintenance",
  description: "GET each path of the configured origin so its cache is warm.",
  payload: z.strictObject({
    paths: z
      .array(z.string().regex(/^\/[A-Za-z0-9_~!$&'()*+,;=:@%/.?-]{0,511}$/))
      .min(1)
      .max(500),
    concurrency: z.number().int().min(1).max(16).default(4),
  }),
  defaults: { priority: "low", attempts: 2, timeoutMs: 5 * 60_000 },
});

export type CacheWarmResult = { warmed: number; failed: number };
