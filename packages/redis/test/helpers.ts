import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { RedisAdapter } from "../src/index.js";

/** The Redis the tests run against (global-setup.ts guarantees it is set and answering). */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error("REDIS_URL is not set (see test/global-setup.ts).");
  return url;
}

/** A key prefix no other run or test uses, so runs against a shared server never collide. */
export function testPrefix(label = "t"): string {
  return `qft-${label}-${randomUUID().replace(/-/g, "").slice(0, 10)}`;
}

/**
 * Delete every key under `prefix` with SCAN (fine in test cleanup, never on a hot path).
 * Works against a single node; for a Cluster pass its master nodes one by one.
 */
export async function deletePrefix(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    // One key per call: keys of different queues live in different Cluster slots.
    for (const key of keys) deleted += await client.unlink(key);
    cursor = next;
  } while (cursor !== "0");
  return deleted;
}

/** Open a client, run `fn`, and always close it. */
export async function withClient<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/**
 * An adapter on a fresh prefix for the tests around the call: connected before them, closed
 * and every key of its prefix deleted after them.
 */
export function useAdapter(label: string): { prefix: string; adapter: RedisAdapter } {
  const prefix = testPrefix(label);
  const adapter = new RedisAdapter({ url: redisUrl(), prefix });
  beforeAll(() => adapter.connect());
  afterAll(async () => {
    await adapter.close();
    await withClient((client) => deletePrefix(client, prefix));
  });
  return { prefix, adapter };
}
