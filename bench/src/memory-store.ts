import { type BulkJob, MemoryAdapter, type NewJob, Queue, Worker } from "@queueflow/core";

type NoopJobs = { noop: { payload: { blob: string }; result: null } };

const PAYLOAD_200B = { blob: "x".repeat(189) }; // {"blob":"…"} is 200 bytes of JSON

function bulk(count: number): BulkJob<NoopJobs>[] {
  return Array.from({ length: count }, () => ({ name: "noop" as const, payload: PAYLOAD_200B }));
}

async function fill(queue: Queue<NoopJobs>, count: number): Promise<void> {
  for (let done = 0; done < count; done += 5000) {
    await queue.addBulk(bulk(Math.min(5000, count - done)));
  }
}

/** Jobs per second for a no-op handler at a concurrency, from `jobs` pre-filled jobs. */
export async function processingThroughput(concurrency: number, jobs: number): Promise<number> {
  const adapter = new MemoryAdapter();
  const queue = new Queue<NoopJobs>("bench", { adapter });
  await fill(queue, jobs);
  const started = performance.now();
  const worker = new Worker<NoopJobs>(
    "bench",
    { noop: () => null },
    {
      adapter,
      concurrency,
      runSchedules: false,
    },
  );
  await new Promise<void>((resolve) => worker.once("drained", resolve));
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  const { completed } = await queue.counts();
  if (completed !== jobs) throw new Error(`expected ${jobs} completed, got ${completed}`);
  return jobs / seconds;
}

function rawJob(i: number): NewJob {
  return {
    id: `j${i}`,
    queue: "bench",
    name: "noop",
    payload: PAYLOAD_200B,
    priority: i % 21,
    maxAttempts: 3,
    backoff: null,
    timeoutMs: null,
    dedupKey: null,
    metadata: {},
    delayMs: 0,
    runAt: null,
  };
}

/**
 * Microseconds per claim(1) + settle with `waiting` jobs in the store. Priorities are spread
 * over all 21 levels so the ordered index does real work.
 */
export async function claimCostMicros(waiting: number, claims: number): Promise<number> {
  const adapter = new MemoryAdapter();
  for (let i = 0; i < waiting; i += 10_000) {
    await adapter.enqueue(
      Array.from({ length: Math.min(10_000, waiting - i) }, (_, k) => rawJob(i + k)),
    );
  }
  // Collect the fill's garbage first, so both store sizes start the timed loop alike.
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  for (let i = 0; i < claims; i++) {
    const { jobs } = await adapter.claim({
      queue: "bench",
      workerId: "b",
      limit: 1,
      leaseMs: 30_000,
      priorityRange: null,
    });
    const job = jobs[0]!;
    await adapter.settle("bench", [
      { kind: "complete", id: job.id, token: job.leaseToken, result: null },
    ]);
  }
  return ((performance.now() - started) * 1000) / claims;
}

/** Heap bytes per waiting job with a 200-byte payload (needs --expose-gc). */
export async function bytesPerWaitingJob(jobs: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  gc();
  const before = process.memoryUsage().heapUsed;
  const adapter = new MemoryAdapter();
  const queue = new Queue<NoopJobs>("bench", { adapter });
  await fill(queue, jobs);
  gc();
  const after = process.memoryUsage().heapUsed;
  const { waiting } = await queue.counts();
  if (waiting !== jobs) throw new Error(`expected ${jobs} waiting, got ${waiting}`);
  return (after - before) / jobs;
}
