import type { ClientConfig, Notification } from "pg";
import pg from "pg";

/** Reconnect backoff of the listening connection: doubles from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;
/** Node fires longer timers at once (with a warning), so longer waits are capped. */
const MAX_TIMER_MS = 2_147_483_647;

/** One pending wait; ends exactly once (notification, timeout, abort, close or finish()). */
export class Waiter {
  readonly promise: Promise<void>;
  private resolve: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly owner: Set<Waiter>,
    private readonly signal: AbortSignal,
    timeoutMs: number,
  ) {
    this.promise = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
    owner.add(this);
    this.timer = setTimeout(() => this.finish(), Math.min(timeoutMs, MAX_TIMER_MS));
    this.timer.unref();
    signal.addEventListener("abort", this);
  }

  get done(): boolean {
    return this.resolve === null;
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
    this.owner.delete(this);
    resolve();
  }
}

/**
 * The LISTEN side of wake-up: one dedicated connection (never a pool client, so it holds no
 * slot of the pool's normal traffic) listening on the schema's channel, whose notifications
 * carry a queue name. Started on the first wait; if the connection drops, every waiter is
 * woken (a notification may have been lost, so they should claim again) and it reconnects by
 * itself with backoff. While it is down, waits still end at their timeout: the core polls.
 */
export class WakeUpListener {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private client: pg.Client | null = null;
  private starting: Promise<boolean> | null = null;
  private retryDelay = RETRY_FIRST_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Bumped whenever LISTEN starts or stops: marks taken across a gap never match. */
  private generation = 0;
  /** Notifications received per queue (only read through {@link mark}). */
  private readonly received = new Map<string, number>();

  /**
   * @param config how to open the listening connection (the pool's own options).
   * @param channel the channel name as received in notifications.
   * @param channelIdent the channel as a quoted identifier, for LISTEN.
   */
  constructor(
    private readonly config: ClientConfig,
    private readonly channel: string,
    private readonly channelIdent: string,
  ) {}

  /** Register a wait on `queue`; the caller must `start()` to be notified. */
  wait(queue: string, timeoutMs: number, signal: AbortSignal): Waiter {
    let set = this.waiters.get(queue);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(queue, set);
    }
    const waiter = new Waiter(set, signal, timeoutMs);
    void waiter.promise.then(() => {
      if (set.size === 0 && this.waiters.get(queue) === set) this.waiters.delete(queue);
    });
    return waiter;
  }

  /** Listen if not yet. Resolves true once LISTEN is active, false if it failed; never rejects. */
  start(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.client !== null && this.starting === null) return Promise.resolve(true);
    if (this.starting === null) {
      this.starting = this.open().finally(() => {
        this.starting = null;
      });
    }
    return this.starting;
  }

  /**
   * What this listener has received for `queue` so far, or null while it is not listening.
   * Equal marks taken at two moments mean LISTEN was active throughout and no notification
   * for the queue arrived in between.
   */
  mark(queue: string): string | null {
    if (this.client === null || this.starting !== null) return null;
    return `${this.generation}:${this.received.get(queue) ?? 0}`;
  }

  /** Wake every waiter of `queue`. */
  notify(queue: string): void {
    const set = this.waiters.get(queue);
    if (set === undefined) return;
    this.waiters.delete(queue);
    for (const waiter of [...set]) waiter.finish();
  }

  /** Stop listening and wake every waiter. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.wakeAll();
    const client = this.client;
    this.client = null;
    if (client !== null) await client.end().catch(() => undefined);
  }

  private wakeAll(): void {
    for (const queue of [...this.waiters.keys()]) this.notify(queue);
  }

  private async open(): Promise<boolean> {
    const client = new pg.Client(this.config);
    // An error on an idle listening connection would otherwise crash the process.
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    client.on("notification", (msg: Notification) => {
      if (msg.channel !== this.channel || msg.payload === undefined) return;
      this.received.set(msg.payload, (this.received.get(msg.payload) ?? 0) + 1);
      this.notify(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${this.channelIdent}`);
    } catch {
      // Unreachable for now: waits fall back to their timeouts while we retry.
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      this.scheduleRetry();
      return false;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return false;
    }
    this.client = client;
    this.generation++;
    const reconnected = this.retryDelay !== RETRY_FIRST_MS;
    this.retryDelay = RETRY_FIRST_MS;
    // Notifications sent while we were away are gone: let everyone look for work.
    if (reconnected) this.wakeAll();
    return true;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.generation++;
    client.end().catch(() => undefined);
    this.wakeAll();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.start();
    }, delay);
    this.retryTimer.unref();
  }
}
