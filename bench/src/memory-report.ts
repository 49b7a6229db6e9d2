/** The in-memory adapter benchmark (QueueFlow alone): writes results/memory.md. */
import { writeFileSync } from "node:fs";
import os from "node:os";
import { bytesPerWaitingJob, claimCostMicros, processingThroughput } from "./memory-store.js";
import { fmt, fmtSummary, type Summary, summarize } from "./stats.js";

export async function runMemoryBenchmark(
  quick: boolean,
  runs: number,
  out: string,
): Promise<string> {
  const jobs = quick ? 20_000 : 100_000;
  const bigStore = quick ? 200_000 : 1_000_000;

  async function repeat(label: string, fn: () => Promise<number>): Promise<Summary> {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      samples.push(await fn());
      process.stderr.write(`\rmemory ${label}: run ${i + 1}/${runs}`);
    }
    process.stderr.write("\n");
    return summarize(samples);
  }

  const rows: string[] = [];
  for (const concurrency of [1, 10, 100]) {
    const s = await repeat(`throughput c=${concurrency}`, () =>
      processingThroughput(concurrency, jobs),
    );
    rows.push(
      `| processing, no-op, concurrency ${concurrency} (${fmt(jobs)} jobs) | ${fmtSummary(s)} jobs/s |`,
    );
  }
  const small = await repeat("claim cost, 10k waiting", () => claimCostMicros(10_000, 8_000));
  const large = await repeat(`claim cost, ${fmt(bigStore)} waiting`, () =>
    claimCostMicros(bigStore, 8_000),
  );
  rows.push(`| claim+settle, 10,000 waiting | ${fmtSummary(small, 2)} µs |`);
  rows.push(`| claim+settle, ${fmt(bigStore)} waiting | ${fmtSummary(large, 2)} µs |`);
  rows.push(
    `| claim cost ratio ${fmt(bigStore)} / 10,000 (median) | ${fmt(large.median / small.median, 2)} |`,
  );
  const mem = await repeat("memory per waiting job", () => bytesPerWaitingJob(jobs));
  rows.push(`| heap per waiting job, 200-byte payload | ${fmtSummary(mem)} bytes |`);

  const report = [
    "# QueueFlow memory adapter benchmark",
    "",
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} cores · ${fmt(os.totalmem() / 2 ** 30, 1)} GiB · ${runs} runs per figure, median (min–max)${quick ? " · --quick" : ""}`,
    "",
    "| measure | result |",
    "| --- | --- |",
    ...rows,
    "",
  ].join("\n");
  writeFileSync(out, report);
  return report;
}
