/** Enqueue→start latency on an idle worker at a steady arrival rate. */
import { type Library, sleep, TimeoutError, timedPayload, withDeadline } from "./common.js";
import { type Sample, withSession } from "./measures.js";

/** Percentiles of latency samples (nearest-rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export interface LatencySamples {
  p50: Sample;
  p95: Sample;
  p99: Sample;
  max: Sample;
}

/**
 * Enqueue→start latency on an idle worker (concurrency 10): `rate` jobs/s for `seconds`, each
 * stamped with performance.now() just before its add; the handler subtracts on start.
 */
export async function latency(
  lib: Library,
  rate: number,
  seconds: number,
): Promise<LatencySamples> {
  return withSession(lib, async (s) => {
    const seen: number[] = [];
    const worker = await s.work(10, (payload) => {
      const t = (payload as { t?: number }).t;
      if (typeof t === "number") seen.push(performance.now() - t);
    });
    await s.addPayload({ warmup: true }); // first add loads scripts/plans; not measured
    // Long enough for every library's worker to run the warm-up job and go idle, listening.
    await sleep(300);
    // Each library samples from a collected heap: a pause that clears an earlier section's
    // garbage (possibly another library's) is not this library's latency. Pauses its own
    // allocations cause during the run still count. (`pnpm bench` runs with --expose-gc.)
    (globalThis as { gc?: () => void }).gc?.();
    const total = Math.round(rate * seconds);
    const start = performance.now();
    const adds: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const t = performance.now();
      adds.push(s.addPayload(timedPayload(t)));
    }
    await Promise.all(adds);
    let timedOut = false;
    const deadline = performance.now() + 10_000;
    while (seen.length < total) {
      if (performance.now() > deadline) {
        timedOut = true;
        break;
      }
      await sleep(20);
    }
    await withDeadline(`${lib.name} worker close`, 30_000, worker.close()).catch(() => {});
    if (seen.length === 0) throw new TimeoutError(`${lib.name} latency: no job started`, 10_000);
    // Jobs that never started count as the deadline: a timeout must not flatter the figure.
    const ms = [...seen, ...Array<number>(total - seen.length).fill(Number.POSITIVE_INFINITY)];
    const at = (p: number) => ({ value: percentile(ms, p), timedOut });
    return { p50: at(50), p95: at(95), p99: at(99), max: at(100) };
  });
}
