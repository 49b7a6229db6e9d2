import { ConfigError, createJobMetrics, schemasOf } from "@queueflow/app-kit";
import { startApp, until } from "@queueflow/app-kit/test-support";
import { type AnyJobMap, type JobSchemas, MemoryAdapter, Queue } from "@queueflow/core";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "../src/config.js";
import { startWorkers } from "../src/runtime.js";
import { WORKER_MAIN } from "./worker-process.js";

/**
 * The worker process with `env`, expected to refuse it at start: exit 2 with "Invalid
 * configuration:" on stderr and no stack trace. Its stdout and stderr, for what else to check.
 */
async function refusedAtStart(env: Record<string, string>) {
  const worker = startApp(WORKER_MAIN, env);
  const code = await worker.exited;
  const stdout = worker.stdout();
  const stderr = worker.stderr();
  expect(code, stderr).toBe(2);
  expect(stderr).toContain("Invalid configuration:");
  expect(stderr).not.toMatch(/\n\s+at /);
  return { stdout, stderr };
}

interface ScaledLog {
  msg: string;
  queue: string;
  from: number;
  to: number;
  reason: string;
}

describe("autoscaling (in-process concurrency)", () => {
  it("raises a worker's concurrency under a backlog and lowers it once idle", async () => {
    const adapter = new MemoryAdapter();
    await adapter.connect();
    const logs: ScaledLog[] = [];
    const logger = pino(
      { level: "info" },
      { write: (line: string) => logs.push(JSON.parse(line)) },
    );
    const config = loadWorkerConfig({
      WORKER_QUEUES: "emails",
      WORKER_CONCURRENCY: "1",
      AUTOSCALE: "aggressive",
      AUTOSCALE_MIN_CONCURRENCY: "1",
      AUTOSCALE_MAX_CONCURRENCY: "8",
      AUTOSCALE_INTERVAL_MS: "100",
      // Scale down as soon as the strategy says so (the default waits the HPA's 300 s).
      AUTOSCALE_SCALE_DOWN_WINDOW_MS: "0",
    });
    const queue = new Queue("emails", {
      adapter,
      schemas: schemasOf("emails") as JobSchemas<AnyJobMap>,
    });
    // A backlog nobody can take yet: 200 due emails on a paused queue.
    await queue.pause();
    await queue.addBulk(
      Array.from({ length: 200 }, (_, i) => ({
        name: "email.send",
        payload: { to: "a@example.com", subject: `backlog ${i}` },
      })),
    );
    const metrics = createJobMetrics();
    const runtime = startWorkers({ config, adapter, logger, metrics });
    const worker = runtime.workers[0]!;
    const scaled = () => logs.filter((l) => l.msg === "concurrency scaled");
    try {
      expect(worker.concurrency).toBe(1);
      // aggressive: depth 200 > 20, so at least double; the HPA's default step allows +4 per 15 s.
      await until(
        () => worker.concurrency >= 5,
        "concurrency to rise under the backlog",
        20_000,
        20,
      );
      expect(scaled()[0]).toMatchObject({
        queue: "emails",
        from: 1,
        to: 5,
        reason: expect.stringMatching(/^Queue depth \(200\) exceeds 20/),
      });
      expect(runtime.status()[0]).toMatchObject({ queue: "emails", concurrency: 5 });
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^queueflow_autoscaler_desired_workers\{queue="emails"\} 5$/m);
      expect(text).toMatch(/^queueflow_queue_depth\{queue="emails"\} 200$/m);

      // Let the backlog drain: once nothing waits and workers sit idle, it comes back down.
      await queue.resume();
      await until(
        () => worker.concurrency === 1 && scaled().some((l) => l.to < l.from),
        "concurrency to fall back to the minimum once idle",
        20_000,
        20,
      );
      expect((await queue.counts()).completed).toBe(200);
      const down = scaled().filter((l) => l.to < l.from);
      expect(down[0]?.reason).toBe("Nothing waiting and workers idle");
      // Never outside the configured bounds.
      for (const l of scaled()) {
        expect(l.to).toBeGreaterThanOrEqual(1);
        expect(l.to).toBeLessThanOrEqual(8);
      }
    } finally {
      await runtime.close(5_000);
      await adapter.close();
    }
  });

  it("stays off, at the configured concurrency, unless AUTOSCALE is set", async () => {
    const adapter = new MemoryAdapter();
    await adapter.connect();
    const config = loadWorkerConfig({ LOG_LEVEL: "silent", WORKER_QUEUES: "emails" });
    expect(config.autoscale).toMatchObject({ strategy: "off", scaleDownWindowMs: 300_000 });
    const metrics = createJobMetrics();
    const runtime = startWorkers({ config, adapter, logger: pino({ level: "silent" }), metrics });
    try {
      expect(runtime.workers[0]?.concurrency).toBe(4);
      expect(await metrics.registry.metrics()).not.toContain("queueflow_autoscaler_");
    } finally {
      await runtime.close(5_000);
      await adapter.close();
    }
  });
});

