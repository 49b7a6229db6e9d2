/**
 * The cost of groups, QueueFlow against itself (no open-source peer has groups): processing
 * throughput at concurrency 100 with 1, 100 and 10,000 groups against the same jobs
 * ungrouped, and how long a small group's job waits behind one group's huge backlog, against
 * the same job ungrouped (FIFO behind the backlog). Runs alternate grouped and ungrouped.
 */
import { type BulkJob, Queue, type StorageAdapter, Worker } from "@queueflow/core";
import { PAYLOAD_200B, sleep } from "./common.js";
import { fmt, fmtSummary, summarize } from "./stats.js";
import { type FeatureStore, openAdapters } from "./store-adapters.js";

type Jobs = { noop: { payload: object; result: null } };

export interface GroupBenchOptions {
  runs: number;
  jobs: number;
  concurrency: number;
  groupCounts: number[];
  /** The big group's backlog in the wait scenario. */
  backlog: number;
  deadlineMs: number;
  /** The MongoDB test server scans without indexes: it gets these smaller sizes. */
  mongo: { jobs: number; backlog: number };
}

export interface GroupBenchResult {
  store: FeatureStore;
  /** jobs/s per group count; key "0" is ungrouped. */
  throughput: Record<string, number[]>;
  /** ms from add to start of one small-group job behind the backlog, grouped vs ungrouped. */
  wait: { grouped: number[]; ungrouped: number[] };
  notes: string[];
}

function progress(text: string): void {
  process.stderr.write(`\r\x1b[K${text}`);
}

async function addJobs(
  queue: Queue<Jobs>,
  count: number,
  group: (i: number) => string | undefined,
): Promise<void> {
  for (let done = 0; done < count; done += 1000) {
    const n = Math.min(1000, count - done);
    const batch: BulkJob<Jobs>[] = Array.from({ length: n }, (_, k) => {
      const g = group(done + k);
      return { name: "noop", payload: PAYLOAD_200B, options: g === undefined ? {} : { group: g } };
    });
    await queue.addBulk(batch);
  }
}

async function withQueue<T>(
  store: FeatureStore,
  fn: (queue: Queue<Jobs>, makeAdapter: () => StorageAdapter) => Promise<T>,
): Promise<T> {
  const set = await openAdapters(store);
  const producer = set.create();
  await producer.connect();
  const queue = new Queue<Jobs>("groups-bench", { adapter: producer });
  try {
    return await fn(queue, set.create);
  } finally {
    await queue.close();
    if (store !== "memory") await producer.close();
    await set.drop();
  }
}

/**
 * Jobs/s of one worker at `concurrency` draining `jobs` jobs spread over `groups` groups.
 * Past the deadline, the jobs done so far over the time taken (noted in `timedOut`).
 */
async function throughput(
  store: FeatureStore,
  o: GroupBenchOptions,
  groups: number,
  timedOut: string[],
) {
  return withQueue(store, async (queue, makeAdapter) => {
    await addJobs(queue, o.jobs, (i) => (groups === 0 ? undefined : `g${i % groups}`));
    const adapter = makeAdapter();
    await adapter.connect();
    let done = 0;
    const t0 = performance.now();
    const worker = new Worker<Jobs>(
      "groups-bench",
      { noop: () => null },
      {
        adapter,
        concurrency: o.concurrency,
        runSchedules: false,
      },
    );
    worker.on("completed", () => {
      done++;
    });
    try {
      while (done < o.jobs) {
        if (performance.now() - t0 > o.deadlineMs) {
          timedOut.push(`${groups} groups: ${done} of ${o.jobs} jobs in ${o.deadlineMs / 1000} s`);
          break;
        }
        await sleep(5);
      }
      return done / ((performance.now() - t0) / 1000);
    } finally {
      await worker.close();
      if (store !== "memory") await adapter.close();
    }
  });
}

/**
 * A worker is busy on a `backlog`-job group; one job of another group (or, ungrouped, one
 * more job at the back of the line) is added: ms until it starts.
 */
