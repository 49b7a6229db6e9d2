/**
 * Redis error replies that mean "the server cannot serve this now", not "this command is
 * wrong": loading a dataset, a replica that lost its master, a cluster mid-failover.
 */
const UNAVAILABLE_REPLIES = /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY)\b/;

/**
 * True when a Redis call's error means the server cannot be reached now: every ioredis error
 * that is not a server reply (refused, reset, timed out, offline queue disabled, retries
 * exhausted, cluster slots not loaded) and the server replies above. Other server replies (a
 * script bug, a wrong type under one of our keys) are not retryable and pass through
 * unchanged, so they surface.
 */
export function isUnavailable(err: unknown): boolean {
  const isReply = err instanceof Error && err.name === "ReplyError";
  return !isReply || UNAVAILABLE_REPLIES.test(err.message);
}

/** What a store result code means, per script that answers with one. */
const OUTCOMES = {
  settle: { 1: "ok", 0: "lease_lost" },
  remove: { 1: "removed", 0: "not_found", [-1]: "active" },
} as const;

type Outcomes = typeof OUTCOMES;

/**
 * Map a script's integer result to the contract's answer, the one place Lua result codes
 * are read.
 * @throws Error for a code the script never returns (a version mismatch between adapter
 * and scripts).
 */
export function outcome<K extends keyof Outcomes>(
  script: K,
  code: unknown,
): Outcomes[K][keyof Outcomes[K]] {
  const table = OUTCOMES[script] as unknown as Record<number, Outcomes[K][keyof Outcomes[K]]>;
  const value = typeof code === "number" ? table[code] : undefined;
  if (value === undefined) {
    throw new Error(`Unexpected result ${JSON.stringify(code)} from the ${script} script.`);
  }
  return value;
}
