import { QueueFlowError } from "@queueflow/core";
import { type Cluster, Redis, type RedisOptions } from "ioredis";

/** A client the adapter can run its scripts on: a single node or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** How the adapter gets its connection; see {@link RedisAdapterOptions}. */
export interface ConnectionOptions {
  client?: RedisClient;
  url?: string;
  redis?: RedisOptions;
}

/**
 * Defaults for a client the adapter creates. While Redis is unreachable, commands fail at
 * once with `QF_STORE_UNAVAILABLE` instead of queueing in memory without bound: the caller
 * (a worker's back-off, a producer's retry) decides what to do, and nothing it thought failed
 * runs later behind its back.
 * - `enableOfflineQueue: false`: a command issued while disconnected is refused, not queued.
 * - `maxRetriesPerRequest: 0`: a command in flight when the connection drops fails at once.
 *   With 1, a reconnect that succeeded at its first attempt discarded such commands without
 *   settling their promises (ioredis drops its unsent queue when resending is off), and a
 *   worker's settle hung forever (found by the Redis-restart test under load).
 * - `autoResendUnfulfilledCommands: false`: a script whose reply was lost is not sent again
 *   after a reconnect. A resent claim would lease a second batch while the first waits out
 *   its lease; the caller sees the error instead, and recovery returns what was leased.
 * - `lazyConnect: true`: nothing connects before `connect()`.
 * - `retryStrategy`: reconnect attempts 50 ms apart, growing to at most 500 ms. ioredis's own
 *   grows to 2 s, so after an outage of a minute a worker reached Redis again up to 2 s after
 *   it was back; at 500 ms a reconnect attempt costs a down server nothing that matters.
 * Options the user passes win over these.
 */
export const OWNED_CLIENT_DEFAULTS: Readonly<RedisOptions> = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 10_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
};

/** The client to use and whether the adapter created it (and so must close it). */
export function openClient(options: ConnectionOptions): { client: RedisClient; owned: boolean } {
  const { client, url, redis } = options;
  if (client !== undefined) {
    if (url !== undefined || redis !== undefined) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        "Pass either `client` or `url`/`redis` options to RedisAdapter, not both.",
      );
    }
    return { client, owned: false };
  }
  const merged: RedisOptions = { ...OWNED_CLIENT_DEFAULTS, ...redis };
  const created = url === undefined ? new Redis(merged) : new Redis(url, merged);
  quietErrors(created);
  return { client: created, owned: true };
}

/** True for an ioredis Cluster client (checked by flag: `instanceof` fails across installs). */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/**
 * Connect a client that has not connected yet (`lazyConnect`, or ended). A client that is
 * connecting or reconnecting on its own is left to it: after a failed first attempt ioredis
 * keeps retrying in the background, commands fail fast meanwhile, and work resumes by itself
 * once the server answers. `close()` stops those retries.
 */
export async function ensureConnected(client: RedisClient): Promise<void> {
  if (client.status !== "wait" && client.status !== "end") return;
  await client.connect();
}

/**
 * Connection errors reach callers through the failing commands (as `QF_STORE_UNAVAILABLE`);
 * a listener keeps ioredis from also logging each reconnect attempt as an unhandled error
 * event on connections the adapter owns.
 */
export function quietErrors(client: RedisClient): void {
  client.on("error", () => {});
}

/** Close what the adapter created: a graceful QUIT, or a hard disconnect if that fails. */
export async function closeOwned(client: RedisClient): Promise<void> {
  if (client.status !== "ready") {
    // Not connected (never, or retrying): nothing to flush, and disconnect() also cancels a
    // pending reconnect.
    client.disconnect();
    return;
  }
  // QUIT answers before the socket closes; wait for "end" so that close() returning means
  // closed (bounded: a socket that does not close is cut).
  const ended = new Promise<void>((resolve) => {
    const cut = setTimeout(() => {
      client.disconnect();
      resolve();
    }, 2_000);
    cut.unref();
    client.once("end", () => {
      clearTimeout(cut);
      resolve();
    });
  });
  try {
    await client.quit();
  } catch {
    // QUIT fails when the server is already gone; nothing is left to flush then.
    client.disconnect();
  }
  await ended;
}
