/** Hand-written SVG: processing throughput (median jobs/s, log scale) by concurrency. */
import type { Figure } from "./compare.js";

const COLORS: Record<string, string> = {
  QueueFlow: "#2563eb",
  BullMQ: "#dc2626",
  "pg-boss": "#16a34a",
  "graphile-worker": "#9333ea",
};

const TITLES: Record<string, string> = {
  redis: "Redis",
  postgres: "PostgreSQL",
  mongo: "Mongo test server",
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function throughputSvg(figures: Figure[]): string {
  const stores = ["redis", "postgres", "mongo"].filter((s) =>
    figures.some((f) => f.store === s && f.key.startsWith("process.")),
  );
  const W = 420;
  const H = 300;
  const pad = { l: 60, r: 20, t: 30, b: 70 };
  const parts: string[] = [];
  stores.forEach((store, i) => {
    const figs = figures
      .filter((f) => f.store === store && f.key.startsWith("process.c"))
      .map((f) => ({ c: Number(f.key.slice("process.c".length)), f }))
      .sort((a, b) => a.c - b.c);
    const libs = [...new Set(figs.flatMap(({ f }) => Object.keys(f.samples)))];
    const points = libs.map((lib) => ({
      lib,
      pts: figs
        .map(({ c, f }, k) => ({ k, c, v: median((f.samples[lib] ?? []).map((s) => s.value)) }))
        .filter((p) => Number.isFinite(p.v) && p.v > 0),
    }));
    const all = points.flatMap((p) => p.pts.map((q) => q.v));
    if (all.length === 0) return;
    const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
    const x0 = i * W;
    const px = (k: number) =>
      x0 + pad.l + (figs.length > 1 ? (k / (figs.length - 1)) * (W - pad.l - pad.r) : 0);
    const py = (v: number) =>
      pad.t +
      (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) *
        (H - pad.t - pad.b);
    parts.push(
      `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${TITLES[store] ?? store}: jobs/s (log) by concurrency</text>`,
    );
    for (let v = lo; v <= hi; v *= 10) {
      parts.push(
        `<line x1="${x0 + pad.l}" x2="${x0 + W - pad.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#ddd"/>`,
        `<text x="${x0 + pad.l - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v.toLocaleString("en-US")}</text>`,
      );
    }
    figs.forEach(({ c }, k) => {
      parts.push(
        `<text x="${px(k).toFixed(1)}" y="${H - pad.b + 16}" text-anchor="middle" font-size="11">c=${c}</text>`,
      );
    });
    points.forEach(({ lib, pts }, j) => {
      const color = COLORS[lib] ?? "#555";
      const coords = pts.map((p) => `${px(p.k).toFixed(1)},${py(p.v).toFixed(1)}`).join(" ");
      parts.push(`<polyline points="${coords}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const p of pts) {
        parts.push(
          `<circle cx="${px(p.k).toFixed(1)}" cy="${py(p.v).toFixed(1)}" r="3" fill="${color}"><title>${esc(lib)} c=${p.c}: ${Math.round(p.v)} jobs/s</title></circle>`,
        );
      }
      const ly = H - pad.b + 34 + 14 * Math.floor(j / 2);
      const lx = x0 + pad.l + (j % 2) * 160;
      parts.push(
        `<rect x="${lx}" y="${ly - 9}" width="12" height="4" fill="${color}"/>`,
        `<text x="${lx + 18}" y="${ly}" font-size="12">${esc(lib)}</text>`,
      );
    });
  });
  const width = Math.max(1, stores.length) * W;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}
