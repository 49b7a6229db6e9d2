/**
 * Runs every figure for QueueFlow and its peers on one store, alternating libraries
 * (A B C A B C …) `runs` times so drift on a noisy machine hits all sides alike.
 */
import type { Library, StoreName } from "./common.js";
import { latency } from "./latency.js";
import { enqueueBulk, enqueueOne, processing, type Sample } from "./measures.js";

export interface Figure {
  store: StoreName;
  key: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  /** Library name → samples (timed-out samples flagged). */
  samples: Record<string, Sample[]>;
  /** Library name → error message when a run failed outright. */
  errors: Record<string, string>;
}

export interface CompareOptions {
  runs: number;
  jobs: number;
  /** Jobs for the concurrency-1 runs, where each job costs a full claim/settle cycle. */
  serialJobs: number;
  bulkJobs: number;
  oneByOneJobs: number;
  concurrencies: number[];
  processDeadlineMs: number;
  latencyRate: number;
  latencySeconds: number;
}

export function figure(
  store: StoreName,
  key: string,
  label: string,
  unit: string,
  higherIsBetter: boolean,
): Figure {
  return { store, key, label, unit, higherIsBetter, samples: {}, errors: {} };
}

export function push(f: Figure, lib: string, sample: Sample | null): void {
  if (!sample) return;
  f.samples[lib] ??= [];
  f.samples[lib].push(sample);
}

function progress(text: string): void {
  process.stderr.write(`\r\x1b[K${text}`);
}

/** Runs one sample per library per round; a failing library is noted and skipped after. */
export async function alternate(
  libs: Library[],
  runs: number,
  label: string,
  targets: Figure[],
  fn: (lib: Library) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  for (let run = 0; run < runs; run++) {
    for (const lib of libs) {
      if (targets.some((f) => f.errors[lib.name])) continue;
      progress(`${lib.store} ${label}: ${lib.name} run ${run + 1}/${runs}`);
      try {
        await fn(lib);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`\n${lib.name} ${label}: ${message}\n`);
        for (const f of targets) f.errors[lib.name] = message;
      }
    }
  }
  // One line per measure with its duration, so a slow section of a run is easy to find.
  const store = libs[0]?.store ?? "";
  progress(`${store} ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

export async function compareStore(
  store: StoreName,
  libs: Library[],
  o: CompareOptions,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  const add = (f: Figure) => {
    figures.push(f);
    return f;
  };

  const bulk = add(
    figure(
      store,
      "enqueue.bulk",
      `enqueue, bulk of 1,000 (${o.bulkJobs.toLocaleString("en-US")} jobs)`,
      "jobs/s",
      true,
    ),
  );
  const bytes = add(
    figure(
      store,
      "footprint",
      `store bytes per waiting job, 200-byte payload (${o.bulkJobs.toLocaleString("en-US")} jobs)`,
      "bytes",
      false,
    ),
  );
  await alternate(libs, o.runs, "bulk enqueue + footprint", [bulk, bytes], async (lib) => {
    const r = await enqueueBulk(lib, o.bulkJobs, 120_000);
    push(bulk, lib.name, r.rate);
    push(bytes, lib.name, r.bytesPerJob);
  });

  const one = add(
    figure(
      store,
      "enqueue.one",
      `enqueue, one by one (${o.oneByOneJobs.toLocaleString("en-US")} sequential awaits)`,
      "jobs/s",
      true,
    ),
  );
  await alternate(libs, o.runs, "one-by-one enqueue", [one], async (lib) => {
    push(one, lib.name, await enqueueOne(lib, o.oneByOneJobs, 120_000));
  });

  for (const c of o.concurrencies) {
    const jobs = c === 1 ? o.serialJobs : o.jobs;
    const rate = add(
      figure(
        store,
        `process.c${c}`,
        `processing, no-op, concurrency ${c} (${jobs.toLocaleString("en-US")} jobs)`,
        "jobs/s",
        true,
      ),
    );
    const sent =
      store === "redis"
        ? add(
            figure(
              store,
              `sent.c${c}`,
              `round trips per job (commands sent by the clients), concurrency ${c}`,
              "calls",
              false,
            ),
          )
        : null;
    const calls =
      store === "redis"
        ? add(
            figure(
              store,
              `calls.c${c}`,
              `Redis commands executed per job incl. inside Lua (INFO commandstats), concurrency ${c}`,
              "calls",
              false,
            ),
          )
        : null;
    await alternate(
      libs,
      o.runs,
      `processing c=${c}`,
      calls && sent ? [rate, sent, calls] : [rate],
      async (lib) => {
        const r = await processing(lib, c, jobs, o.processDeadlineMs);
        push(rate, lib.name, r.rate);
        if (calls) push(calls, lib.name, r.callsPerJob);
        if (sent) push(sent, lib.name, r.sentPerJob);
      },
    );
  }

  const lat = ["p50", "p95", "p99", "max"].map((p) =>
    add(
      figure(
        store,
        `latency.${p}`,
        `enqueue→start latency ${p}, idle worker, ${o.latencyRate} jobs/s for ${o.latencySeconds} s`,
        "ms",
        false,
      ),
    ),
  );
  await alternate(libs, o.runs, "latency", lat, async (lib) => {
    const r = await latency(lib, o.latencyRate, o.latencySeconds);
    push(lat[0]!, lib.name, r.p50);
    push(lat[1]!, lib.name, r.p95);
    push(lat[2]!, lib.name, r.p99);
    push(lat[3]!, lib.name, r.max);
  });
  return figures;
}
