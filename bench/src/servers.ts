/**
 * Starts Redis, PostgreSQL and the MongoDB test server through the project's scripts/servers/*.sh (loopback only) unless
 * REDIS_URL / DATABASE_URL / MONGO_URL are set, and stops at the end only what this process started.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";

const SCRIPTS = fileURLToPath(new URL("../../scripts/servers/", import.meta.url));

/** Scripts whose server this process started, in start order: the ones it stops at the end. */
const started: string[] = [];
/** URL per script already brought up (started or found running) by this process. */
const ensured = new Map<string, string>();

function runScript(
  script: string,
  action: "up" | "down",
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    delete env.MONGO_URL;
    execFile(
      "bash",
      [`${SCRIPTS}${script}`, action],
      { env, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (stderr) process.stderr.write(stderr);
        if (error) reject(new Error(`${script} ${action} failed: ${error.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

async function ensure(variable: string, script: string): Promise<string> {
  const existing = process.env[variable] ?? ensured.get(script);
  if (existing) return existing;
  const { stdout, stderr } = await runScript(script, "up");
  const match = stdout.match(new RegExp(`export ${variable}=(\\S+)`));
  if (!match?.[1]) throw new Error(`${script} up printed no ${variable}`);
  const url = match[1].replace(/^['"]|['"]$/g, "");
  ensured.set(script, url);
  // A server the script found running (its own from an earlier run, or the developer's)
  // belongs to whoever started it: leave it running at the end.
  if (!/\breusing\b/.test(stderr)) started.push(script);
  return url;
}

export const ensureRedis = () => ensure("REDIS_URL", "redis.sh");
export const ensurePostgres = () => ensure("DATABASE_URL", "postgres.sh");
/** mongo-java-server (an in-memory test server speaking the wire protocol), not MongoDB. */
export const ensureMongo = () => ensure("MONGO_URL", "mongo.sh");

/** Stops the servers this process started (in reverse order). */
export async function stopStartedServers(): Promise<void> {
  for (const script of started.reverse()) {
    try {
      await runScript(script, "down");
    } catch (error) {
      process.stderr.write(`${String(error)}\n`);
    }
  }
  started.length = 0;
  ensured.clear();
}

/**
 * The Redis version, and what the server already held when the run began. Leftover keys
 * (earlier runs, tests, a developer's data) can skew the figures: on a server holding 1.5
 * million of them (900 MB) QueueFlow's concurrency-10 throughput measured 1.15x BullMQ, and
 * the same code 1.80x once the server was flushed (one run each; runs spread widely). So the
 * report says what the server held, and stderr warns.
 */
export async function describeRedis(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info("server");
    const version = info.match(/redis_version:(\S+)/)?.[1] ?? "unknown";
    const keys = await redis.dbsize();
    if (keys === 0) return version;
    const memory = (await redis.info("memory")).match(/used_memory_human:(\S+)/)?.[1] ?? "?";
    process.stderr.write(
      `bench: the Redis at ${url} already holds ${keys} keys (${memory}); figures on a server with leftovers are skewed: prefer an empty one\n`,
    );
    return `${version} (held ${keys.toLocaleString("en-US")} keys, ${memory}, before the run)`;
  } finally {
    redis.disconnect();
  }
}

export async function postgresVersion(url: string): Promise<string> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const { rows } = await pool.query<{ v: string }>("select version() as v");
    return rows[0]?.v.split(" on ")[0] ?? "unknown";
  } finally {
    await pool.end();
  }
}
