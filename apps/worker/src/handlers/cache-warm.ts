import type { CacheWarmResult, HandlerContext, Logger } from "@queueflow/app-kit";
import { UnrecoverableError } from "@queueflow/core";

export interface CacheWarmOptions {
  /** The origin whose paths are requested; payloads give paths only. */
  origin: string | undefined;
  log: Logger;
}

/** Requests `cache.warm` jobs' paths from the configured origin, a few at a time. */
export function createCacheWarmHandler(o: CacheWarmOptions) {
  return async (job: HandlerContext<"cache.warm">): Promise<CacheWarmResult> => {
    if (!o.origin) throw new UnrecoverableError("CACHE_WARM_ORIGIN is not set on the worker");
    const origin = new URL(o.origin);
    const queue = [...job.payload.paths];
    let warmed = 0;
    let failed = 0;
    const next = async (): Promise<void> => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
        job.signal.throwIfAborted();
        const url = new URL(path, origin);
        // A path like //evil.example would resolve to another host.
        if (url.origin !== origin.origin) {
          failed++;
          continue;
        }
        try {
          const res = await fetch(url, { signal: job.signal, redirect: "manual" });
          await res.arrayBuffer();
          if (res.ok) warmed++;
          else failed++;
        } catch (err) {
          if (job.signal.aborted) throw err;
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: job.payload.concurrency }, next));
    o.log.info({ jobId: job.id, warmed, failed }, "cache warmed");
    if (warmed === 0 && failed > 0) throw new Error(`No path could be warmed (${failed} failed)`);
    return { warmed, failed };
  };
}
