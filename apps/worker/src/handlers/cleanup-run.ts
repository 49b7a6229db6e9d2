import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type CleanupRunResult, type HandlerContext, QUEUE_NAMES } from "@queueflow/app-kit";
import type { StorageAdapter } from "@queueflow/core";

export interface CleanupOptions {
  adapter: StorageAdapter;
  tempDir: string;
  exportsDir: string;
}

const BATCH = 1_000;
// Bounded so one run never holds the store for long; the next run goes on.
const MAX_ROUNDS = 100;

async function removeOldFiles(
  dir: string,
  olderThan: number,
  signal: AbortSignal,
): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0; // nothing was ever written there
  }
  let removed = 0;
  for (const name of names) {
    signal.throwIfAborted();
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info?.isFile() && info.mtimeMs < olderThan) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return removed;
}

/** Runs `cleanup.run` jobs: old temp files and exports, old finished jobs of every queue. */
export function createCleanupHandler(o: CleanupOptions) {
  return async (job: HandlerContext<"cleanup.run">): Promise<CleanupRunResult> => {
    const { targets, olderThanMs } = job.payload;
    let files = 0;
    let jobs = 0;
    if (targets.includes("temp-files"))
      files += await removeOldFiles(o.tempDir, Date.now() - olderThanMs, job.signal);
    if (targets.includes("exports"))
      files += await removeOldFiles(o.exportsDir, Date.now() - olderThanMs, job.signal);
    if (targets.includes("jobs")) {
      const finishedBefore = (await o.adapter.now()) - olderThanMs;
      for (const queue of QUEUE_NAMES) {
        for (const state of ["completed", "dead", "cancelled"] as const) {
          for (let round = 0; round < MAX_ROUNDS; round++) {
            job.signal.throwIfAborted();
            const removed = await o.adapter.clean({ queue, state, finishedBefore, limit: BATCH });
            jobs += removed;
            if (removed < BATCH) break;
          }
        }
      }
    }
    return { files, jobs };
  };
}
