/**
 * pnpm bench [--quick] [--stores memory,redis,postgres,mongo]
 *            [--peers BullMQ,pg-boss,graphile-worker,Sidequest,Agenda]
 *            [--extras multiproc,growth]
 *            [--jobs N] [--runs N] [--out DIR]
 * Memory: QueueFlow alone (results/memory.md). Redis and PostgreSQL: QueueFlow against its peers
 * on the same server in the same run (results/latest.md, latest.json, throughput.svg). MongoDB:
 * QueueFlow against Agenda on the mongo-java-server test server.
 */
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Library, StoreName } from "./common.js";
import { withDeadline } from "./common.js";
import { type CompareOptions, compareStore, type Figure } from "./compare.js";
import { claimGrowth, type GrowthOptions, type GrowthResult, growthMarkdown } from "./growth.js";
import { LIBRARIES, librariesFor } from "./libraries.js";
import { runMemoryBenchmark } from "./memory-report.js";
import { mongoVersion } from "./mongo-util.js";
import { type MultiProcessOptions, multiProcessFigures } from "./multiproc.js";
import { type Environment, writeReports } from "./report.js";
import {
  describeRedis,
  ensureMongo,
  ensurePostgres,
  ensureRedis,
  postgresVersion,
  stopStartedServers,
} from "./servers.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    jobs: { type: "string" },
    stores: { type: "string", default: "memory,redis,postgres,mongo" },
    peers: { type: "string", default: Object.keys(LIBRARIES).join(",") },
    extras: { type: "string", default: "multiproc,growth" },
    out: { type: "string", default: new URL("../results/", import.meta.url).pathname },
  },
});

const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 3 : 5));
const stores = new Set(values.stores.split(",").map((s) => s.trim()));
const peers = new Set(values.peers.split(",").map((s) => s.trim()));
const extras = new Set(values.extras.split(",").map((s) => s.trim()));
const outDir = values.out.endsWith("/") ? values.out : `${values.out}/`;
mkdirSync(outDir, { recursive: true });

const options: CompareOptions = {
  runs,
  jobs: Number(values.jobs ?? (quick ? 5_000 : 20_000)),
  // At concurrency 1 a job is a full claim/settle cycle: --quick measures it on fewer.
  serialJobs: Number(values.jobs ?? (quick ? 1_000 : 20_000)),
  bulkJobs: 10_000,
  oneByOneJobs: quick ? 1_000 : 3_000,
  concurrencies: [1, 10, 100],
  processDeadlineMs: quick ? 6_000 : 30_000,
  latencyRate: 50,
  latencySeconds: quick ? 2 : 5,
};

const multi: MultiProcessOptions = {
  runs: quick ? 2 : runs,
  // --quick keeps one concurrency per layout so the whole run stays short.
  layouts: quick
    ? [
        { processes: 1, concurrencies: [10] },
        { processes: 2, concurrencies: [50] },
      ]
    : [
        { processes: 1, concurrencies: [1, 10, 100] },
        { processes: 2, concurrencies: [10, 50] },
      ],
  jobs: options.jobs,
  deadlineMs: quick ? 20_000 : 60_000,
};

const growth: GrowthOptions = {
  runs,
  jobs: 2_000,
  concurrency: 10,
  big: quick ? 20_000 : 1_000_000,
  fillBudgetMs: quick ? 60_000 : 240_000,
  deadlineMs: 30_000,
};

/** Run a section of the benchmark, then say on stderr how long it took. */
async function timed<T>(label: string, section: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await section();
  process.stderr.write(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return result;
}

async function main(): Promise<void> {
  if (stores.has("memory")) {
    const report = await timed("memory", () =>
      runMemoryBenchmark(quick, runs, `${outDir}memory.md`),
    );
    console.log(report);
  }
  const figures: Figure[] = [];
  const growthResults: GrowthResult[] = [];
  const env: Environment = { servers: {}, libraries: {}, settings: {} };
  const note = (lib: Library) => {
    env.libraries[lib.name] = lib.version;
    env.settings[`${lib.name} (${lib.store})`] = lib.settings;
  };

  for (const store of ["redis", "postgres", "mongo"] as StoreName[]) {
    if (!stores.has(store)) continue;
    let libs: Library[] = [];
    const urls: Partial<Record<StoreName, string>> = {};
    const setUp = performance.now();
    if (store === "redis") {
      const url = await ensureRedis();
      urls.redis = url;
      env.servers.Redis = await describeRedis(url);
      libs = await librariesFor(store, url, peers);
    } else if (store === "mongo") {
      const url = await ensureMongo();
      env.servers.MongoDB = await mongoVersion(url);
      libs = await librariesFor(store, url, peers);
    } else {
      const url = await ensurePostgres();
      urls.postgres = url;
      env.servers.PostgreSQL = await postgresVersion(url);
      libs = await librariesFor(store, url, peers);
    }
    for (const lib of libs) note(lib);
    process.stderr.write(`${store} set-up: ${((performance.now() - setUp) / 1000).toFixed(1)} s\n`);
    // On the Mongo test server both sides scan without indexes and time out at full size;
    // --quick gives it a fifth of the jobs so the whole run stays under five minutes.
    const sized =
      store === "mongo" && quick
        ? {
            ...options,
            jobs: options.jobs / 5,
            serialJobs: options.serialJobs / 5,
            oneByOneJobs: options.oneByOneJobs / 5,
            processDeadlineMs: options.processDeadlineMs / 2,
          }
        : options;
    figures.push(...(await compareStore(store, libs, sized)));
    if (store !== "mongo" && extras.has("multiproc")) {
      figures.push(...(await multiProcessFigures(store, libs, urls[store]!, multi)));
    }
    if (store !== "mongo" && extras.has("growth")) {
      growthResults.push(await timed(`${store} growth`, () => claimGrowth(libs[0]!, growth)));
    }
  }
  if (figures.length > 0) {
    const md = writeReports(outDir, figures, env, options, quick, {
      markdown: growthMarkdown(growthResults, growth),
      json: { multiProcess: multi, growth: { options: growth, results: growthResults } },
    });
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
