import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore } from "@queueflow/app-kit";
import {
  dropRedisNamespace,
  startApp,
  testNamespace,
  until,
} from "@queueflow/app-kit/test-support";
import type { Queue, StorageAdapter } from "@queueflow/core";
import { afterAll, beforeAll, expect } from "vitest";
import { tempDataDir } from "./run-job.js";

/** The worker's entry point, as `pnpm start` runs it. */
export const WORKER_MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** The fields of the worker's JSON log lines these tests read. */
export interface WorkerLogLine {
  msg?: string;
  time?: number;
  pid?: number;
  jobId?: string;
  from?: number;
  to?: number;
  reason?: string;
}

/**
 * The worker as its own process, as it runs in a container (in processes mode its pool
 * children log to the same output).
 */
export function startWorkerProcess(env: Record<string, string>) {
  const app = startApp(WORKER_MAIN, env);
  return { ...app, logs: () => app.logs<WorkerLogLine>() };
}

/**
 * For a suite that runs the worker process against the real Redis at REDIS_URL: fails the
 * suite when it is unset, gives it a key prefix and a data directory of its own (both removed
 * after it) and an adapter on them, and the environment a worker process needs to share them.
 */
export function workerOnRedis() {
  const url = process.env.REDIS_URL;
  const namespace = testNamespace();
  const dataDir = tempDataDir();
  let adapter: StorageAdapter | undefined;
  beforeAll(async () => {
    if (!url) {
      throw new Error(
        'REDIS_URL is not set: this test runs the worker process against a real Redis. From the repository root run `eval "$(bash scripts/servers/redis.sh up)"`, or set REDIS_URL.',
      );
    }
    adapter = await openStore({ kind: "redis", url, namespace });
  });
  afterAll(async () => {
    await adapter?.close();
    if (url) await dropRedisNamespace(url, namespace);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    /** The suite's adapter (open from its beforeAll on). */
    adapter: () => adapter!,
    /** The worker process's environment for the suite's store and data directory. */
    env: () => ({
      QUEUEFLOW_STORE: "redis",
      REDIS_URL: url!,
      QUEUEFLOW_NAMESPACE: namespace,
      METRICS_PORT: "0",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
    }),
  };
}

/**
 * SIGTERM while exports run: six exports on `queue`, a worker process on `env` until two of
 * them are being written, then SIGTERM. It must exit 0 leaving nothing active, the two running
 * completed (at least) and the rest waiting, no job with an error, and no job started after
 * it logged the signal: it claims no more (the store's clock and the log's are this host's;
 * a worker that kept claiming until the queue was empty would fail here, not only a slow one).
 * Returns the jobs' ids, the stopped process and the jobs as it left them.
 */
export async function sigtermWithExportsRunning(queue: Queue, env: Record<string, string>) {
  // Every worker (each child of a pool) is up before the exports arrive, so two run at once
  // however slowly processes start: a pool child that started seconds after the other on a
  // loaded machine found the first one had run every export alone.
  const first = startWorkerProcess(env);
  const processes = Number(env.AUTOSCALE_MIN_PROCESSES ?? "1");
  await until(
    () => first.logs().filter((l) => l.msg === "workers started").length >= processes,
    "the workers to start",
    30_000,
  );
  const added = await queue.addBulk(
    Array.from({ length: 6 }, () => ({
      name: "data.export",
      payload: { userId: "u1", rows: 80_000 },
    })),
  );
  const ids = added.map((r) => r.job.id);
  // Two handlers writing their export, not two jobs active: a job a child had claimed but not
  // yet started when SIGTERM came goes back to waiting unstarted, and the test would then see
  // one export finish, not two.
  const temp = join(env.DATA_DIR ?? "", "tmp");
  const writing = () =>
    existsSync(temp) ? readdirSync(temp).filter((f) => f.endsWith(".csv.partial")).length : 0;
  await until(() => writing() === 2, "two exports to be writing", 30_000);
  first.child.kill("SIGTERM");
  expect(await first.exited, first.output()).toBe(0);

  const afterStop = await Promise.all(ids.map((id) => queue.getJob(id)));
  const states = afterStop.map((j) => j?.state);
  expect(states.filter((s) => s === "active")).toEqual([]);
  expect(states.filter((s) => s === "completed").length).toBeGreaterThanOrEqual(2);
  expect(states.every((s) => s === "completed" || s === "waiting")).toBe(true);
  expect(afterStop.every((j) => j?.errors.length === 0)).toBe(true);
  const stoppingAt = first.logs().find((l) => l.msg === "shutting down")?.time;
  expect(stoppingAt, first.output()).toEqual(expect.any(Number));
  for (const j of afterStop)
    if (j?.startedAt != null) expect(j.startedAt).toBeLessThanOrEqual(stoppingAt!);
  return { ids, first, afterStop };
}

/**
 * A worker process on `env` until every one of `ids` on `queue` completed (within `ms`); then
 * SIGTERM, and it must exit 0. Returns the jobs as they completed.
 */
export async function restartUntilCompleted(
  queue: Queue,
  ids: string[],
  env: Record<string, string>,
  ms: number,
) {
  const second = startWorkerProcess(env);
  try {
    await until(
      async () => (await queue.counts()).completed === ids.length,
      "every export to complete",
      ms,
    );
    return await Promise.all(ids.map((id) => queue.getJob(id)));
  } finally {
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }
}
