import type { RedisClient } from "./connection.js";
import { isCluster, quietErrors } from "./connection.js";

/** Idle blocking connections kept for the next wait; more are closed when their wait ends. */
const MAX_IDLE = 4;

/** Slack past a wait's own timeout before a BLPOP that did not come back is given up on. */
const GRACE_MS = 2_000;

/** Lifetime of a cancel entry the aborted BLPOP did not take (it took a job instead). */
const CANCEL_TTL_MS = 60_000;

/**
 * Blocking waits on a queue's lists (BLPOP), each on a connection of its own: a
 * blocked connection serves nobody else, so the adapter's main connection never blocks and
 * concurrent waits on different queues (different Cluster slots) never queue behind each
 * other. Connections are `duplicate()`s of the adapter's client, made on first use and kept
 * idle for reuse.
 *
 * Abort: the waiting connection is disconnected. That costs a reconnect on the next wait,
 * but aborts are rare (a worker stopping), while slicing the wait into short BLPOPs would
 * cost a round trip per slice on every idle worker, all the time.
 */
export class BlockingWaits {
  private readonly idle: RedisClient[] = [];
  private readonly busy = new Set<RedisClient>();
  private closed = false;

  constructor(private readonly client: RedisClient) {}

  /**
   * Resolve when an entry arrives on one of `listKeys` (and take the first one, checking the
   * keys in order: the popped key and entry), at `timeoutMs`, or on abort (null). Never
   * rejects: a connection failure waits out the timeout instead, so a worker whose claims
   * still succeed does not spin on a broken blocking connection.
   *
   * Abort cuts the connection, unless `cancel` is given: `cancel.key` is a list in the slot
   * of `listKeys`, unique to this wait; the abort pushes onto it and the BLPOP ends by taking
   * that entry, or an entry of `listKeys` that came first, which is returned. `cancel.leave`
   * (a sorted set and member) is removed in the same pipeline, just before the push. A cut
   * connection would leave its BLPOP blocked on the server until Redis sees the socket
   * close, and an entry popped meanwhile (a job handed to this wait) would reach no one.
   */
  wait(
    listKeys: readonly string[],
    timeoutMs: number,
    signal: AbortSignal,
    cancel?: { key: string; leave?: [set: string, member: string] },
  ): Promise<[key: string, entry: string] | null> {
    const cancelKey = cancel?.key;
    if (this.closed || signal.aborted || !(timeoutMs > 0)) return Promise.resolve(null);
    const conn = this.idle.pop() ?? this.duplicate();
    this.busy.add(conn);
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout;
      const finish = (reusable: boolean, popped: [string, string] | null = null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.release(conn, reusable);
        resolve(popped);
      };
      let cancelled = false;
      const onAbort = (): void => {
        if (cancelKey === undefined || this.client.status !== "ready") {
          finish(false);
          return;
        }
        cancelled = true;
        arm(GRACE_MS);
        const pipeline = this.client.pipeline();
        if (cancel?.leave !== undefined) pipeline.zrem(...cancel.leave);
        pipeline
          .lpush(cancelKey, "1")
          .pexpire(cancelKey, CANCEL_TTL_MS)
          .exec()
          .catch(() => finish(false));
      };
      const arm = (ms: number): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(false), ms);
        timer.unref();
      };
      arm(timeoutMs + GRACE_MS);
      signal.addEventListener("abort", onAbort, { once: true });
      const started = Date.now();
      // BLPOP takes seconds; 0 would block forever, so never round below 1 ms.
      const seconds = (Math.max(1, Math.ceil(timeoutMs)) / 1000).toFixed(3);
      const keys = cancelKey === undefined ? listKeys : [...listKeys, cancelKey];
      conn.blpop(...keys, seconds).then(
        (popped) => {
          if (popped !== null && popped[0] === cancelKey) {
            finish(true);
            return;
          }
          if (cancelled) this.client.del(cancelKey as string).catch(() => {});
          finish(true, popped);
        },
        () => {
          if (this.closed) finish(false);
          else arm(Math.max(0, started + timeoutMs - Date.now()));
        },
      );
    });
  }

  /** Close every blocking connection; pending waits resolve. */
  close(): void {
    this.closed = true;
    for (const conn of [...this.idle, ...this.busy]) conn.disconnect();
    this.idle.length = 0;
    this.busy.clear();
  }

  private duplicate(): RedisClient {
    const conn = this.open();
    quietErrors(conn);
    return conn;
  }

  private open(): RedisClient {
    if (isCluster(this.client)) return this.client.duplicate();
    // A blocking command must wait for its connection rather than fail before it is up, and
    // must not be cut short by a command timeout meant for ordinary commands.
    return this.client.duplicate({
      lazyConnect: false,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
    });
  }

  private release(conn: RedisClient, reusable: boolean): void {
    this.busy.delete(conn);
    if (reusable && !this.closed && this.idle.length < MAX_IDLE && conn.status === "ready") {
      this.idle.push(conn);
    } else {
      conn.disconnect();
    }
  }
}
