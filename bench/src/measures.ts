/** One sample of each figure, on a fresh session (own prefix/schema) that is closed after. */
import { type Library, type Session, sleep, withDeadline } from "./common.js";

export interface Sample {
  value: number;
  timedOut?: boolean;
}

let counter = 0;
function runId(): string {
  counter++;
  return `${process.pid.toString(36)}${Date.now().toString(36)}${counter}`;
}

export async function withSession<T>(
  lib: Library,
  fn: (s: Session, id: string) => Promise<T>,
): Promise<T> {
  const id = runId();
  const session = await withDeadline(`${lib.name} open`, 60_000, lib.open(id));
  try {
    return await fn(session, id);
  } finally {
    await withDeadline(`${lib.name} close`, 60_000, session.close()).catch((error) =>
      process.stderr.write(`\n${lib.name} close: ${String(error)}\n`),
    );
  }
}

/** Bulk enqueue rate (jobs/s) and store bytes per waiting job, from the same `count` jobs. */
export async function enqueueBulk(
  lib: Library,
  count: number,
  deadlineMs: number,
): Promise<{ rate: Sample; bytesPerJob: Sample | null }> {
  return withSession(lib, async (s) => {
    await s.addBulk(10); // connect and load scripts/statements before the clock starts
    const before = await s.footprint();
    const t0 = performance.now();
    await withDeadline(`${lib.name} addBulk`, deadlineMs, s.addBulk(count));
    const seconds = (performance.now() - t0) / 1000;
    const after = await s.footprint();
    const bytes = (after - before) / count;
    return {
      rate: { value: count / seconds },
      bytesPerJob: Number.isNaN(bytes) ? null : { value: bytes },
    };
  });
}

export async function enqueueOne(lib: Library, count: number, deadlineMs: number): Promise<Sample> {
  return withSession(lib, async (s) => {
    await s.addOne(1);
    const t0 = performance.now();
    await withDeadline(`${lib.name} add`, deadlineMs, s.addOne(count));
    return { value: count / ((performance.now() - t0) / 1000) };
  });
}

/**
 * Jobs/s for one worker at `concurrency` draining `count` pre-filled jobs, from worker start to
 * the last job stored as completed. Past the deadline: the rate so far, flagged as a timeout.
 * Also server commands per job (Redis only).
 */
export async function processing(
  lib: Library,
  concurrency: number,
  count: number,
  deadlineMs: number,
): Promise<{ rate: Sample; callsPerJob: Sample | null; sentPerJob: Sample | null }> {
  return withSession(lib, async (s) => {
    await s.addBulk(count);
    await s.afterFill?.();
    await s.prepareWork?.(concurrency);
    const calls0 = await s.commandCalls();
    const t0 = performance.now();
    const worker = await s.work(concurrency);
    let done = 0;
    let timedOut = false;
    const deadline = t0 + deadlineMs;
    for (let i = 0; ; i++) {
      done = await worker.settled(count);
      if (done >= count) break;
      if (performance.now() > deadline || i > 10_000_000) {
        timedOut = true;
        done = await worker.settled(0);
        break;
      }
      await sleep(done > count * 0.9 ? 2 : 10);
    }
    const seconds = (performance.now() - t0) / 1000;
    const calls1 = await s.commandCalls();
    await withDeadline(`${lib.name} worker close`, 30_000, worker.close()).catch(() => {});
    return {
      rate: { value: done / seconds, timedOut },
      // Minus 1: the second INFO itself.
      callsPerJob:
        !calls0 || !calls1 || done === 0
          ? null
          : { value: (calls1.server - calls0.server - 1) / done, timedOut },
      sentPerJob:
        !calls0 || !calls1 || done === 0
          ? null
          : { value: (calls1.sent - calls0.sent - 1) / done, timedOut },
    };
  });
}
