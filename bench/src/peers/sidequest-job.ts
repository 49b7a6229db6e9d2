/**
 * Sidequest's job class for the bench, in a module of its own: Sidequest stores a job's class
 * by the path of the file that exports it and imports that file where the job runs (this
 * process with `runner: "inline"`, a worker thread of its forked engine by default), so the
 * file must load on its own, under tsx as anywhere else.
 */
import { Job } from "sidequest";

/** Set by the bench session running jobs in this thread: called at handler start. */
export const ON_START = Symbol.for("queueflow.bench.sidequest.onStart");

type Hook = (payload: unknown) => void;

export class BenchNoopJob extends Job {
  async run(payload: unknown): Promise<number | undefined> {
    const hook = (globalThis as Record<symbol, Hook | undefined>)[ON_START];
    if (hook) {
      hook(payload);
      return undefined;
    }
    // Run out of this thread (a worker thread of the forked engine): the start time goes into
    // the job's stored result, for the latency figure only (its payloads carry `t`).
    const { t, warmup } = (payload ?? {}) as { t?: unknown; warmup?: unknown };
    if (typeof t === "number") return performance.timeOrigin + performance.now();
    // Warm-up jobs (before the clock) hold their thread a moment, so the pool grows to its size.
    if (typeof warmup === "number") await new Promise((r) => setTimeout(r, warmup));
    return undefined;
  }
}
