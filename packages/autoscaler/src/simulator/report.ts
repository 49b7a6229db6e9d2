import type { SimulationResult } from "./engine.js";

const s = (ms: number) => (ms / 1000).toFixed(1);

/** A Markdown table of results, one row per strategy. */
export function formatTable(results: readonly SimulationResult[]): string {
  const header = [
    "strategy",
    "jobs",
    "p50 wait s",
    "p95 wait s",
    "p99 wait s",
    "worker-s",
    "peak",
    "actions",
    "over SLO s",
  ];
  const rows = results.map((r) => [
    r.strategy,
    String(r.jobs),
    s(r.p50WaitMs),
    s(r.p95WaitMs),
    s(r.p99WaitMs),
    r.workerSeconds.toFixed(0),
    String(r.peakWorkers),
    String(r.scalingActions),
    s(r.timeOverSloMs),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
