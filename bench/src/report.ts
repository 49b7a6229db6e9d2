/** results/latest.md (tables), latest.json (every sample) and throughput.svg. */
import { writeFileSync } from "node:fs";
import os from "node:os";
import type { CompareOptions, Figure } from "./compare.js";
import type { Sample } from "./measures.js";
import { fmt, type Summary, summarize } from "./stats.js";
import { throughputSvg } from "./svg.js";

export interface Environment {
  servers: Record<string, string>;
  libraries: Record<string, string>;
  settings: Record<string, string>;
}

const QF = "QueueFlow";

export const STORE_TITLES = {
  redis: "Redis",
  postgres: "PostgreSQL",
  mongo: "MongoDB protocol (mongo-java-server test server)",
} as const;

const MONGO_NOTE =
  "The server here is [mongo-java-server](https://github.com/bwaldvogel/mongo-java-server), the in-memory Java test server CI uses (`scripts/servers/mongo.sh`), **not MongoDB**: its figures say how QueueFlow's MongoAdapter behaves on that server, not what it does on a real `mongod` (WiredTiger, journaling, a replica set). The server keeps no non-unique index: claim queries scan the collection, and throughput falls as the backlog grows.";
const AGENDA_NOTE =
  " The peer is Agenda (6, with @agendajs/mongo-backend) on the same server, under the same scans.";

/** QueueFlow's own medians per store, side by side (the same figure keys on every store). */
function acrossStores(figures: Figure[]): string[] {
  const stores = (["redis", "postgres", "mongo"] as const).filter((s) =>
    figures.some((f) => f.store === s),
  );
  if (stores.length < 2) return [];
  const keys = [...new Set(figures.map((f) => f.key))].filter((k) =>
    stores.every((s) => figures.some((f) => f.store === s && f.key === k)),
  );
  const lines = [
    "## QueueFlow across stores",
    "",
    "QueueFlow's medians from the tables below, per store (the MongoDB column is the test server, not MongoDB).",
    "",
    `| measure | unit | ${stores.map((s) => STORE_TITLES[s].split(" (")[0]).join(" | ")} |`,
    `| --- | --- |${stores.map(() => " --- |").join("")}`,
  ];
  for (const k of keys) {
    const figs = stores.map((s) => figures.find((f) => f.store === s && f.key === k)!);
    const label = figs[0]!.label;
    lines.push(`| ${label} | ${figs[0]!.unit} | ${figs.map((f) => cell(f, QF)).join(" | ")} |`);
  }
  return [...lines, ""];
}

function summary(samples: Sample[] | undefined): (Summary & { timeouts: number }) | null {
  const finite = (samples ?? []).filter((s) => Number.isFinite(s.value));
  if (!samples || samples.length === 0) return null;
  const timeouts = samples.filter((s) => s.timedOut).length;
  if (finite.length < samples.length) {
    return { median: Number.POSITIVE_INFINITY, min: Number.NaN, max: Number.NaN, timeouts };
  }
  return { ...summarize(finite.map((s) => s.value)), timeouts };
}

function digits(f: Figure, v: number): number {
  if (f.unit === "calls") return 2;
  if (f.unit === "ms") return v < 10 ? 2 : 1;
  if (f.unit === "s") return 2;
  return 0;
}

function cell(f: Figure, lib: string): string {
  if (f.errors[lib] && !f.samples[lib]?.length) return "failed";
  const s = summary(f.samples[lib]);
  if (!s) return "–";
  if (!Number.isFinite(s.median)) return `timeout (${s.timeouts}/${f.samples[lib]!.length})`;
  const d = digits(f, s.median);
  const t = s.timeouts > 0 ? ` ⏱${s.timeouts}` : "";
  return `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})${t}`;
}

function ratio(f: Figure, peer: string): string {
  const a = summary(f.samples[QF]);
  const b = summary(f.samples[peer]);
  if (!a || !b || !Number.isFinite(a.median) || !Number.isFinite(b.median) || b.median === 0) {
    return "–";
  }
  const r = a.median / b.median;
  return `${r >= 0.1 ? fmt(r, 2) : r.toPrecision(2)}×`;
}

function table(figs: Figure[], peers: string[]): string[] {
  const head = [`| measure | unit | ${QF} |`, "| --- | --- | --- |"];
  for (const p of peers) {
    head[0] += ` ${p} | ${QF}/${p} |`;
    head[1] += " --- | --- |";
  }
  const rows = figs.map((f) => {
    let row = `| ${f.label} | ${f.unit} | ${cell(f, QF)} |`;
    for (const p of peers) row += ` ${cell(f, p)} | ${ratio(f, p)} |`;
    return row;
  });
  return [...head, ...rows];
}

export function writeReports(
  outDir: string,
  figures: Figure[],
  env: Environment,
  o: CompareOptions,
  quick: boolean,
  extra: { markdown: string[]; json: Record<string, unknown> } = { markdown: [], json: {} },
): string {
  const date = new Date().toISOString();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  const lines = [
    "# QueueFlow against its peers",
    "",
    `${date} · ${machine} · ${o.runs} runs per figure, libraries alternated each run (A B A B …) · median (min–max)${quick ? " · --quick" : ""}`,
    "",
    `Libraries: ${Object.entries(env.libraries)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}. Servers (loopback, same server for every library): ${Object.entries(env.servers)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
    'Ratio = QueueFlow median / peer median. Throughput (jobs/s): above 1× QueueFlow is faster. Latency (ms), wall time (s), bytes and commands: below 1× QueueFlow is lower. ⏱n: n runs hit the deadline (throughput = jobs completed so far / elapsed; latency counts unstarted jobs as infinite). No-op handlers, identical 200-byte JSON payloads, one worker in this process (the "worker process" rows: 1 or 2 forked processes, one Worker each, both sides, the producer and the clock in this process; wall time from the start signal until the store holds every job as done, process start-up not timed). On PostgreSQL the schema of every library is ANALYZEd after the fill, before the clock starts (as autovacuum would within a minute of a bulk load).',
    "",
    ...acrossStores(figures),
  ];
  for (const store of ["redis", "postgres", "mongo"] as const) {
    const figs = figures.filter((f) => f.store === store);
    if (figs.length === 0) continue;
    const peers = [...new Set(figs.flatMap((f) => Object.keys(f.samples)))].filter((l) => l !== QF);
    lines.push(`## ${STORE_TITLES[store]}`, "");
    if (store === "mongo") {
      lines.push(`${MONGO_NOTE}${peers.includes("Agenda") ? AGENDA_NOTE : ""}`, "");
    }
    lines.push(...table(figs, peers), "");
    const errors = figs.flatMap((f) =>
      Object.entries(f.errors).map(([l, e]) => `${l}, ${f.label}: ${e}`),
    );
    for (const e of [...new Set(errors)]) lines.push(`- failed: ${e}`);
    if (errors.length > 0) lines.push("");
  }
  lines.push(...extra.markdown);
  lines.push("## Settings", "");
  for (const [k, v] of Object.entries(env.settings)) lines.push(`- **${k}**: ${v}`);
  lines.push("", "![processing throughput by concurrency](throughput.svg)", "");
  const md = lines.join("\n");
  writeFileSync(`${outDir}latest.md`, md);
  writeFileSync(
    `${outDir}latest.json`,
    `${JSON.stringify({ date, machine, quick, options: o, environment: env, figures, ...extra.json }, null, 2)}\n`,
  );
  writeFileSync(`${outDir}throughput.svg`, throughputSvg(figures));
  return md;
}
