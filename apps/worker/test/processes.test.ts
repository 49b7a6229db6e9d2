import { schemasOf } from "@queueflow/app-kit";
import { until } from "@queueflow/app-kit/test-support";
import { type AnyJobMap, type JobSchemas, Queue } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import {
  restartUntilCompleted,
  sigtermWithExportsRunning,
  startWorkerProcess,
  workerOnRedis,
} from "./worker-process.js";

/** One sample of a Prometheus exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("AUTOSCALE_MODE=processes (worker process pool on Redis)", () => {
  const redis = workerOnRedis();
  const baseEnv = () => ({ ...redis.env(), AUTOSCALE_MODE: "processes" });

  it("grows the pool from one child under a backlog, shrinks it once drained, each job run once", async () => {
    const queue = new Queue("emails", {
      adapter: redis.adapter(),
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
      await until(
        async () => {
          const line = worker.logs().find((l) => l.msg?.startsWith("worker health and metrics"));
          base = line?.msg?.split(" on ")[1] ?? "";
          return base !== "" || worker.child.exitCode !== null;
        },
        "the HTTP side to listen",
        30_000,
      );
      expect(base, worker.output()).toMatch(/^http:\/\//);
      const metrics = async () => (await fetch(`${base}/metrics`)).text();
      const processes = async (state: "running" | "retiring") =>
        sample(await metrics(), `queueflow_worker_processes{queue="emails",state="${state}"}`);
      const scaled = () => worker.logs().filter((l) => l.msg === "processes scaled");

      // aggressive: depth 200 > 20, at least double; bounded by AUTOSCALE_MAX_PROCESSES.
      await until(async () => (await processes("running")) === 3, "the pool to grow to 3", 30_000);
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
        30_000,
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
        30_000,
      );
    } finally {
      worker.child.kill("SIGTERM");
      expect(await worker.exited, worker.output()).toBe(0);
    }
  });

  it("SIGTERM drains every child: running jobs finish, nothing is lost, exit 0", async () => {
    const queue = new Queue("exports", {
      adapter: redis.adapter(),
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
    const { ids, first, afterStop } = await sigtermWithExportsRunning(queue, env);
    // One export was running in each child; none of them stalled.
    expect(afterStop.every((j) => j?.stalls === 0)).toBe(true);
    // Both children closed their workers and were retired, not killed.
    const logs = first.logs();
    expect(logs.filter((l) => l.msg === "workers closed")).toHaveLength(2);
    expect(logs.filter((l) => l.msg === "child process retired")).toHaveLength(2);
    expect(first.output()).not.toContain("killed after the retire timeout");
    expect(logs.some((l) => l.msg === "process pools closed")).toBe(true);

    const done = await restartUntilCompleted(queue, ids, env, 50_000);
    // Each export ran once: the ones running at SIGTERM finished rather than starting over.
    expect(done.every((j) => j?.state === "completed" && j.attempts === 1)).toBe(true);
    // Six node processes start in turn (a pool and its two children, twice): on a loaded
    // machine each took seconds, past the file's 60 s.
  }, 150_000);
});
