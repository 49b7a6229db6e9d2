import { Redis } from "ioredis";
import pg from "pg";

/** Fail the whole run with an actionable message unless both servers answer. */
export default async function setup(): Promise<void> {
  const redisUrl = process.env.REDIS_URL;
  const databaseUrl = process.env.DATABASE_URL;
  const missing = [...(redisUrl ? [] : ["REDIS_URL"]), ...(databaseUrl ? [] : ["DATABASE_URL"])];
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(" and ")} not set: the app tests run end to end against a real Redis and PostgreSQL. From the repository root run \`eval "$(bash scripts/services.sh up)"\` (scripts/test.sh does it), or set them.`,
    );
  }
  const redis = new Redis(redisUrl!, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`REDIS_URL=${redisUrl} does not answer PING: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (err) {
    throw new Error(`DATABASE_URL=${databaseUrl} does not answer: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
