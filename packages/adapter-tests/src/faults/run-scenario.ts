import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { JobCounts, JobState, StorageAdapter } from "@queueflow/core";
import { uniqueQueue } from "../helpers.js";
import { analyse, type ChildLog, type FaultReport, type StoredJob } from "./analysis.js";
import type { FaultFactory, ResolvedFaultOptions } from "./factory.js";
import { ChildSet, readLog, type UnexpectedExit } from "./processes.js";
import type { FaultResult } from "./protocol.js";
import { TcpProxy, type TcpTarget } from "./tcp-proxy.js";
import { type Fault, runTimeline } from "./timeline.js";

/** What one run of the scenario measured. */
export interface ScenarioOutcome {
  report: FaultReport;
  faults: Fault[];
  unexpectedExits: readonly UnexpectedExit[];
  /** The producer logged `done` within its time bound. */
  producerDone: boolean;
  /** No job was left waiting, delayed or active within `drainTimeoutMs`. */
  drained: boolean;
  /** Counts per state when the scenario stopped waiting. */
  counts: JobCounts | null;
  /** When the producer started (`Date.now()`); fault times are relative to it. */
  start: number;
  /** Where the children's logs are. */
  logDir: string;
  wallMs: number;
}

/** Time a child may take to start (node, the adapter, its driver) on a loaded machine. */
const READY_MS = 30_000;
const CLOSE_MS = 15_000;
const NON_TERMINAL: readonly JobState[] = ["waiting", "delayed", "active"];

/** dist/faults/child.js, found from the bundle (dist/index.js) or from source (src/faults). */
function childScript(): string {
  const candidates = [
    new URL("./faults/child.js", import.meta.url),
    new URL("../../dist/faults/child.js", import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `The fault scenario's child script is missing (looked at ${candidates.join(", ")}): build @queueflow/adapter-tests first (pnpm --filter @queueflow/adapter-tests build).`,
    );
  }
  return found;
}

/** Load `createAdapter` from the factory's module and build an adapter pointed at `target`. */
export async function adapterFor(modulePath: string, target: TcpTarget): Promise<StorageAdapter> {
  const mod = (await import(pathToFileURL(modulePath).href)) as {
    createAdapter?: (t: TcpTarget) => StorageAdapter | Promise<StorageAdapter>;
  };
  if (typeof mod.createAdapter !== "function") {
    throw new Error(`${modulePath} does not export createAdapter(target)`);
  }
  return mod.createAdapter(target);
}

