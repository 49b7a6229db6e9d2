import type { SimulationResult } from "./engine.js";

const W = 720;
const H = 160;
const PAD = 40;

function polyline(points: [number, number][], color: string): string {
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${d}"/>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * One SVG with a panel per strategy: provisioned workers (blue, left axis) and queue depth
 * (orange, right axis) over time. Axes are shared across panels so panels compare at a glance.
 */
export function renderSvg(title: string, results: readonly SimulationResult[]): string {
  const maxT = Math.max(1, ...results.flatMap((r) => r.series.map((p) => p.t)));
  const maxWorkers = Math.max(1, ...results.flatMap((r) => r.series.map((p) => p.workers)));
  const maxDepth = Math.max(1, ...results.flatMap((r) => r.series.map((p) => p.depth)));
  const panelH = H + PAD;
  const height = PAD + results.length * panelH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 2 * PAD}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PAD}" y="20" font-size="14">${escapeXml(title)} — workers (blue, max ${maxWorkers}) and queue depth (orange, max ${maxDepth}) over ${(maxT / 60_000).toFixed(0)} min</text>`,
  ];
  results.forEach((r, i) => {
    const top = PAD + i * panelH + 14;
    const x = (t: number) => PAD + (t / maxT) * W;
    const y = (v: number, max: number) => top + H - (v / max) * H;
    parts.push(
      `<text x="${PAD}" y="${top - 4}">${escapeXml(r.strategy)}: p95 wait ${(r.p95WaitMs / 1000).toFixed(1)} s, ${r.workerSeconds.toFixed(0)} worker-s, ${r.scalingActions} actions</text>`,
      `<rect x="${PAD}" y="${top}" width="${W}" height="${H}" fill="none" stroke="#ccc"/>`,
      polyline(
        r.series.map((p) => [x(p.t), y(p.depth, maxDepth)]),
        "#e8833a",
      ),
      polyline(
        r.series.map((p) => [x(p.t), y(p.workers, maxWorkers)]),
        "#2a6fdb",
      ),
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
