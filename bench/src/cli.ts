/**
 * pnpm bench [--quick] [--stores memory,redis,postgres] [--peers bullmq,pg-boss,graphile-worker]
 *            [--jobs N] [--runs N]
 * Memory: QueueFlow alone (results/memory.md). Redis and PostgreSQL: QueueFlow against its peers
 * on the same server in the same run (results/latest.md, latest.json, throughput.svg).
 */
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Library, StoreName } from "./common.js";
import { withDeadline } from "./common.js";
import { type CompareOptions, compareStore, type Figure } from "./compare.js";
import { runMemoryBenchmark } from "./memory-report.js";
import { bullmqLibrary } from "./peers/bullmq.js";
import { graphileWorkerLibrary } from "./peers/graphile-worker.js";
import { pgBossLibrary } from "./peers/pg-boss.js";
import { queueflowLibrary } from "./queueflow.js";
import { type Environment, writeReports } from "./report.js";
import {
  ensurePostgres,
  ensureRedis,
  postgresVersion,
  redisVersion,
  stopStartedServers,
} from "./servers.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    jobs: { type: "string" },
    stores: { type: "string", default: "memory,redis,postgres" },
    peers: { type: "string", default: "bullmq,pg-boss,graphile-worker" },
    out: { type: "string", default: new URL("../results/", import.meta.url).pathname },
  },
});

const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 3 : 5));
const stores = new Set(values.stores.split(",").map((s) => s.trim()));
const peers = new Set(values.peers.split(",").map((s) => s.trim()));
const outDir = values.out.endsWith("/") ? values.out : `${values.out}/`;
mkdirSync(outDir, { recursive: true });

const options: CompareOptions = {
  runs,
  jobs: Number(values.jobs ?? (quick ? 5_000 : 20_000)),
  bulkJobs: 10_000,
  oneByOneJobs: quick ? 1_000 : 3_000,
  concurrencies: [1, 10, 100],
  processDeadlineMs: quick ? 6_000 : 30_000,
  latencyRate: 50,
  latencySeconds: quick ? 2 : 5,
};

async function main(): Promise<void> {
  if (stores.has("memory")) {
    console.log(await runMemoryBenchmark(quick, runs, `${outDir}memory.md`));
  }
  const figures: Figure[] = [];
  const env: Environment = { servers: {}, libraries: {}, settings: {} };
  const note = (lib: Library) => {
    env.libraries[lib.name] = lib.version;
    env.settings[`${lib.name} (${lib.store})`] = lib.settings;
  };

  for (const store of ["redis", "postgres"] as StoreName[]) {
    if (!stores.has(store)) continue;
    const libs: Library[] = [];
    if (store === "redis") {
      const url = await ensureRedis();
      env.servers.Redis = await redisVersion(url);
      libs.push(await queueflowLibrary("redis", url));
      if (peers.has("bullmq")) libs.push(await bullmqLibrary(url));
    } else {
      const url = await ensurePostgres();
      env.servers.PostgreSQL = await postgresVersion(url);
      libs.push(await queueflowLibrary("postgres", url));
      if (peers.has("pg-boss")) libs.push(await pgBossLibrary(url));
      if (peers.has("graphile-worker")) libs.push(await graphileWorkerLibrary(url));
    }
    for (const lib of libs) note(lib);
    figures.push(...(await compareStore(store, libs, options)));
  }
  if (figures.length > 0) {
    const md = writeReports(outDir, figures, env, options, quick);
    console.log(md);
  }
}

let code = 0;
try {
  await main();
} catch (error) {
  console.error(error);
  code = 1;
} finally {
  await withDeadline("stopping servers", 60_000, stopStartedServers()).catch((e) =>
    console.error(String(e)),
  );
}
// Everything is closed by now; a library's stray timer must not keep the bench alive.
setTimeout(() => {
  console.error(`still open after 2 s: ${process.getActiveResourcesInfo().join(", ")}; exiting`);
  process.exit(code);
}, 2_000).unref();
process.exitCode = code;
