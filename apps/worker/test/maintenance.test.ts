import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, tempDataDir } from "./run-job.js";

describe("cache.warm", () => {
  const hits: string[] = [];
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? "");
      res.writeHead(req.url === "/missing" ? 404 : 200).end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it("requests each path of the configured origin and counts failures", async () => {
    const job = await runJob(
      "cache.warm",
      { paths: ["/", "/products?page=1", "/missing"], concurrency: 2 },
      { CACHE_WARM_ORIGIN: origin },
    );
    expect(job.state).toBe("completed");
    expect(job.result).toEqual({ warmed: 2, failed: 1 });
    expect(hits).toEqual(expect.arrayContaining(["/", "/products?page=1", "/missing"]));
  });

  it("is unrecoverable without an origin", async () => {
    const job = await runJob("cache.warm", { paths: ["/"] }, {}, { attempts: 3 });
    expect(job.state).toBe("dead");
    expect(job.attempts).toBe(1);
  });
});

describe("cleanup.run", () => {
  const dir = tempDataDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("removes temp files older than the age and keeps newer ones", async () => {
    mkdirSync(join(dir, "tmp"), { recursive: true });
    writeFileSync(join(dir, "tmp", "old.partial"), "x");
    writeFileSync(join(dir, "tmp", "new.partial"), "x");
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(dir, "tmp", "old.partial"), twoHoursAgo, twoHoursAgo);
    const job = await runJob(
      "cleanup.run",
      { targets: ["temp-files", "jobs"], olderThanMs: 3_600_000 },
      { DATA_DIR: dir },
    );
    expect(job.state).toBe("completed");
    expect(job.result).toEqual({ files: 1, jobs: 0 });
    expect(readdirSync(join(dir, "tmp"))).toEqual(["new.partial"]);
  });
});
