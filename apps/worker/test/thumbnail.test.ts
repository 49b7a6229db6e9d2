import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, tempDataDir } from "./run-job.js";

describe("file.thumbnail with sharp", () => {
  const dir = tempDataDir();
  beforeAll(async () => {
    mkdirSync(join(dir, "uploads"), { recursive: true });
    await sharp({
      create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 40, b: 40 } },
    })
      .jpeg()
      .toFile(join(dir, "uploads", "photo.jpg"));
    writeFileSync(join(dir, "uploads", "notes.jpg"), "not an image at all");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a thumbnail of the requested size and format", async () => {
    const job = await runJob(
      "file.thumbnail",
      { file: "photo.jpg", width: 160, height: 120, format: "png" },
      { DATA_DIR: dir },
    );
    expect(job.state).toBe("completed");
    const result = job.result as { file: string; width: number; height: number; bytes: number };
    expect(result.file).toBe(join(dir, "thumbnails", "photo-160x120.png"));
    const meta = await sharp(result.file).metadata();
    expect(meta).toMatchObject({ format: "png", width: 160, height: 120 });
    expect(result.bytes).toBeGreaterThan(0);
  });

  it("sends a missing or unreadable file to dead without retrying", async () => {
    for (const file of ["missing.jpg", "notes.jpg"]) {
      const job = await runJob("file.thumbnail", { file }, { DATA_DIR: dir }, { attempts: 3 });
      expect(job.state).toBe("dead");
      expect(job.attempts).toBe(1);
      expect(job.errors[0]?.name).toBe("UnrecoverableError");
    }
  });
});
