import { z } from "zod";
import { defineJobType } from "./job-type.js";

/**
 * Housekeeping: delete old temporary files (the worker's temp and export directories) and old
 * finished jobs of every catalog queue (retention), in bounded batches.
 */
export const cleanupRun = defineJobType({
  name: "cleanup.run",
  queue: "maintenance",
  description: "Delete temporary files and finished jobs older than a given age.",
  payload: z.strictObject({
    targets: z
      .array(z.enum(["temp-files", "exports", "jobs"]))
      .min(1)
      .max(3)
      .default(["temp-files", "jobs"]),
    olderThanMs: z
      .number()
      .int()
      .min(60_000)
      .max(365 * 24 * 3_600_000)
      .default(7 * 24 * 3_600_000),
  }),
  defaults: { priority: "background", attempts: 1, timeoutMs: 10 * 60_000 },
});

export type CleanupRunResult = { files: number; jobs: number };
