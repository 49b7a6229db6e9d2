import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Json } from "@queueflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { runJob, tempDataDir } from "./run-job.js";

describe("data.export to CSV", () => {
  const dir = tempDataDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("streams every row to <job id>.csv and reports progress", async () => {
    const job = await runJob(
      "data.export",
      { userId: "u1", rows: 2_500, columns: ["id", "amount", "status"] },
      { DATA_DIR: dir },
    );
    expect(job.state).toBe("completed");
    const result = job.result as { file: string; rows: number; bytes: number };
    expect(result.file).toBe(join(dir, "exports", `${job.id}.csv`));
    const lines = readFileSync(result.file, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe("id,amount,status");
    expect(lines).toHaveLength(2_501);
    expect(lines[1]).toBe("u1-1,0.00,refunded");
    expect(result.bytes).toBe(readFileSync(result.file).length);
    expect(job.progress as Json).toEqual({ rows: 2_500, percent: 100 });
    // Nothing half-written is left behind.
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  });

  it("stops on abort (timeout) and leaves no partial export", async () => {
    const job = await runJob(
      "data.export",
      { userId: "u2", rows: 5_000_000 },
      { DATA_DIR: dir },
      { timeoutMs: 200 },
    );
    expect(job.state).toBe("dead");
    expect(job.errors[0]?.message).toMatch(/timed out|timeout/i);
    expect(readdirSync(join(dir, "exports")).filter((f) => f.startsWith(job.id))).toEqual([]);
    // The worker settles a timed-out attempt at once; the handler removes its temp file as
    // its stream unwinds, a moment later.
    const deadline = Date.now() + 5_000;
    while (readdirSync(join(dir, "tmp")).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  });
});
