/**
 * A process of the fault scenario (built to dist/faults/child.js, spawned with
 * `process.execPath child.js '<ChildConfig JSON>'`): a worker or the producer, logging what it
 * does as JSON lines so the scenario can check it after SIGKILLs. Every line is appended
 * synchronously: a line is on disk before the next step runs, so a kill loses none.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { type AnyJobMap, type Job, Queue, type StorageAdapter, Worker } from "@queueflow/core";
import {
  type ChildConfig,
  FAULT_JOB,
  type FaultResult,
  type LogEvent,
  type ProducerChildConfig,
  type WorkerChildConfig,
} from "./protocol.js";

/** Adds the producer has waiting for an answer at most. */
const MAX_ADDS_IN_FLIGHT = 64;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function logger(path: string): (event: DistributiveOmit<LogEvent, "t">) => void {
  return (event) => appendFileSync(path, `${JSON.stringify({ ...event, t: Date.now() })}\n`);
}

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function loadAdapter(config: ChildConfig): Promise<StorageAdapter> {
  const mod = (await import(pathToFileURL(config.adapterModule).href)) as {
    createAdapter?: (target: ChildConfig["target"]) => StorageAdapter | Promise<StorageAdapter>;
  };
  if (typeof mod.createAdapter !== "function") {
    throw new Error(`${config.adapterModule} does not export createAdapter(target)`);
  }
  return mod.createAdapter(config.target);
}

/** Close on SIGTERM, the scenario's way of telling a child to stop. */
function onTerm(close: () => Promise<void>, log: ReturnType<typeof logger>): void {
  process.once("SIGTERM", () => {
    void close().then(
      () => {
        log({ ev: "closed" });
        process.exit(0);
      },
      (err: unknown) => {
        log({ ev: "error", code: codeOf(err), message: `close: ${messageOf(err)}` });
        process.exit(1);
      },
    );
  });
}

/**
 * The adapter, logging the ids each claim (or handoff) leased to this worker: a job leased
 * here and never started nor handed back shows up in a failing run's logs.
 */
function loggingClaims(adapter: StorageAdapter, log: ReturnType<typeof logger>): StorageAdapter {
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop !== "claim" && prop !== "waitForJobs") return value.bind(target);
      const via = prop === "claim" ? "claim" : "handoff";
      return async (...args: unknown[]) => {
        const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(
          target,
          args,
        )) as { jobs: { id: string }[] } | { id: string }[];
        const jobs = Array.isArray(result) ? result : result.jobs;
        if (jobs.length > 0) log({ ev: "claimed", ids: jobs.map((j) => j.id), via });
        return result;
      };
    },
  });
}

async function runWorker(config: WorkerChildConfig): Promise<void> {
  const log = logger(config.log);
  const adapter = loggingClaims(await loadAdapter(config), log);
  // A fresh tag per process: pids may be reused by a respawned worker.
  const tag = `${process.pid}.${randomBytes(3).toString("hex")}`;
  let runs = 0;
  const span = config.handlerMaxMs - config.handlerMinMs;
  const worker = new Worker<AnyJobMap>(
    config.queue,
    {
      [FAULT_JOB]: async (job): Promise<FaultResult> => {
        runs += 1;
        const runId = `${tag}.${runs}`;
        log({ ev: "start", id: job.id, attempt: job.attempt, runId });
        await sleep(config.handlerMinMs + Math.random() * span);
        return { runId };
      },
    },
    {
      adapter,
      concurrency: config.concurrency,
      leaseMs: config.leaseMs,
      stalledIntervalMs: config.stalledIntervalMs,
    },
  );
  worker.on("completed", (job: Job<AnyJobMap>, result: unknown) => {
    log({ ev: "completed", id: job.id, runId: (result as FaultResult).runId });
  });
  worker.on("lost", (job) => log({ ev: "lost", id: job.id }));
  worker.on("stalled", (id, movedTo) => log({ ev: "stalled", id, movedTo }));
  worker.on("error", (err) => log({ ev: "error", code: codeOf(err), message: messageOf(err) }));
  worker.on("storeDown", () => log({ ev: "storeDown" }));
  worker.on("storeUp", (downMs) => log({ ev: "storeUp", downMs }));
  onTerm(async () => {
    await worker.close(5_000);
    await adapter.close();
  }, log);
  log({ ev: "ready", pid: process.pid });
}

async function runProducer(config: ProducerChildConfig): Promise<void> {
  const log = logger(config.log);
  const adapter = await loadAdapter(config);
  const queue = new Queue<AnyJobMap>(config.queue, { adapter });
  onTerm(async () => {
    await queue.close();
    await adapter.close();
  }, log);
  log({ ev: "ready", pid: process.pid });
  const interval = 1000 / config.rate;
  const add = async (n: number) => {
    const id = `${config.idPrefix}${n}`;
    try {
      await queue.add(FAULT_JOB, { n }, { jobId: id });
      log({ ev: "acked", id });
    } catch (err) {
      // Never give up: the next add is the next job, as a producer serving requests would.
      log({ ev: "add_failed", id, code: codeOf(err), message: messageOf(err) });
    }
  };
  // Adds overlap, as a service's requests do, so the rate holds whatever a round trip
  // costs; the bound keeps an outage from piling up adds without limit.
  const inFlight = new Set<Promise<void>>();
  let next = performance.now();
  for (let n = 0; n < config.total; n++) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= MAX_ADDS_IN_FLIGHT) await Promise.race(inFlight);
    const adding: Promise<void> = add(n).finally(() => inFlight.delete(adding));
    inFlight.add(adding);
    // No catching up after a stall (an outage): the rate stays the target rate.
    next = Math.max(next + interval, performance.now());
  }
  await Promise.all(inFlight);
  log({ ev: "done" });
  await queue.close();
  await adapter.close();
  process.exit(0);
}

function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("usage: child.js '<ChildConfig JSON>'");
  const config = JSON.parse(raw) as ChildConfig;
  return config.role === "worker" ? runWorker(config) : runProducer(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`fault child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
