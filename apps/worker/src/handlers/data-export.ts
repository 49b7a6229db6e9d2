import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DataExportResult, HandlerContext, Jobs } from "@queueflow/app-kit";

export interface ExportOptions {
  exportsDir: string;
  tempDir: string;
  /** Least time between two progress writes (each is a store round trip). */
  progressEveryMs?: number;
}

type Column = Jobs["data.export"]["payload"]["columns"][number];

/**
 * The sample's data source: deterministic records per user, generated as they are read, so an
 * export of millions of rows holds one row in memory at a time.
 */
function* records(userId: string, rows: number, columns: Column[]): Generator<string> {
  const epoch = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    const values: Record<Column, string> = {
      id: `${userId}-${i + 1}`,
      userId,
      createdAt: new Date(epoch + i * 60_000).toISOString(),
      amount: (((i * 7919) % 100_000) / 100).toFixed(2),
      currency: i % 3 === 0 ? "EUR" : "USD",
      status: i % 17 === 0 ? "refunded" : "paid",
    };
    yield `${columns.map((c) => values[c]).join(",")}\n`;
  }
}

/**
 * Streams `data.export` jobs to `<exportsDir>/<job id>.csv`. It writes to a temporary file and
 * renames it when done, so a reader never sees half an export, and an aborted run leaves only
 * a temp file for cleanup.run to remove.
 */
export function createExportHandler(o: ExportOptions) {
  const progressEveryMs = o.progressEveryMs ?? 500;
  return async (job: HandlerContext<"data.export">): Promise<DataExportResult> => {
    const { userId, rows, columns } = job.payload;
    await Promise.all([
      mkdir(o.exportsDir, { recursive: true }),
      mkdir(o.tempDir, { recursive: true }),
    ]);
    const file = join(o.exportsDir, `${job.id}.csv`);
    const partial = join(o.tempDir, `${job.id}.${job.attempt}.csv.partial`);
    let written = 0;
    let lastReport = Date.now();
    const pending: Promise<void>[] = [];
    async function* withProgress(source: Iterable<string>): AsyncGenerator<string> {
      yield `${columns.join(",")}\n`;
      for (const line of source) {
        yield line;
        written++;
        if (Date.now() - lastReport >= progressEveryMs) {
          lastReport = Date.now();
          // Not awaited: the stream keeps going while the store records the progress.
          pending.push(
            job.updateProgress({ rows: written, percent: Math.floor((written / rows) * 100) }),
          );
        }
      }
    }
    try {
      await pipeline(
        Readable.from(withProgress(records(userId, rows, columns))),
        createWriteStream(partial),
        {
          signal: job.signal,
        },
      );
      await Promise.all(pending);
      await rename(partial, file);
    } catch (err) {
      // Progress writes still in flight must not end as unhandled rejections (an aborted run's
      // writes are refused once its lease is gone).
      await Promise.allSettled(pending);
      await rm(partial, { force: true });
      throw err;
    }
    await job.updateProgress({ rows, percent: 100 });
    return { file, rows, bytes: (await stat(file)).size };
  };
}
