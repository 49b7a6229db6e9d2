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

interface LogLine {
  msg?: string;
  time?: number;
  pid?: number;
  jobId?: string;
  from?: number;
  to?: number;
  reason?: string;
}

/** The worker's main process, as it runs in a container; its pool children log to the same output. */
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
  const logs = (): LogLine[] =>
    output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as LogLine);
  return { child, exited, output: () => output, logs };
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One sample of a Prometheus exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("AUTOSCALE_MODE=processes (worker process pool on Redis)", () => {
  const namespace = `qft_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const dataDir = tempDataDir();
  let adapter: StorageAdapter;
  beforeAll(async () => {
    if (!REDIS_URL) {
      throw new Error(
        'REDIS_URL is not set: this test runs the worker process against a real Redis. From the repository root run `eval "$(bash scripts/servers/redis.sh up)"`, or set REDIS_URL.',
      );
    }
    adapter = await openStore({ kind: "redis", url: REDIS_URL, namespace });
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
  const baseEnv = () => ({
    QUEUEFLOW_STORE: "redis",
    REDIS_URL: REDIS_URL!,
    QUEUEFLOW_NAMESPACE: namespace,
    METRICS_PORT: "0",
    DATA_DIR: dataDir,
    LOG_LEVEL: "info",
    AUTOSCALE_MODE: "processes",
  });

  it("grows the pool from one child under a backlog, shrinks it once drained, each job run once", async () => {
    const queue = new Queue("emails", {
      adapter,
      schemas: schemasOf("emails") as JobSchemas<AnyJobMap>,
    });
    // A backlog nobody can take yet: 200 due emails on a paused queue.
    await queue.pause();
    const added = await queue.addBulk(
      Array.from({ length: 200 }, (_, i) => ({
        name: "email.send",
        payload: { to: "a@example.com", subject: `backlog ${i}` },
      })),
    );
    const ids = added.map((r) => r.job.id);
    const worker = startWorkerProcess({
      ...baseEnv(),
      WORKER_QUEUES: "emails",
      WORKER_CONCURRENCY: "1",
      AUTOSCALE: "aggressive",
      AUTOSCALE_MIN_PROCESSES: "1",
      AUTOSCALE_MAX_PROCESSES: "3",
      AUTOSCALE_INTERVAL_MS: "200",
      AUTOSCALE_SCALE_DOWN_WINDOW_MS: "0",
    });
    try {
      let base = "";
      await until(async () => {
        const line = worker.logs().find((l) => l.msg?.startsWith("worker health and metrics"));
        base = line?.msg?.split(" on ")[1] ?? "";
        return base !== "" || worker.child.exitCode !== null;
      }, "the HTTP side to listen");
      expect(base, worker.output()).toMatch(/^http:\/\//);
      const metrics = async () => (await fetch(`${base}/metrics`)).text();
      const processes = async (state: "running" | "retiring") =>
        sample(await metrics(), `queueflow_worker_processes{queue="emails",state="${state}"}`);
      const scaled = () => worker.logs().filter((l) => l.msg === "processes scaled");

      // aggressive: depth 200 > 20, at least double; bounded by AUTOSCALE_MAX_PROCESSES.
      await until(async () => (await processes("running")) === 3, "the pool to grow to 3");
      expect(scaled()[0], worker.output()).toMatchObject({
        from: 1,
        to: 3,
        reason: expect.stringMatching(/^Queue depth \(200\) exceeds 20/),
      });
      const health = (await (await fetch(`${base}/health`)).json()) as {
        components: { workers: { pools: { queue: string; processes: number; pids: number[] }[] } };
      };
      expect(health.components.workers.pools).toEqual([
        expect.objectContaining({ queue: "emails", processes: 3, concurrencyPerProcess: 1 }),
      ]);
      const childPids = health.components.workers.pools[0]!.pids;
      expect(new Set(childPids).size).toBe(3);
      expect(childPids).not.toContain(worker.child.pid);

      // Drain: once nothing waits and children sit idle, the pool retires back to one.
      await queue.resume();
      await until(
        async () => (await queue.counts()).completed === ids.length,
        "every email to complete",
        45_000,
      );
      await until(
        async () =>
          (await processes("running")) === 1 &&
          (await processes("retiring")) === 0 &&
          scaled().some((l) => l.to === 1 && l.from! > 1),
        "the pool to shrink back to one child",
      );
      expect(scaled().find((l) => l.to! < l.from!)?.reason).toBe(
        "Nothing waiting and workers idle",
      );
      for (const l of scaled()) {
        expect(l.to).toBeGreaterThanOrEqual(1);
        expect(l.to).toBeLessThanOrEqual(3);
      }
      // Retired children left gracefully (not killed), and no child crashed.
      expect(worker.logs().filter((l) => l.msg === "child process retired")).toHaveLength(2);
      expect(worker.output()).not.toContain("child process crashed");
      expect(worker.output()).not.toContain("killed after the retire timeout");

      // Exactly once: each job completed on its first attempt, handled by one child once, and
      // the children's completions (retired ones included) add up to the jobs in /metrics.
      const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
      expect(jobs.every((j) => j?.state === "completed" && j.attempts === 1)).toBe(true);
      const handled = worker.logs().filter((l) => l.msg === "email (not sent: no SMTP_URL)");
      expect(handled.map((l) => l.jobId).sort()).toEqual([...ids].sort());
      // Several children did the work.
      expect(new Set(handled.map((l) => l.pid)).size).toBeGreaterThan(1);
      await until(
        async () =>
          sample(
            await metrics(),
            'queueflow_jobs_completed_total{queue="emails",job="email.send"}',
          ) === ids.length,
        "the children's completed counters to add up to every job",
      );
    } finally {
      worker.child.kill("SIGTERM");
      expect(await worker.exited, worker.output()).toBe(0);
    }
  });

  it("SIGTERM drains every child: running jobs finish, nothing is lost, exit 0", async () => {
    const queue = new Queue("exports", {
      adapter,
      schemas: schemasOf("exports") as JobSchemas<AnyJobMap>,
    });
    const env = {
      ...baseEnv(),
      WORKER_QUEUES: "exports",
      WORKER_CONCURRENCY: "1",
      SHUTDOWN_TIMEOUT_MS: "20000",
      // A fixed pool of two children (the strategy only ever hits the bounds here).
      AUTOSCALE: "thresholds",
      AUTOSCALE_MIN_PROCESSES: "2",
      AUTOSCALE_MAX_PROCESSES: "2",
    };
    const added = await queue.addBulk(
      Array.from({ length: 6 }, () => ({
        name: "data.export",
        payload: { userId: "u1", rows: 300_000 },
      })),
    );
    const ids = added.map((r) => r.job.id);
    const first = startWorkerProcess(env);
    // One export running in each child.
    await until(async () => (await queue.counts()).active === 2, "two exports to be running");
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);

    const afterStop = await Promise.all(ids.map((id) => queue.getJob(id)));
    const states = afterStop.map((j) => j?.state);
    expect(states.filter((s) => s === "active")).toEqual([]);
    expect(states.filter((s) => s === "completed").length).toBeGreaterThanOrEqual(2);
    expect(states.every((s) => s === "completed" || s === "waiting")).toBe(true);
    expect(afterStop.every((j) => j?.errors.length === 0 && j.stalls === 0)).toBe(true);
    // Both children closed their workers and were retired, not killed.
    const logs = first.logs();
    expect(logs.filter((l) => l.msg === "workers closed")).toHaveLength(2);
    expect(logs.filter((l) => l.msg === "child process retired")).toHaveLength(2);
    expect(first.output()).not.toContain("killed after the retire timeout");
    expect(logs.some((l) => l.msg === "process pools closed")).toBe(true);
    // No child claimed after the signal.
    const stoppingAt = logs.find((l) => l.msg === "shutting down")?.time;
    expect(stoppingAt, first.output()).toEqual(expect.any(Number));
    for (const j of afterStop)
      if (j?.startedAt != null) expect(j.startedAt).toBeLessThanOrEqual(stoppingAt!);

    const second = startWorkerProcess(env);
    try {
      await until(
        async () => (await queue.counts()).completed === ids.length,
        "every export to complete",
        50_000,
      );
      const done = await Promise.all(ids.map((id) => queue.getJob(id)));
      // Each export ran once: the ones running at SIGTERM finished rather than starting over.
      expect(done.every((j) => j?.state === "completed" && j.attempts === 1)).toBe(true);
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  });
});
