import { JOB_STATES, type JobCounts, Queue, Worker } from "@queueflow/core";
import { handlers, type QuickstartJobs } from "./jobs.js";
import { produce } from "./produce.js";

/** Produce `total` jobs, process them all with a progress line, print a summary per state. */
export async function runQuickstart(total: number, queueName = "quickstart"): Promise<JobCounts> {
  const queue = new Queue<QuickstartJobs>(queueName);
  const added = await produce(queue, total);
  console.log(`added ${added} jobs to "${queue.name}" (in-memory store)`);

  const worker = new Worker<QuickstartJobs>(queueName, handlers, { concurrency: 16 });
  const tally = { completed: 0, retried: 0, dead: 0 };
  worker.on("completed", () => tally.completed++);
  worker.on("retrying", () => tally.retried++);
  worker.on("dead", () => tally.dead++);
  worker.on("error", (err) => console.error("worker error:", err));

  const progress = () => {
    const done = tally.completed + tally.dead;
    const pct = Math.floor((done / added) * 100);
    const bar = "#".repeat(Math.floor(pct / 5)).padEnd(20, ".");
    return `[${bar}] ${String(pct).padStart(3)}%  ${done}/${added} finished · ${tally.completed} completed · ${tally.retried} retries · ${tally.dead} dead`;
  };
  const tty = process.stdout.isTTY;
  let lastPct = -1;
  const ticker = setInterval(() => {
    const line = progress();
    if (tty) process.stdout.write(`\r${line}`);
    else {
      const pct = Math.floor(((tally.completed + tally.dead) / added) * 10);
      if (pct !== lastPct) console.log(line);
      lastPct = pct;
    }
  }, 100);

  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = await queue.counts();
    if (c.waiting + c.delayed + c.active === 0) break;
    if (Date.now() > deadline)
      throw new Error(`quickstart did not finish in 60 s: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  clearInterval(ticker);
  console.log(tty ? `\r${progress()}` : progress());
  await worker.close();

  const counts = await queue.counts();
  console.log("\nsummary per state:");
  for (const state of JOB_STATES) console.log(`  ${state.padEnd(10)} ${counts[state]}`);
  const stats = await queue.deadLetterStats();
  console.log("dead letters by error:");
  for (const [error, n] of Object.entries(stats.byError)) console.log(`  ${error.padEnd(20)} ${n}`);
  const sample = (await queue.listJobs("dead", { limit: 1 })).jobs[0];
  if (sample) {
    console.log(
      `e.g. ${sample.name} ${sample.id}: ${sample.errors.length} attempt(s), last error "${sample.errors.at(-1)?.message}"`,
    );
  }
  return counts;
}
