import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createJobMetrics,
  createLogger,
  type Env,
  findJobType,
  type Jobs,
  type JobTypeName,
  schemasOf,
} from "@queueflow/app-kit";
import { type AnyJobMap, type Job, type JobSchemas, MemoryAdapter, Queue } from "@queueflow/core";
import { loadWorkerConfig } from "../src/config.js";
import { startWorkers } from "../src/runtime.js";

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "qf-worker-"));
}

/**
 * Add one job of `name` and run it through a real Worker (the app's runtime, only its queue)
 * on a fresh memory store; resolve with the job once it is terminal.
 */
export async function runJob<N extends JobTypeName>(
  name: N,
  payload: Jobs[N]["payload"] | Record<string, unknown>,
  env: Env,
  options: { attempts?: number; timeoutMs?: number; onStart?: (job: Job) => void } = {},
): Promise<Job> {
  const type = findJobType(name)!;
  const adapter = new MemoryAdapter();
  await adapter.connect();
  const config = loadWorkerConfig({ LOG_LEVEL: "silent", WORKER_QUEUES: type.queue, ...env });
  const runtime = startWorkers({
    config,
    adapter,
    logger: createLogger("test", "silent"),
    metrics: createJobMetrics(),
  });
  if (options.onStart) runtime.workers[0]!.on("active", options.onStart);
  // The catalog schemas, as the API uses them: they validate and fill in defaults.
  const queue = new Queue(type.queue, {
    adapter,
    schemas: schemasOf(type.queue) as JobSchemas<AnyJobMap>,
  });
  try {
    const added = await queue.add(name, payload as never, {
      attempts: options.attempts ?? 1,
      backoff: { type: "fixed", delayMs: 0 },
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = await queue.getJob(added.id);
      if (job && ["completed", "dead", "cancelled"].includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${added.id} still ${job?.state} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await runtime.close(5_000);
    await adapter.close();
  }
}
