/**
 * pnpm bench:features [--quick] [--stores memory,redis,postgres,mongo] [--only groups,dead-letters]
 *                      [--runs N]
 * The features no peer offers in the open, measured against QueueFlow's own baseline: job
 * groups (throughput by number of groups, a small group's wait behind a huge one) and dead
 * letters (stats and replay at scale). Writes results/features.md and features.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { withDeadline } from "./common.js";
import {
  type DeadLetterBenchOptions,
  type DeadLetterBenchResult,
  deadLetterBench,
  deadLetterMarkdown,
} from "./dead-letters.js";
import {
  type GroupBenchOptions,
  type GroupBenchResult,
  groupBench,
  groupMarkdown,
} from "./groups.js";
import { stopStartedServers } from "./servers.js";
import type { FeatureStore } from "./store-adapters.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    stores: { type: "string", default: "memory,redis,postgres,mongo" },
    only: { type: "string", default: "groups,dead-letters" },
    out: { type: "string", default: new URL("../results/", import.meta.url).pathname },
  },
});

const quick = values.quick;
const stores = values.stores.split(",").map((s) => s.trim()) as FeatureStore[];
const only = new Set(values.only.split(",").map((s) => s.trim()));
const outDir = values.out.endsWith("/") ? values.out : `${values.out}/`;
mkdirSync(outDir, { recursive: true });

const groups: GroupBenchOptions = {
  runs: Number(values.runs ?? (quick ? 1 : 3)),
  jobs: quick ? 10_000 : 20_000,
  concurrency: 100,
  groupCounts: [1, 100, 10_000],
  backlog: quick ? 20_000 : 100_000,
  deadlineMs: quick ? 60_000 : 180_000,
  mongo: { jobs: 2_000, backlog: 5_000 },
};

const deadLetters: DeadLetterBenchOptions = {
  small: 1_000,
  large: quick ? 20_000 : 100_000,
  replay: quick ? 2_000 : 10_000,
  samples: 5,
  mongoLarge: quick ? 5_000 : 20_000,
};

async function main(): Promise<void> {
  const groupResults: GroupBenchResult[] = [];
  const deadLetterResults: DeadLetterBenchResult[] = [];
  for (const store of stores) {
    if (only.has("groups")) groupResults.push(await groupBench(store, groups));
    if (only.has("dead-letters")) deadLetterResults.push(await deadLetterBench(store, deadLetters));
  }
  const md = [
    "# QueueFlow feature benchmarks",
    "",
    `${new Date().toISOString()} · ${os.cpus().length} cores · ${fmtGiB(os.totalmem())} · Node ${process.version}${quick ? " · --quick" : ""}`,
    "",
    ...(groupResults.length > 0 ? groupMarkdown(groupResults, groups) : []),
    ...(deadLetterResults.length > 0 ? deadLetterMarkdown(deadLetterResults, deadLetters) : []),
  ].join("\n");
  writeFileSync(`${outDir}features.md`, `${md}\n`);
  writeFileSync(
    `${outDir}features.json`,
    `${JSON.stringify(
      {
        quick,
        groups: { options: groups, results: groupResults },
        deadLetters: { options: deadLetters, results: deadLetterResults },
      },
      null,
      2,
    )}\n`,
  );
  console.log(md);
}

function fmtGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(0)} GiB`;
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
setTimeout(() => process.exit(code), 2_000).unref();
process.exitCode = code;
