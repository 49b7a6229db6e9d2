import { Redis } from "ioredis";

/** Fail the whole run with an actionable message unless REDIS_URL answers PING. */
export default async function setup(): Promise<void> {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === "") {
    throw new Error(
      'REDIS_URL is not set: the @queueflow/redis tests need a real Redis 7. Run `eval "$(bash scripts/servers/redis.sh up)"` from the repository root, or set REDIS_URL.',
    );
  }
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(`REDIS_URL=${url} does not answer PING: ${(err as Error).message}`);
  } finally {
    client.disconnect();
  }
}
