import type { RateLimit } from "../contract.js";

/**
 * Start times of a queue's recent claims, for a sliding-window rate limit: at most `max`
 * starts in any window of `windowMs`. Only starts inside the current window matter, and of
 * those only the newest `max`, so the deque stays O(max).
 *
 * Starts are recorded only while a limit is set; turning a limit on therefore counts from
 * that moment, not retroactively.
 */
export class RateWindow {
  private times: number[] = [];
  private head = 0;

  /** How many more jobs may start at `now` under `limit`. */
  available(now: number, limit: RateLimit): number {
    this.prune(now, limit);
    return Math.max(0, limit.max - (this.times.length - this.head));
  }

  record(now: number): void {
    this.times.push(now);
  }

  /**
   * When the window next admits a start, if it is full now. Call after `available`, which
   * prunes what left the window.
   */
  nextFreeAt(limit: RateLimit): number | null {
    const count = this.times.length - this.head;
    if (count < limit.max) return null;
    // The window frees a slot when the start that puts it at `max` leaves it.
    const blocking = this.times[this.head + count - limit.max];
    return blocking === undefined ? null : blocking + limit.windowMs;
  }

  /** True when no start is remembered (none recorded, or all pruned). */
  isEmpty(): boolean {
    return this.times.length === this.head;
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }

  private prune(now: number, limit: RateLimit): void {
    const times = this.times;
    const cutoff = now - limit.windowMs;
    let head = this.head;
    // A start at `cutoff` or earlier lies outside the window (cutoff, now].
    while (head < times.length && (times[head] as number) <= cutoff) head++;
    // Starts older than the newest `max` can never decide admission again.
    const excess = times.length - head - Math.max(limit.max, 0);
    if (excess > 0) head += excess;
    if (head > 1024 && head * 2 > times.length) {
      this.times = times.slice(head);
      head = 0;
    }
    this.head = head;
  }
}
