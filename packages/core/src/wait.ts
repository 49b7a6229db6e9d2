/**
 * Resolve after `ms`, or at once when `signal` aborts. Never rejects, and leaves no timer or
 * listener behind, so loops can wait without leaking on shutdown.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A promise with its resolver, re-armed by whoever awaits it (a one-shot edge trigger). */
export class Trigger {
  #resolve: (() => void) | undefined;
  #promise: Promise<void> | undefined;

  /** Wait for the next `fire()`. */
  wait(): Promise<void> {
    this.#promise ??= new Promise((r) => {
      this.#resolve = r;
    });
    return this.#promise;
  }

  fire(): void {
    const resolve = this.#resolve;
    this.#promise = undefined;
    this.#resolve = undefined;
    resolve?.();
  }
}
