import { z } from "zod";
import { defineJobType } from "./job-type.js";

/**
 * A CSV export of a user's records, streamed to a file in the worker's export directory. The
 * file name is the job id: a path from the payload could escape the directory.
 */
export const dataExport = defineJobType({
  name: "data.export",
  queue: "exports",
  description: "Stream a user's records to a CSV file, reporting progress.",
  payload: z.strictObject({
    userId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    /** How many records to export (the sample's data source generates them). */
    rows: z.number().int().min(1).max(5_000_000).default(1_000),
    columns: z
      .array(z.enum(["id", "userId", "createdAt", "amount", "currency", "status"]))
      .min(1)
      .max(6)
      .default(["id", "createdAt", "amount", "currency", "status"]),
  }),
  defaults: { priority: "normal", attempts: 2, timeoutMs: 10 * 60_000 },
});

export type DataExportResult = { file: string; rows: number; bytes: number };