async function poll<T>(
  read: () => Promise<T>,
  until: (value: T) => boolean,
  timeoutMs: number,
): Promise<{ value: T | null; reached: boolean }> {
  const end = Date.now() + timeoutMs;
  let value: T | null = null;
  for (;;) {
    try {
      value = await read();
      if (until(value)) return { value, reached: true };
    } catch {
      // The store is read directly; a failed read is retried until the deadline.
    }
    if (Date.now() > end) return { value, reached: false };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The stored state and result of every job of `queue` that `ids` names. */
async function readStored(
  adapter: StorageAdapter,
  queue: string,
  ids: ReadonlySet<string>,
): Promise<Map<string, StoredJob | null>> {
  const stored = new Map<string, StoredJob | null>();
  for (const state of ["completed", "dead"] as const) {
    let cursor: string | null = null;
    do {
      const page = await adapter.listJobs({ queue, state, limit: 1000, cursor });
      for (const job of page.jobs) {
        const runId = (job.result as Partial<FaultResult> | null)?.runId;
        stored.set(job.id, { state: job.state, runId: typeof runId === "string" ? runId : null });
      }
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  for (const id of ids) {
    if (stored.has(id)) continue;
    const job = await adapter.getJob(queue, id);
    stored.set(id, job === null ? null : { state: job.state, runId: null });
  }
  return stored;
}

type Cleanup = () => Promise<void> | void;

/** Run every cleanup, last registered first, even when one fails; throw the first failure. */
async function runCleanups(cleanups: readonly Cleanup[]): Promise<void> {
  let failure: unknown;
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}

/**
 * Run the scenario once: start the store and a proxy in front of it, the workers and the
 * producer behind the proxy, the faults of the timeline, wait for every job to finish, stop
 * every process, and check the logs against what the store holds.
 */
export async function runScenario(
  factory: FaultFactory,
  o: ResolvedFaultOptions,
): Promise<ScenarioOutcome> {
  const cleanups: Cleanup[] = [() => factory.cleanup?.()];
  let outcome: ScenarioOutcome;
  try {
    outcome = await run(factory, o, cleanups);
  } catch (err) {
    // The run's own failure is the one to see; a cleanup failing after it adds nothing.
    await runCleanups(cleanups).catch(() => undefined);
    throw err;
  }
  await runCleanups(cleanups);
  return outcome;
}

async function run(
  factory: FaultFactory,
  o: ResolvedFaultOptions,
  cleanups: Cleanup[],
): Promise<ScenarioOutcome> {
  const began = Date.now();
  const script = childScript();
  const logDir = mkdtempSync(join(tmpdir(), "qf-faults-"));
  const target = factory.server ? await factory.server.start() : factory.target;
  if (factory.server) {
    const server = factory.server;
    cleanups.unshift(() => server.stop());
  }
  const proxy = await TcpProxy.start(target);
  cleanups.unshift(() => proxy.close());
  const direct = await adapterFor(factory.adapterModule, target);
  await direct.connect();
  cleanups.unshift(() => direct.close());

  const queue = uniqueQueue("faults");
  const children = new ChildSet(logDir, script);
  cleanups.unshift(() => children.terminateAll(CLOSE_MS));
  const base = { adapterModule: factory.adapterModule, target: proxy.address, queue };
  const workerSettings = {
    ...base,
    concurrency: o.concurrency,
    leaseMs: o.leaseMs,
    stalledIntervalMs: o.stalledIntervalMs,
    handlerMinMs: 5,
    handlerMaxMs: 20,
  };
  const workers = Array.from({ length: o.workers }, (_, i) =>
    children.spawnWorker(i + 1, workerSettings),
  );
  await Promise.all(workers.map((w) => children.ready(w, READY_MS)));
  const producer = children.spawnProducer({
    ...base,
    rate: o.rate,
    total: o.jobs,
    idPrefix: `${queue}-`,
  });
  await children.ready(producer, READY_MS);

  const start = Date.now();
  const producing = new AbortController();
  const timeline = runTimeline(
    {
      children,
      proxy,
      server: factory.server,
      respawn: (slot) => {
        children.spawnWorker(slot, workerSettings);
      },
    },
    o,
    start,
    producing.signal,
  );
  // Twice the nominal time covers the outages; past that the producer is stuck.
  const producerDone = await children.waitExit(
    producer,
    2 * Math.ceil((o.jobs / o.rate) * 1000) + 30_000,
  );
  producing.abort();
  const faults = await timeline;

  const drain = await poll(
    () => direct.counts(queue),
    (c) => NON_TERMINAL.every((s) => c[s] === 0),
    o.drainTimeoutMs,
  );
  await children.terminateAll(CLOSE_MS);

  const logs: ChildLog[] = children.records.map((r) => ({
    name: r.name,
    role: r.role,
    events: readLog(r.log),
    killedAt: r.killedAt,
  }));
  const acked = new Set(
    logs.flatMap((l) => l.events.flatMap((e) => (e.ev === "acked" ? [e.id] : []))),
  );
  const stored = await readStored(direct, queue, acked);
  return {
    report: analyse(logs, faults, stored, {
      leaseMs: o.leaseMs,
      stalledIntervalMs: o.stalledIntervalMs,
    }),
    faults,
    unexpectedExits: children.unexpectedExits,
    producerDone: producerDone && readLog(producer.log).some((e) => e.ev === "done"),
    drained: drain.reached,
    counts: drain.value,
    start,
    logDir,
    wallMs: Date.now() - began,
  };
}
