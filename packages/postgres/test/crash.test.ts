import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { newJob, uniqueQueue, waitFor } from "@queueflow/adapter-tests";
import { isQueueFlowError, Worker } from "@queueflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresAdapter } from "../src/index.js";
import { startThrowawayCluster, type ThrowawayCluster } from "./cluster.js";
import { databaseUrl, dropSchema, freshSchema } from "./database.js";

const url = databaseUrl();

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
  const schema = freshSchema("crash");
  const adapter = new PostgresAdapter({ connection: url, schema });

  beforeAll(async () => {
    await adapter.connect();
  });
  afterAll(async () => {
    await adapter.close();
    await dropSchema(schema);
  });

  it("loses no job: another worker recovers each after its lease and completes it", async () => {
    expect(existsSync(dist), "build the package first (pnpm build): dist/ is missing").toBe(true);
    const queue = uniqueQueue("crash");
    const added = await adapter.enqueue(
      Array.from({ length: 10 }, (_, i) => newJob(queue, { name: "work", payload: { i } })),
    );
    const child = spawn(process.execPath, [fixture, url, schema, queue, "10", "1000"], {
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
      await waitFor(async () => (await adapter.counts(queue)).completed === 10, {
        timeoutMs: 20_000,
        message: "every job of the killed worker to complete",
      });
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

  it("frees the group slots a killed worker held, through stall recovery", async () => {
    const queue = uniqueQueue("crash-groups");
    await adapter.updateSettings(queue, { groupConcurrency: 2 });
    await adapter.enqueue(
      Array.from({ length: 6 }, (_, i) =>
        newJob(queue, { name: "work", payload: { i }, group: i % 2 === 0 ? "a" : "b" }),
      ),
    );
    const child = spawn(process.execPath, [fixture, url, schema, queue, "10", "1000"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const claimed = JSON.parse(await firstLine(child)) as string[];
    expect(claimed).toHaveLength(4); // two per group: each at its cap
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const held = await adapter.claim({
      queue,
      workerId: "w",
      limit: 10,
      leaseMs: 30_000,
      priorityRange: null,
    });
    expect(held.jobs).toEqual([]);

    const worker = new Worker<Jobs>(
      queue,
      { work: async () => "done" },
      { adapter, concurrency: 5, stalledIntervalMs: 100, maxStalls: 1, runSchedules: false },
    );
    try {
      await waitFor(async () => (await adapter.counts(queue)).completed === 6, {
        timeoutMs: 20_000,
        message: "every grouped job to complete after the crash",
      });
    } finally {
      await worker.close();
    }
  });
});

describe("a server restart under a running worker", () => {
  let cluster: ThrowawayCluster;

  beforeAll(async () => {
    cluster = await startThrowawayCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("completes every job: the worker backs off, reconnects and recovers", async () => {
    const adapter = new PostgresAdapter({ connection: cluster.url });
    await adapter.connect();
    const queue = uniqueQueue("restart");
    const total = 40;
    await adapter.enqueue(
      Array.from({ length: total }, (_, i) => newJob(queue, { name: "work", payload: { i } })),
    );
    const errors: unknown[] = [];
    const worker = new Worker<Jobs>(
      queue,
      {
        work: async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return "done";
        },
      },
      {
        adapter,
        concurrency: 4,
        leaseMs: 1_500,
        stalledIntervalMs: 200,
        maxStalls: 10,
        runSchedules: false,
      },
    );
    worker.on("error", (err) => errors.push(err));
    try {
      await waitFor(async () => (await adapter.counts(queue)).completed >= 5, {
        timeoutMs: 20_000,
        message: "the worker to get going",
      });
      const before = await adapter.counts(queue);
      await cluster.restart();
      // The restart must land mid-run for this test to mean anything.
      expect(before.completed).toBeLessThan(total);
      await waitFor(
        async () => {
          try {
            return (await adapter.counts(queue)).completed === total;
          } catch {
            return false;
          }
        },
        { timeoutMs: 45_000, intervalMs: 100, message: "every job to complete after the restart" },
      );
    } finally {
      await worker.close();
      await adapter.close();
    }
    // Whatever failed during the restart surfaced as the one retryable code.
    for (const err of errors) {
      expect(isQueueFlowError(err, "QF_STORE_UNAVAILABLE"), String(err)).toBe(true);
    }
  }, 90_000);
});
