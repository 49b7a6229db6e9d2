import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "@queueflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { waitUntil } from "./fixtures.js";
import { deletePrefix, redisUrl, testPrefix, withClient } from "./helpers.js";

type Jobs = { work: { payload: { n: number }; result: number } };

const fixture = fileURLToPath(new URL("./fixtures/claim-and-hang.mjs", import.meta.url));
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Start the fixture and resolve with the ids it claimed, once it has reported them. */
function claimInChild(env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const claimed = new Promise<string[]>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(JSON.parse(line) as string[]);
    });
    child.on("exit", (code) => reject(new Error(`fixture exited early (code ${code})`)));
  });
  return { child, claimed };
}

describe("a worker process killed mid-batch", () => {
  const prefix = testPrefix("crash");
  afterAll(() => withClient((client) => deletePrefix(client, prefix)));

  it("loses nothing: another worker recovers the batch after the lease, each job completes once", async () => {
    expect(existsSync(dist), "build the package first (pnpm --filter @queueflow/redis build)").toBe(
      true,
    );
    const adapter = new RedisAdapter({ url: redisUrl(), prefix });
    await adapter.connect();
    const queueName = "crash";
    const queue = new Queue<Jobs>(queueName, { adapter });
    const added = await queue.addBulk(
      Array.from({ length: 50 }, (_, n) => ({ name: "work" as const, payload: { n } })),
    );

    const { child, claimed } = claimInChild({
      REDIS_URL: redisUrl(),
      QF_PREFIX: prefix,
      QF_QUEUE: queueName,
      QF_LEASE_MS: "1000",
    });
    const batch = await claimed;
    expect(batch).toHaveLength(50);
    expect(child.kill("SIGKILL")).toBe(true);
    await new Promise((resolve) => child.once("exit", resolve));
    expect((await adapter.counts(queueName)).active).toBe(50);

    const runs = new Map<string, number>();
    const worker = new Worker<Jobs>(
      queueName,
      {
        work: async (job) => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
          return job.payload.n;
        },
      },
      { adapter, concurrency: 10, stalledIntervalMs: 100, maxStalls: 1, leaseMs: 10_000 },
    );
    worker.on("error", () => {});
    try {
      await waitUntil(
        async () => (await adapter.counts(queueName)).completed === 50,
        "the killed worker's batch to be recovered and completed",
      );
      expect(runs.size).toBe(50);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      const sample = await adapter.getJob(queueName, added[7]!.job.id);
      expect(sample).toMatchObject({ state: "completed", attempts: 2, stalls: 1, result: 7 });
    } finally {
      await worker.close(5_000);
      await queue.close();
      await adapter.close();
    }
  });
});
