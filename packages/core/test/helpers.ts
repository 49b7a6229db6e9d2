import { afterEach } from "vitest";
import {
  type Handlers,
  type JobMap,
  type StorageAdapter,
  Worker,
  type WorkerOptions,
} from "../src/index.js";

let counter = 0;

/** A fresh queue name per test, so tests never see each other's jobs. */
export function freshQueue(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Poll `check` until it returns true or the deadline passes (then throw). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 5000, what = "condition" }: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolve once the queue has no waiting, delayed or active job. */
export function settled(adapter: StorageAdapter, queue: string, timeoutMs = 10_000): Promise<void> {
  return waitFor(
    async () => {
      const c = await adapter.counts(queue);
      return c.waiting + c.delayed + c.active === 0;
    },
    { timeoutMs, what: `queue ${queue} to settle` },
  );
}

/**
 * A way to start workers that are closed after each test of the file (declare it at the top
 * level of the file, where its afterEach hook belongs).
 */
export function closedAfterEach<M extends JobMap>(): (
  queue: string,
  handlers: Handlers<M>,
  options: WorkerOptions,
) => Worker<M> {
  const workers: Worker<M>[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close(1000)));
  });
  return (queue, handlers, options) => {
    const worker = new Worker<M>(queue, handlers, options);
    workers.push(worker);
    return worker;
  };
}
