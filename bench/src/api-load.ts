/**
 * pnpm --filter @queueflow/bench bench:api [--store memory|redis] [--seconds 20] [--connections 50]
 *
 * Load on the HTTP API as it is deployed: autocannon (in this process) POSTs
 * `notification.send` jobs to `/api/queues/notifications/jobs` over loopback while a worker
 * drains the queue. The API and the worker are child processes started from the apps'
 * own entry points: on the memory store one process runs both (`apps/stack`, as `pnpm start`
 * does), on Redis the API and the worker are two processes sharing it (REDIS_URL, or a
 * server started through scripts/servers/redis.sh). Measures submit throughput and latency
 * percentiles; writes results/api.md (and api.json, one entry per store, so runs on the two
 * stores sit side by side). Bounded: the whole run is aborted after seconds + 120 s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { describeRedis, ensureRedis, stopStartedServers } from "./servers.js";

type Store = "memory" | "redis";

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "memory" },
    seconds: { type: "string", default: "20" },
    connections: { type: "string", default: "50" },
    warmup: { type: "string", default: "2" },
    out: { type: "string", default: fileURLToPath(new URL("../results/", import.meta.url)) },
  },
});

const store = values.store as Store;
if (store !== "memory" && store !== "redis") {
  throw new Error(`--store must be memory or redis, got ${values.store}`);
}
const seconds = positive(values.seconds, "--seconds");
const connections = positive(values.connections, "--connections");
const warmupSeconds = Number(values.warmup);
const outDir = values.out.endsWith("/") ? values.out : `${values.out}/`;

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

const APPS = fileURLToPath(new URL("../../apps/", import.meta.url));
const TSX = import.meta.resolve("tsx");
const API_KEY = `bench-${randomBytes(12).toString("base64url")}`;
const QUEUE = "notifications";
const BODY = JSON.stringify({
  name: "notification.send",
  payload: { userId: "bench-user", title: "Load", message: "Submitted by the API load bench" },
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];

function start(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", TSX, `${APPS}${entry}`], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

/** SIGTERM the children this run started (by their own handles), SIGKILL after 10 s. */
async function stopChildren(): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  children.length = 0;
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (children.some((c) => c.exitCode !== null)) {
      throw new Error("a child process exited during start-up (see its output above)");
    }
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within 60 s`);
}

interface Counts {
  waiting: number;
  active: number;
  completed: number;
  dead: number;
}

async function counts(apiUrl: string): Promise<Counts> {
  const res = await fetch(`${apiUrl}/api/queues/${QUEUE}`, { headers: { "x-api-key": API_KEY } });
  if (!res.ok) throw new Error(`GET /api/queues/${QUEUE} answered ${res.status}`);
  return ((await res.json()) as { counts: Counts }).counts;
}

function fire(url: string, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/api/queues/${QUEUE}/jobs`,
        method: "POST",
        connections,
        duration,
        headers: { "content-type": "application/json", "x-api-key": API_KEY },
        body: BODY,
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    process.once("SIGINT", () => instance.stop());
  });
}

interface RunResult {
  store: Store;
  storeVersion: string | null;
  processes: string;
  connections: number;
  seconds: number;
  requests: number;
  created: number;
  perSecond: { mean: number; p50: number; min: number };
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  afterRun: Counts;
  drainedInSeconds: number | null;
  node: string;
  /** The machine's 1-minute load average just before the measured run. */
  loadAverage: number;
  cpus: number;
  cpuModel: string;
  at: string;
}

