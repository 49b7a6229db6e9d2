/**
 * Dead letters at scale, QueueFlow only (no peer has a DLQ to compare): how long stats take
 * over a small and a large dead-letter set (their ratio shows whether stats grow with the
 * number of dead jobs), and how fast @queueflow/dlq replays the jobs of one error class by
 * filter, with a merge patch, in batches.
 */
import type { StorageAdapter } from "@queueflow/core";
import { DeadLetters } from "@queueflow/dlq";
import { fmt, fmtSummary, summarize } from "./stats.js";
import { type FeatureStore, openAdapters } from "./store-adapters.js";

export interface DeadLetterBenchOptions {
  /** Dead jobs in the small and the large set. */
  small: number;
  large: number;
  /** Of the large set, this many share the class the replay filters on. */
  replay: number;
  /** stats() calls timed per set. */
  samples: number;
  /** The MongoDB test server scans without indexes: use this many instead of `large`. */
  mongoLarge: number;
}

export interface DeadLetterBenchResult {
  store: FeatureStore;
  sizes: { small: number; large: number; replay: number };
  statsMs: { small: number[]; large: number[] };
  fillSeconds: number;
  replay: { seconds: number; replayed: number; skipped: number; failed: number };
  notes: string[];
}

const CLASSES = ["timeout", "connection", "validation", "unknown"] as const;
const NAMES = ["email.send", "export.csv", "notify.webhook"] as const;

function progress(text: string): void {
  process.stderr.write(`\r\x1b[K${text}`);
}

/**
 * Add `count` jobs and kill them in batches of 1,000. The i-th fails with class
 * CLASSES[i % 4], except that the first `replayable` get "rate_limited", the replay's filter.
 */
async function fillDead(
  adapter: StorageAdapter,
  queue: string,
  count: number,
  replayable: number,
  offset: number,
): Promise<void> {
  for (let done = 0; done < count; done += 1000) {
    const n = Math.min(1000, count - done);
    await adapter.enqueue(
      Array.from({ length: n }, (_, k) => ({
        id: `dead-${offset + done + k}`,
        queue,
        name: NAMES[(done + k) % NAMES.length]!,
        payload: { n: done + k, smtpHost: "smtp-1" },
        priority: 5,
        maxAttempts: 1,
        backoff: null,
        timeoutMs: null,
        dedupKey: null,
        metadata: {},
        delayMs: 0,
        runAt: null,
      })),
    );
    const { jobs } = await adapter.claim({
      queue,
      workerId: "bench",
      limit: n,
      leaseMs: 600_000,
      priorityRange: null,
    });
    const at = await adapter.now();
    await adapter.settle(
      queue,
      jobs.map((job, k) => {
        const i = done + k;
        const errorClass = i < replayable ? "rate_limited" : CLASSES[i % CLASSES.length]!;
        return {
          kind: "dead" as const,
          id: job.id,
          token: job.leaseToken,
          error: {
            attempt: 1,
            name: "BenchError",
            message: "failed for the bench",
            at,
            errorClass,
          },
        };
      }),
    );
    progress(`dead letters: ${fmt(offset + done + n)} dead`);
  }
}

async function timeStats(dlq: DeadLetters, samples: number, expected: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const stats = await dlq.stats();
    times.push(performance.now() - t0);
    if (stats.total !== expected) {
      throw new Error(`stats reported ${stats.total} dead jobs, expected ${expected}`);
    }
  }
  return times;
}

export async function deadLetterBench(
  store: FeatureStore,
  o: DeadLetterBenchOptions,
): Promise<DeadLetterBenchResult> {
  const large = store === "mongo" ? o.mongoLarge : o.large;
  const replay = Math.min(o.replay, large);
  const set = await openAdapters(store);
  const adapter = set.create();
  await adapter.connect();
  const queue = "dlq-bench";
  const dlq = new DeadLetters({ adapter, queues: [queue], batchSize: 1000 });
  const result: DeadLetterBenchResult = {
    store,
    sizes: { small: o.small, large, replay },
    statsMs: { small: [], large: [] },
    fillSeconds: 0,
    replay: { seconds: 0, replayed: 0, skipped: 0, failed: 0 },
    notes: store === "mongo" ? ["MongoDB test server: fewer dead jobs (it scans)"] : [],
  };
  try {
    const t0 = performance.now();
    await fillDead(adapter, queue, o.small, 0, 0);
    result.statsMs.small = await timeStats(dlq, o.samples, o.small);
    await fillDead(adapter, queue, large - o.small, replay, o.small);
    result.fillSeconds = (performance.now() - t0) / 1000;
    result.statsMs.large = await timeStats(dlq, o.samples, large);

    progress(`dead letters: replaying ${fmt(replay)} by filter`);
    const r0 = performance.now();
    const replayed = await dlq.replay({
      filter: { errorClass: "rate_limited" },
      patch: { smtpHost: "smtp-2" },
      maxJobs: replay,
    });
    result.replay = {
      seconds: (performance.now() - r0) / 1000,
      ...replayed.counts,
    };
    progress("");
    return result;
  } finally {
    if (store !== "memory") await adapter.close();
    await set.drop();
  }
}

export function deadLetterMarkdown(
  results: DeadLetterBenchResult[],
  o: DeadLetterBenchOptions,
): string[] {
  const lines = [
    "## Dead letters at scale (QueueFlow only)",
    "",
    `\`DeadLetters.stats()\` timed ${o.samples} times over a small and a large dead-letter set (median, range); the ratio large/small shows whether stats grow with the number of dead jobs. Replay: every job of one error class by filter, with a JSON merge patch, batches of 1,000.`,
    "",
    "| store | stats, small set ms | stats, large set ms | ratio | replay by filter | replay jobs/s |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const small = summarize(r.statsMs.small);
    const large = summarize(r.statsMs.large);
    const note = r.notes.length > 0 ? ` (${r.notes.join("; ")})` : "";
    lines.push(
      `| ${r.store}${note} | ${fmt(r.sizes.small)} dead: ${fmtSummary(small, 1)} | ${fmt(r.sizes.large)} dead: ${fmtSummary(large, 1)} | ${fmt(large.median / small.median, 2)}× for ${fmt(r.sizes.large / r.sizes.small)}× the jobs | ${fmt(r.replay.replayed)} replayed, ${fmt(r.replay.skipped)} skipped, ${fmt(r.replay.failed)} failed in ${fmt(r.replay.seconds, 1)} s | ${fmt(r.replay.replayed / r.replay.seconds)} |`,
    );
  }
  lines.push("");
  return lines;
}
