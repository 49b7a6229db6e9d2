/**
 * Cancellation for one running job. The AbortSignal is created only when a handler reads it:
 * an AbortController with its listeners cost about a sixth of a no-op job's CPU in profiles,
 * and most handlers never look at the signal.
 */
export class RunControl {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;
  #onAbort: ((reason: unknown) => void) | undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Called once with the reason when the run is aborted (the worker stops waiting on it). */
  onAbort(callback: (reason: unknown) => void): void {
    this.#onAbort = callback;
    if (this.#aborted) callback(this.#reason);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onAbort?.(reason);
  }
}