async function run(): Promise<RunResult> {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const common: Record<string, string> = {
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    API_KEYS_ADMIN: API_KEY,
    // The limiters still run on every request; only their budgets are out of the way.
    RATE_LIMIT_MAX: "1000000",
    RATE_LIMIT_JOBS_MAX: "100000000",
    RATE_LIMIT_READ_MAX: "1000000",
    RATE_LIMIT_WINDOW_MS: "1000",
    WORKER_QUEUES: QUEUE,
    WORKER_CONCURRENCY: "50",
    // No NOTIFY_WEBHOOK_URL: the handler completes at once (development mode), so the worker
    // drains as fast as the store lets it and the figures are the API's.
    NOTIFY_WEBHOOK_URL: "",
  };
  let storeVersion: string | null = null;
  let namespace: string | null = null;
  let redisUrl: string | null = null;
  let processes: string;
  if (store === "memory") {
    start("stack/src/main.ts", { ...common, QUEUEFLOW_STORE: "memory" });
    processes = "one process: API + worker (apps/stack)";
  } else {
    redisUrl = await ensureRedis();
    storeVersion = await describeRedis(redisUrl);
    namespace = `qfbench_${randomBytes(4).toString("hex")}`;
    const env = {
      ...common,
      QUEUEFLOW_STORE: "redis",
      REDIS_URL: redisUrl,
      QUEUEFLOW_NAMESPACE: namespace,
    };
    const workerPort = await freePort();
    start("api/src/main.ts", env);
    start("worker/src/main.ts", { ...env, METRICS_PORT: String(workerPort) });
    await waitFor(`http://127.0.0.1:${workerPort}/health/live`);
    processes = "two processes: API (apps/api) and worker (apps/worker)";
  }
  try {
    await waitFor(`${apiUrl}/health/ready`);
    if (warmupSeconds > 0) await fire(apiUrl, warmupSeconds);
    // Requests autocannon dropped at the end of the warm-up may still land: let them.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const loadAverage = os.loadavg()[0] ?? 0;
    const before = await counts(apiUrl);
    const createdBefore = before.waiting + before.active + before.completed + before.dead;
    const result = await fire(apiUrl, seconds);
    const afterRun = await counts(apiUrl);
    const created = afterRun.waiting + afterRun.active + afterRun.completed + afterRun.dead;
    // How long the worker needs to catch up, bounded: the bench measures the API.
    const drainStart = Date.now();
    let drainedInSeconds: number | null = null;
    while (Date.now() - drainStart < 60_000) {
      const c = await counts(apiUrl);
      if (c.waiting + c.active === 0) {
        drainedInSeconds = (Date.now() - drainStart) / 1_000;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return {
      store,
      storeVersion,
      processes,
      connections,
      seconds,
      requests: result.requests.total,
      created: created - createdBefore,
      perSecond: {
        mean: result.requests.average,
        p50: result.requests.p50,
        min: result.requests.min,
      },
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: result.latency.average,
      },
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      afterRun,
      drainedInSeconds,
      node: process.version,
      loadAverage,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      at: new Date().toISOString(),
    };
  } finally {
    await stopChildren();
    if (redisUrl && namespace) await dropNamespace(redisUrl, namespace);
  }
}

async function dropNamespace(url: string, namespace: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

function markdown(results: RunResult[]): string {
  const r1 = (n: number) => (Math.round(n * 10) / 10).toLocaleString("en-US");
  const rows = results.map(
    (r) =>
      `| ${r.store}${r.storeVersion ? ` ${r.storeVersion}` : ""} | ${r.connections} | ${r.seconds} s | **${r1(r.perSecond.mean)}** | ${r1(r.latencyMs.p50)} | ${r1(r.latencyMs.p90)} | **${r1(r.latencyMs.p99)}** | ${r1(r.latencyMs.max)} | ${r.requests.toLocaleString("en-US")} | ${r.created.toLocaleString("en-US")} | ${r.non2xx + r.errors + r.timeouts} | ${r.drainedInSeconds === null ? "> 60 s" : `${r1(r.drainedInSeconds)} s`} |`,
  );
  const runs = results.map(
    (r) =>
      `- **${r.store}** (${r.at}): ${r.processes}; Node ${r.node}, ${r.cpus} × ${r.cpuModel}, load average ${r.loadAverage.toFixed(2)} before the run. After the run: ${r.afterRun.waiting} waiting, ${r.afterRun.active} active, ${r.afterRun.completed} completed, ${r.afterRun.dead} dead.`,
  );
  return [
    "# API load",
    "",
    "`pnpm --filter @queueflow/bench bench:api [--store memory|redis] [--seconds 20] [--connections 50]`",
    "",
    "autocannon POSTs one `notification.send` job per request to `/api/queues/notifications/jobs`",
    "over loopback (an admin key, the rate limiter on with a budget out of reach, payload",
    "validation against the job catalog, the store's add) while a worker drains the queue",
    "(no webhook configured: each job completes at once). The API and the worker run as the",
    "apps' own entry points: one process on the memory store, two on Redis. autocannon runs in",
    "the bench process on the same machine, so the load generator, the API, the worker and",
    "Redis share its cores: read the figures as this machine's, not as a capacity plan.",
    `A ${warmupSeconds} s warm-up at the same load precedes each measured run. "jobs created" is`,
    "what the store gained, so it includes the requests in flight when autocannon stopped (up to",
    "the connection count); the load average shows what else the machine was running.",
    "",
    "| store | connections | duration | submits/s (mean) | p50 ms | p90 ms | p99 ms | max ms | requests | jobs created | errors + non-2xx | worker drained after |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    ...runs,
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const deadline = setTimeout(
    () => {
      process.stderr.write(`bench:api: no result after ${seconds + 120} s; stopping\n`);
      void stopChildren().finally(() => process.exit(2));
    },
    (seconds + warmupSeconds + 120) * 1_000,
  );
  deadline.unref();
  try {
    const result = await run();
    mkdirSync(outDir, { recursive: true });
    const jsonPath = `${outDir}api.json`;
    const previous: RunResult[] = existsSync(jsonPath)
      ? (JSON.parse(readFileSync(jsonPath, "utf8")) as RunResult[])
      : [];
    const results = [...previous.filter((r) => r.store !== result.store), result].sort((a, b) =>
      a.store.localeCompare(b.store),
    );
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(`${outDir}api.md`, markdown(results));
    console.log(
      `${store}: ${result.perSecond.mean.toFixed(0)} submits/s, p99 ${result.latencyMs.p99} ms, ${result.non2xx + result.errors + result.timeouts} errors, ${result.requests} requests (${connections} connections, ${seconds} s)`,
    );
    console.log(`wrote ${outDir}api.md`);
  } finally {
    clearTimeout(deadline);
    await stopStartedServers();
  }
}

main().catch(async (err) => {
  console.error(err);
  await stopChildren();
  await stopStartedServers();
  process.exit(1);
});
