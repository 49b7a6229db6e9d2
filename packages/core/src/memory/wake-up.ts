/**
 * Pending `waitForWork` calls, per queue. Each waiter ends exactly once, by a notify, its
 * timeout, its signal or close, and ending it always clears the timer and detaches the abort
 * listener, so thousands of short waits leave nothing behind.
 */
export class WakeUpRegistry {
  private readonly waiters = new Map<string, Set<Waiter>>();

  /** Resolve after `timeoutMs`, on abort, or at the next `notify(queue)`. */
  wait(queue: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || !(timeoutMs > 0)) return Promise.resolve();
    let set = this.waiters.get(queue);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(queue, set);
    }
    const waiter = new Waiter(this.waiters, queue, set, signal);
    set.add(waiter);
    return waiter.start(timeoutMs);
  }

  /** Wake every waiter of the queue. */
  notify(queue: string): void {
    const set = this.waiters.get(queue);
    if (set === undefined) return;
    this.waiters.delete(queue);
    for (const waiter of set) waiter.finish();
  }

  /** Wake everyone: the adapter is closing. */
  notifyAll(): void {
    for (const queue of [...this.waiters.keys()]) this.notify(queue);
  }
}

/** Node fires longer timers at once (with a warning), so longer waits are capped here. */
const MAX_TIMER_MS = 2_147_483_647;

function onTimeout(waiter: Waiter): void {
  waiter.finish();
}

/**
 * One pending wait. It is its own abort listener (`handleEvent`), and the timer gets it as
 * an argument, so a wait allocates no closure beyond the promise's own.
 */
class Waiter {
  private resolve: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly registry: Map<string, Set<Waiter>>,
    private readonly queue: string,
    private readonly set: Set<Waiter>,
    private readonly signal: AbortSignal,
  ) {}

  start(timeoutMs: number): Promise<void> {
    const promise = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
    this.timer = setTimeout(onTimeout, Math.min(timeoutMs, MAX_TIMER_MS), this);
    this.timer.unref();
    this.signal.addEventListener("abort", this);
    return promise;
  }

  handleEvent(): void {
    this.finish();
  }

  finish(): void {
    const resolve = this.resolve;
    if (resolve === null) return;
    this.resolve = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.signal.removeEventListener("abort", this);
    this.set.delete(this);
    if (this.set.size === 0 && this.registry.get(this.queue) === this.set) {
      this.registry.delete(this.queue);
    }
    resolve();
  }
}
