/**
 * Claim cost as the store grows, QueueFlow only: processing throughput (one Worker, `jobs`
 * jobs) on a fresh queue vs with N completed jobs kept, and vs with N waiting behind them.
 * The two big sessions are filled once (bulk path, batches of 1,000, within a time budget)
 * and reused by every run; the baseline is a fresh session per run. Runs alternate.
 */
import { type Library, type Session, sleep } from "./common.js";
import { type Sample, withSession } from "./measures.js";
import { fmt, summarize } from "./stats.js";

export interface GrowthOptions {
  runs: number;
  jobs: number;
  concurrency: number;
  /** N: completed jobs kept / waiting backlog. */
  big: number;
  /** Stop filling (and report the N reached) past this. */
  fillBudgetMs: number;
  deadlineMs: number;
}

export interface GrowthResult {
  store: string;
  big: { completed: number; waiting: number };
  fillSeconds: { completed: number; waiting: number };
  samples: { base: Sample[]; completed: Sample[]; backlog: Sample[] };
}

/** Jobs/s for one worker until it has completed `n` jobs (whatever else is waiting). */
async function drain(
  s: Session,
  concurrency: number,
  n: number,
  deadlineMs: number,
): Promise<Sample & { done: number }> {
  const t0 = performance.now();
  const worker = await s.work(concurrency);
  let done = 0;
  let timedOut = false;
  for (;;) {
    done = await worker.settled(n);
    if (done >= n) break;
    if (performance.now() - t0 > deadlineMs) {
      timedOut = true;
      done = await worker.settled(0);
      break;
    }
    await sleep(5);
  }
  const value = done / ((performance.now() - t0) / 1000);
  await worker.close();
  return { value, timedOut, done };
}

/** Bulk-adds up to `n` jobs within the budget; returns how many were added. */
async function fill(s: Session, n: number, budgetMs: number): Promise<number> {
  const t0 = performance.now();
  let added = 0;
  while (added < n && performance.now() - t0 < budgetMs) {
    const batch = Math.min(20_000, n - added);
    await s.addBulk(batch); // addBulk sends batches of 1,000
    added += batch;
  }
  return added;
}

function progress(text: string): void {
  process.stderr.write(`\r\x1b[K${text}`);
}

export async function claimGrowth(lib: Library, o: GrowthOptions): Promise<GrowthResult> {
  const r: GrowthResult = {
    store: lib.store,
    big: { completed: 0, waiting: 0 },
    fillSeconds: { completed: 0, waiting: 0 },
    samples: { base: [], completed: [], backlog: [] },
  };
  await withSession(lib, (done) =>
    withSession(lib, async (backlog) => {
      progress(`${lib.store} growth: filling ${fmt(o.big)} jobs to complete`);
      let t0 = performance.now();
      const n = await fill(done, o.big, o.fillBudgetMs / 2);
      // Complete them with one fast worker: the store keeps completed jobs (default retention).
      const finished = await drain(done, 100, n, o.fillBudgetMs);
      r.big.completed = finished.done;
      r.fillSeconds.completed = (performance.now() - t0) / 1000;
      progress(`${lib.store} growth: filling ${fmt(o.big)} waiting jobs`);
      t0 = performance.now();
      r.big.waiting = await fill(backlog, o.big, o.fillBudgetMs / 2);
      r.fillSeconds.waiting = (performance.now() - t0) / 1000;
      for (let run = 0; run < o.runs; run++) {
        progress(`${lib.store} growth: run ${run + 1}/${o.runs}`);
        r.samples.base.push(
          await withSession(lib, async (s) => {
            await s.addBulk(o.jobs);
            const d = await drain(s, o.concurrency, o.jobs, o.deadlineMs);
            return { value: d.value, timedOut: d.timedOut };
          }),
        );
        await done.addBulk(o.jobs);
        const c = await drain(done, o.concurrency, o.jobs, o.deadlineMs);
        r.samples.completed.push({ value: c.value, timedOut: c.timedOut });
        const b = await drain(backlog, o.concurrency, o.jobs, o.deadlineMs);
        r.samples.backlog.push({ value: b.value, timedOut: b.timedOut });
      }
      progress("");
    }),
  );
  return r;
}

const STORE = { redis: "Redis", postgres: "PostgreSQL", mongo: "MongoDB test server" } as const;

function cell(samples: Sample[]): string {
  const s = summarize(samples.map((x) => x.value));
  const t = samples.filter((x) => x.timedOut).length;
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})${t ? ` ⏱${t}` : ""}`;
}

function ratio(a: Sample[], b: Sample[]): string {
  return fmt(summarize(a.map((x) => x.value)).median / summarize(b.map((x) => x.value)).median, 2);
}

export function growthMarkdown(results: GrowthResult[], o: GrowthOptions): string[] {
  if (results.length === 0) return [];
  const lines = [
    "## Claim cost as the store grows (QueueFlow)",
    "",
    `Processing throughput, one Worker at concurrency ${o.concurrency}, ${fmt(o.jobs)} no-op jobs, ${o.runs} runs alternated (jobs/s, median (min–max)). Baseline: a fresh queue holding only those ${fmt(o.jobs)} jobs (the small backlog). "N completed": the same on a queue that also keeps N completed jobs. "N waiting": the first ${fmt(o.jobs)} of N + jobs waiting. Completion is counted from the Worker's \`completed\` events in this process (emitted once the store has settled the job), never by counting rows, so the figure follows the claim and settle path only. Ratio = that median / baseline median: near 1 means claim cost does not grow with the store. The memory adapter is in memory.md.`,
    "",
    "| store | baseline | N completed kept | ratio | N waiting | ratio | fill time (s) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const s = r.samples;
    lines.push(
      `| ${STORE[r.store as keyof typeof STORE] ?? r.store} | ${cell(s.base)} | N=${fmt(r.big.completed)}: ${cell(s.completed)} | ${ratio(s.completed, s.base)} | N=${fmt(r.big.waiting)}: ${cell(s.backlog)} | ${ratio(s.backlog, s.base)} | ${fmt(r.fillSeconds.completed, 1)} + ${fmt(r.fillSeconds.waiting, 1)} |`,
    );
  }
  return [...lines, ""];
}
