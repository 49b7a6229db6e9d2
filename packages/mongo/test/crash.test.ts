import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import { Worker } from "@queueflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoAdapter } from "../src/index.js";
import { dropPrefix, mongoUrl, testPrefix, waitUntil } from "./helpers.js";

type Jobs = { work: { payload: { i: number }; result: string } };
const fixture = fileURLToPath(new URL("./fixtures/claim-and-hang.mjs", import.meta.url));
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Resolve with the first stdout line of `child`. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf("\n");
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`fixture exited ${code}: ${err}`)));
  });
}

describe("a worker process killed mid-batch", () => {
  const url = mongoUrl();
  const prefix = testPrefix("crash");
  const adapter = new MongoAdapter({ connection: url, prefix });

  beforeAll(async () => {
    await adapter.connect();
  });
  afterAll(async () => {
    await adapter.close();
    await dropPrefix(url, prefix);
  });

  it("loses no job: another worker recovers each after its lease and completes it", async () => {
    expect(existsSync(dist), "build the package first (pnpm build): dist/ is missing").toBe(true);
    const queue = uniqueQueue("crash");
    const added = await adapter.enqueue(
      Array.from({ length: 10 }, (_, i) => newJob(queue, { name: "work", payload: { i } })),
    );
    const child = spawn(process.execPath, [fixture, url, prefix, queue, "10", "1000"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const claimed = JSON.parse(await firstLine(child)) as string[];
    expect(claimed.sort()).toEqual(added.map((r) => r.job.id).sort());
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect((await adapter.counts(queue)).active).toBe(10);

    const ran: string[] = [];
    const worker = new Worker<Jobs>(
      queue,
      {
        work: async (job) => {
          ran.push(job.id);
          return "done";
        },
      },
      { adapter, concurrency: 5, stalledIntervalMs: 100, maxStalls: 1, runSchedules: false },
    );
    try {
      await waitUntil(
        async () => (await adapter.counts(queue)).completed === 10,
        "every job of the killed worker to complete",
        20_000,
      );
    } finally {
      await worker.close();
    }
    expect(new Set(ran).size).toBe(10);
    for (const { job } of added) {
      expect(await adapter.getJob(queue, job.id)).toMatchObject({
        state: "completed",
        stalls: 1,
        attempts: 2,
        result: "done",
      });
    }
  });
});