async function smallGroupWait(store: FeatureStore, o: GroupBenchOptions, grouped: boolean) {
  return withQueue(store, async (queue, makeAdapter) => {
    await addJobs(queue, o.backlog, () => (grouped ? "big" : undefined));
    const adapter = makeAdapter();
    await adapter.connect();
    let startedAt = 0;
    let started = 0;
    const worker = new Worker<Jobs>(
      "groups-bench",
      {
        noop: (job) => {
          started++;
          if ((job.payload as { probe?: boolean }).probe === true) startedAt = performance.now();
          return null;
        },
      },
      { adapter, concurrency: o.concurrency, runSchedules: false },
    );
    try {
      // Let the worker get going on the backlog first.
      const warm = performance.now();
      while (started < Math.min(1000, o.backlog / 10) && performance.now() - warm < o.deadlineMs) {
        await sleep(5);
      }
      const t0 = performance.now();
      await queue.add("noop", { probe: true }, grouped ? { group: "small" } : {});
      while (startedAt === 0) {
        if (performance.now() - t0 > o.deadlineMs) return Number.POSITIVE_INFINITY;
        await sleep(1);
      }
      return startedAt - t0;
    } finally {
      await worker.close(1000);
      if (store !== "memory") await adapter.close();
    }
  });
}

export async function groupBench(
  store: FeatureStore,
  options: GroupBenchOptions,
): Promise<GroupBenchResult> {
  const o = store === "mongo" ? { ...options, ...options.mongo } : options;
  const result: GroupBenchResult = {
    store,
    throughput: {},
    wait: { grouped: [], ungrouped: [] },
    notes: [],
  };
  const probe = await openAdapters(store);
  const capable = probe.create().capabilities.groups === true;
  await probe.drop();
  if (!capable) {
    result.notes.push("the adapter does not declare the groups capability");
    return result;
  }
  if (store === "mongo") {
    result.notes.push(
      `MongoDB test server (scans without indexes): ${fmt(o.jobs)} jobs, backlog ${fmt(o.backlog)}`,
    );
  }
  // The first measured run would otherwise also pay for JIT warm-up and connection set-up.
  progress(`groups ${store}: warm-up`);
  await throughput(store, { ...o, jobs: Math.ceil(o.jobs / 5) }, o.groupCounts[0] ?? 1, []);
  for (let run = 0; run < o.runs; run++) {
    for (const groups of [0, ...o.groupCounts]) {
      progress(
        `groups ${store}: run ${run + 1}/${o.runs}, ${groups === 0 ? "ungrouped" : `${groups} groups`}`,
      );
      const value = await throughput(store, o, groups, result.notes);
      const key = String(groups);
      result.throughput[key] = [...(result.throughput[key] ?? []), value];
    }
    progress(`groups ${store}: run ${run + 1}/${o.runs}, small-group wait`);
    result.wait.grouped.push(await smallGroupWait(store, o, true));
    result.wait.ungrouped.push(await smallGroupWait(store, o, false));
  }
  progress("");
  return result;
}

export function groupMarkdown(results: GroupBenchResult[], o: GroupBenchOptions): string[] {
  const lines = [
    "## Groups: cost against ungrouped (QueueFlow only)",
    "",
    `One worker, concurrency ${o.concurrency}, ${fmt(o.jobs)} no-op jobs spread round-robin over the groups; median (range) of ${o.runs} runs. Ratio = grouped / ungrouped throughput in the same run set.`,
    "",
    `| store | ungrouped jobs/s | ${o.groupCounts.map((g) => `${fmt(g)} groups jobs/s (ratio)`).join(" | ")} | small group's wait behind ${fmt(o.backlog)}: grouped ms | same job ungrouped ms |`,
    `| --- | --- | ${o.groupCounts.map(() => "---").join(" | ")} | --- | --- |`,
  ];
  for (const r of results) {
    if (r.throughput["0"] === undefined) {
      lines.push(`| ${r.store} | ${r.notes.join("; ")} |`);
      continue;
    }
    const store = r.notes.length > 0 ? `${r.store} (${r.notes.join("; ")})` : r.store;
    const base = summarize(r.throughput["0"] ?? []);
    const cells = o.groupCounts.map((g) => {
      const s = summarize(r.throughput[String(g)] ?? []);
      return `${fmtSummary(s)} (${fmt(s.median / base.median, 2)}×)`;
    });
    lines.push(
      `| ${store} | ${fmtSummary(base)} | ${cells.join(" | ")} | ${fmtSummary(summarize(r.wait.grouped), 1)} | ${fmtSummary(summarize(r.wait.ungrouped), 1)} |`,
    );
  }
  lines.push("");
  return lines;
}
