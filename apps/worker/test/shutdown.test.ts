import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openStore, schemasOf } from "@queueflow/app-kit";
import { type AnyJobMap, type JobSchemas, Queue, type StorageAdapter } from "@queueflow/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDataDir } from "./run-job.js";

const REDIS_URL = process.env.REDIS_URL;
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** The worker as its own process, as it runs in a container. */
function startWorkerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => {
    output += c;
  });
  child.stderr.on("data", (c) => {
    output += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, exited, output: () => output };
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("SIGTERM with jobs in flight (worker process on Redis)", () => {
  const namespace = `qft_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const dataDir = tempDataDir();
  let adapter: StorageAdapter;
  let queue: Queue;
  beforeAll(async () => {
    if (!REDIS_URL) {
      throw new Error(
        'REDIS_URL is not set: this test runs the worker process against a real Redis. From the repository root run `eval "$(bash scripts/servers/redis.sh up)"`, or set REDIS_URL.',
      );
    }
    adapter = await openStore({ kind: "redis", url: REDIS_URL, namespace });
    queue = new Queue("exports", {
      adapter,
      schemas: schemasOf("exports") as JobSchemas<AnyJobMap>,
    });
  });
  afterAll(async () => {
    await adapter?.close();
    if (REDIS_URL) {
      const client = new Redis(REDIS_URL);
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 1000);
        for (const key of keys) await client.unlink(key);
        cursor = next;
      } while (cursor !== "0");
      client.disconnect();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("finishes running jobs, claims no more, exits 0, and loses nothing", async () => {
    const env = {
      QUEUEFLOW_STORE: "redis",
      REDIS_URL: REDIS_URL!,
      QUEUEFLOW_NAMESPACE: namespace,
      WORKER_QUEUES: "exports",
      WORKER_CONCURRENCY: "2",
      SHUTDOWN_TIMEOUT_MS: "20000",
      METRICS_PORT: "0",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
    };
    const added = await queue.addBulk(
      Array.from({ length: 6 }, () => ({
        name: "data.export",
        payload: { userId: "u1", rows: 300_000 },
      })),
    );
    const ids = added.map((r) => r.job.id);
    const first = startWorkerProcess(env);
    await until(async () => (await queue.counts()).active === 2, "two exports to be running");
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);

    const afterStop = await Promise.all(ids.map((id) => queue.getJob(id)));
    const states = afterStop.map((j) => j?.state);
    // The two running at SIGTERM finished; nothing is left active; the rest wait untouched.
    expect(states.filter((s) => s === "active")).toEqual([]);
    expect(states.filter((s) => s === "completed").length).toBeGreaterThanOrEqual(2);
    expect(states.every((s) => s === "completed" || s === "waiting")).toBe(true);
    expect(afterStop.every((j) => j?.errors.length === 0)).toBe(true);
    expect(first.output()).toContain("workers closed");
    // Claims no more: every job that ran started before the worker logged the signal (the
    // store's clock and the log's are this host's). A worker that kept claiming until the
    // queue was empty would fail here, not only a slow one.
    const stoppingAt = first
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; time?: number })
      .find((l) => l.msg === "shutting down")?.time;
    expect(stoppingAt, first.output()).toEqual(expect.any(Number));
    const started = afterStop.filter((j) => j?.startedAt != null).map((j) => j!.startedAt!);
    expect(started.length).toBeGreaterThanOrEqual(2);
    for (const at of started) expect(at).toBeLessThanOrEqual(stoppingAt!);
    expect(
      afterStop.filter((j) => j?.state === "waiting").every((j) => j?.startedAt === null),
    ).toBe(true);

    const second = startWorkerProcess(env);
    try {
      await until(
        async () => (await queue.counts()).completed === ids.length,
        "every export to complete",
        60_000,
      );
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  });
});
