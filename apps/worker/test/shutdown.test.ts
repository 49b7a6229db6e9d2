import { schemasOf } from "@queueflow/app-kit";
import { type AnyJobMap, type JobSchemas, Queue } from "@queueflow/core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  restartUntilCompleted,
  sigtermWithExportsRunning,
  workerOnRedis,
} from "./worker-process.js";

describe("SIGTERM with jobs in flight (worker process on Redis)", () => {
  const redis = workerOnRedis();
  let queue: Queue;
  beforeAll(() => {
    queue = new Queue("exports", {
      adapter: redis.adapter(),
      schemas: schemasOf("exports") as JobSchemas<AnyJobMap>,
    });
  });

  it("finishes running jobs, claims no more, exits 0, and loses nothing", async () => {
    const env = {
      ...redis.env(),
      WORKER_QUEUES: "exports",
      WORKER_CONCURRENCY: "2",
      SHUTDOWN_TIMEOUT_MS: "20000",
    };
    const { ids, first, afterStop } = await sigtermWithExportsRunning(queue, env);
    // The two running at SIGTERM finished (before the signal, as every job that ran); the rest
    // wait untouched, never started.
    expect(first.output()).toContain("workers closed");
    const started = afterStop.filter((j) => j?.startedAt != null);
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(
      afterStop.filter((j) => j?.state === "waiting").every((j) => j?.startedAt === null),
    ).toBe(true);

    await restartUntilCompleted(queue, ids, env, 60_000);
    // Two worker processes start in turn; on a loaded machine each took seconds, and with
    // the exports and the drain the whole outgrew the file's 60 s.
  }, 150_000);
});
