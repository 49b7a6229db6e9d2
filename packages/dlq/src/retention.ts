import type { PurgeResult } from "./purge.js";

/** Options of {@link DeadLetters.startRetention}. */
export interface RetentionOptions {
  /** Delete dead jobs that died more than this many days ago (store clock). Fractions allowed. */
  olderThanDays: number;
  /** Time between sweeps, ms, counted from the end of the previous sweep. */
  intervalMs: number;
  /** Jobs deleted per `clean` call. Default: the instance's `batchSize`. */
  batchSize?: number;
  /** Called with each sweep's result. */
  onSweep?: (result: PurgeResult) => void;
  /** Called when a sweep fails (the timer keeps running). Default: `console.error`. */
  onError?: (error: unknown) => void;
}

/** A running retention timer. */
export interface RetentionHandle {
  /** Stop the timer; resolves when a sweep in progress has stopped (after its current batch). */
  stop(): Promise<void>;
}

/**
 * Run `sweep` now and then `intervalMs` after each sweep ends, until stopped. A timer chain,
 * not `setInterval`, so a slow sweep never overlaps the next. The timer is unref'd: it does
 * not keep the process alive on its own.
 */
export function startTimer(
  intervalMs: number,
  sweep: (signal: AbortSignal) => Promise<void>,
): RetentionHandle {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    timer = undefined;
    if (controller.signal.aborted) return;
    running = sweep(controller.signal).finally(() => {
      if (controller.signal.aborted) return;
      timer = setTimeout(tick, intervalMs);
      timer.unref?.();
    });
  };
  tick();
  return {
    async stop() {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