describe("autoscaler configuration", () => {
  it("refuses bad values, each named with what it must be", () => {
    let error: unknown;
    try {
      loadWorkerConfig({
        AUTOSCALE: "sometimes",
        AUTOSCALE_INTERVAL_MS: "10",
        AUTOSCALE_SCALE_DOWN_WINDOW_MS: "-1",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^AUTOSCALE: must be off, slo, thresholds, aggressive, conservative or predictive/,
        ),
        expect.stringMatching(/^AUTOSCALE_INTERVAL_MS: must be at least 100/),
        expect.stringMatching(/^AUTOSCALE_SCALE_DOWN_WINDOW_MS: must be at least 0/),
      ]),
    );
  });

  it("reads AUTOSCALE_MODE: concurrency by default, processes with its own bounds", () => {
    expect(loadWorkerConfig({}).autoscale).toMatchObject({
      mode: "concurrency",
      minProcesses: 1,
      maxProcesses: 4,
    });
    expect(
      loadWorkerConfig({
        QUEUEFLOW_STORE: "redis",
        REDIS_URL: "redis://127.0.0.1:6379",
        AUTOSCALE: "slo",
        AUTOSCALE_MODE: "processes",
        AUTOSCALE_MIN_PROCESSES: "2",
        AUTOSCALE_MAX_PROCESSES: "6",
      }).autoscale,
    ).toMatchObject({ strategy: "slo", mode: "processes", minProcesses: 2, maxProcesses: 6 });
  });

  it("refuses a bad AUTOSCALE_MODE, processes on the memory store, without a strategy, or min above max", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadWorkerConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      throw new Error("expected a ConfigError");
    };
    expect(problems({ AUTOSCALE_MODE: "threads" })).toEqual([
      'AUTOSCALE_MODE: must be concurrency or processes (got "threads")',
    ]);
    // The memory store lives in one process: children could not see its jobs.
    expect(problems({ AUTOSCALE: "slo", AUTOSCALE_MODE: "processes" })).toEqual([
      expect.stringMatching(
        /^AUTOSCALE_MODE: processes needs a shared store: the memory store lives in one process.*set QUEUEFLOW_STORE to redis, postgres or mongo/,
      ),
    ]);
    const redis = { QUEUEFLOW_STORE: "redis", REDIS_URL: "redis://127.0.0.1:6379" };
    expect(problems({ ...redis, AUTOSCALE_MODE: "processes" })).toEqual([
      expect.stringMatching(/^AUTOSCALE_MODE: processes needs a strategy: set AUTOSCALE/),
    ]);
    expect(
      problems({
        ...redis,
        AUTOSCALE: "slo",
        AUTOSCALE_MODE: "processes",
        AUTOSCALE_MIN_PROCESSES: "5",
        AUTOSCALE_MAX_PROCESSES: "2",
      }),
    ).toEqual(['AUTOSCALE_MIN_PROCESSES: must not exceed AUTOSCALE_MAX_PROCESSES (got "5")']);
    expect(problems({ AUTOSCALE_MAX_PROCESSES: "0" })).toEqual([
      expect.stringMatching(/^AUTOSCALE_MAX_PROCESSES: must be at least 1/),
    ]);
  });

  it("refuses processes mode on the memory store at start: exit 2, no child forked", async () => {
    const { stdout, stderr } = await refusedAtStart({
      QUEUEFLOW_STORE: "memory",
      METRICS_PORT: "0",
      AUTOSCALE: "aggressive",
      AUTOSCALE_MODE: "processes",
    });
    expect(stderr).toContain("AUTOSCALE_MODE: processes needs a shared store");
    expect(stdout).not.toContain("child process started");
    expect(stdout).not.toContain("workers started");
  });

  it("rejects min above max at start: the process exits 2 with the reason, running nothing", async () => {
    // A configuration error, not a crash: no stack trace, and no worker ever started.
    const { stdout, stderr } = await refusedAtStart({
      QUEUEFLOW_STORE: "memory",
      METRICS_PORT: "0",
      AUTOSCALE: "slo",
      AUTOSCALE_MIN_CONCURRENCY: "16",
      AUTOSCALE_MAX_CONCURRENCY: "4",
    });
    expect(stderr).toContain(
      'AUTOSCALE_MIN_CONCURRENCY: must not exceed AUTOSCALE_MAX_CONCURRENCY (got "16")',
    );
    expect(stdout).not.toContain("workers started");
  });
});
