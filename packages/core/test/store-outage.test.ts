import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  isQueueFlowError,
  type JobContext,
  Queue,
  type Worker,
  type WorkerOptions,
} from "../src/index.js";
import { closedAfterEach, freshQueue, waitFor } from "./helpers.js";
import { OutageAdapter } from "./outage-adapter.js";

type Jobs = { work: { payload: { ms: number }; result: string } };

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const newWorker = closedAfterEach<Jobs>();

function startWorker(
  queue: string,
  options: WorkerOptions,
  work: (job: JobContext<Jobs, "work">) => Promise<string> = async () => "done",
): Worker<Jobs> {
  return newWorker(queue, { work }, options);
}

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Run an ES module with the built package; resolve with its exit code, signal and stdout.
 * With `aliveAfterMs`, check that it still runs that long after its first line of output (a
 * loaded machine can take seconds to start node), then end it with SIGTERM.
 */
function runScript(
  source: string,
  aliveAfterMs?: number,
): Promise<{ code: number | null; signal: string | null; out: string; aliveAtCheck: boolean }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
    env: { ...process.env, QF_CORE: dist },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let aliveAtCheck = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (out === "" && aliveAfterMs !== undefined) {
      setTimeout(() => {
        aliveAtCheck = child.exitCode === null && child.signalCode === null;
        child.kill("SIGTERM");
      }, aliveAfterMs);
    }
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      if (code !== 0 && code !== null) out += err;
      resolve({ code, signal, out, aliveAtCheck });
    });
  });
}

describe("a started worker keeps its process alive until close()", () => {
  it("runs a delayed job on the memory store instead of letting the process end", async () => {
    expect(existsSync(dist), "build the package first (pnpm build): dist/ is missing").toBe(true);
    const { code, out } = await runScript(`
      const { Queue, Worker } = await import(process.env.QF_CORE);
      const queue = new Queue("keep-alive");
      await queue.add("job", {}, { delayMs: 300 });
      const worker = new Worker("keep-alive", {
        job: async () => {
          console.log("ran");
          setImmediate(() => void worker.close());
        },
      });
    `);
    expect(out.trim()).toBe("ran");
    expect(code).toBe(0);
  });

  it("stays up, retrying, while its store cannot be reached at all", async () => {
    const { aliveAtCheck, out } = await runScript(
      `
      const { MemoryAdapter, storeUnavailable, Worker } = await import(process.env.QF_CORE);
      class Unreachable extends MemoryAdapter {
        async connect() { throw storeUnavailable("Test", "connect", "refused", "nothing"); }
      }
      const worker = new Worker("down", { job: async () => null }, { adapter: new Unreachable() });
      let failures = 0;
      worker.on("storeDown", () => console.log("down"));
      worker.on("error", () => failures++);
      process.on("SIGTERM", () => { console.log("errors " + failures); process.exit(0); });
    `,
      1000,
    );
    expect(aliveAtCheck).toBe(true);
    // One outage, reported once, however many connects failed meanwhile.
    expect(out.trim().split("\n")).toEqual(["down", "errors 1"]);
  });
});

describe("Worker and Queue across a store outage", () => {
  it("a worker whose first connect failed claims once the store answers", async () => {
    const store = new OutageAdapter();
    store.down = true;
    const queue = freshQueue();
    const events: string[] = [];
    const worker = startWorker(queue, { adapter: store.adapter });
    worker.on("storeDown", () => events.push("down"));
    worker.on("storeUp", () => events.push("up"));
    await waitFor(() => events.includes("down"), { what: "the outage to be seen" });
    await new Queue<Jobs>(queue, { adapter: store.store }).add("work", { ms: 0 });
    store.down = false;
    await waitFor(async () => (await store.store.counts(queue)).completed === 1, {
      what: "the job to complete after the store came back",
    });
    expect(events).toEqual(["down", "up"]);
  });

  it("a queue whose first call met an outage adds again once the store answers", async () => {
    const store = new OutageAdapter();
    store.down = true;
    const queue = new Queue<Jobs>(freshQueue(), { adapter: store.adapter });
    const refused = await queue.add("work", { ms: 0 }).catch((err: unknown) => err);
    expect(isQueueFlowError(refused, "QF_STORE_UNAVAILABLE")).toBe(true);
    store.down = false;
    const back = performance.now();
    let added = false;
    while (!added && performance.now() - back < 1000) {
      added = await queue.add("work", { ms: 0 }).then(
        () => true,
        () => false,
      );
    }
    expect(added).toBe(true);
    expect((await store.store.counts(queue.name)).waiting).toBe(1);
  });

  it("resumes claiming within a second of the store answering, however long it was down", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const started: number[] = [];
    startWorker(queue, { adapter: store.adapter, pollIntervalMs: 50 }, async () => {
      started.push(performance.now());
      return "done";
    });
    store.down = true;
    // Long enough for a doubling back-off to have grown past several seconds.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await new Queue<Jobs>(queue, { adapter: store.store }).add("work", { ms: 0 });
    const back = performance.now();
    store.down = false;
    await waitFor(() => started.length === 1, { what: "the job to start" });
    expect(started[0]! - back).toBeLessThan(1000);
  });

  it("does not start a job whose lease ran out before the claim's answer was read", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const producer = new Queue<Jobs>(queue, { adapter: store.store });
    const job = await producer.add("work", { ms: 0 });
    let runs = 0;
    // The first claim's answer arrives after the 200 ms lease: a process paused meanwhile.
    store.holdNextClaimMs = 300;
    const worker = startWorker(queue, { adapter: store.adapter, leaseMs: 200 }, async () => {
      runs += 1;
      return "done";
    });
    await waitFor(async () => (await store.store.getJob(queue, job.id))?.state === "completed", {
      what: "the job to complete on a later claim",
    });
    // Two claims handed it out; only the second one's run started, and the first claim's
    // attempt was given back with the job.
    expect(store.claimed).toBe(2);
    expect(runs).toBe(1);
    expect((await store.store.getJob(queue, job.id))?.attempts).toBe(1);
    expect(worker.running).toBe(0);
  });

  it("hands back, unstarted, a job whose claim was answered after close() began", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const job = await new Queue<Jobs>(queue, { adapter: store.store }).add("work", { ms: 0 });
    let runs = 0;
    store.holdNextClaimMs = 300;
    const worker = startWorker(queue, { adapter: store.adapter }, async () => {
      runs += 1;
      return "done";
    });
    // Close while the claim that leased the job is still on its way back.
    await waitFor(async () => (await store.store.getJob(queue, job.id))?.state === "active", {
      what: "the job to be claimed",
    });
    await worker.close(10);
    expect(store.claimed).toBe(1);
    expect(runs).toBe(0);
    const back = await store.store.getJob(queue, job.id);
    expect(back?.state).toBe("waiting");
    expect(back?.attempts).toBe(0);
  });

  /**
   * A worker runs a job through an 800 ms cut of the store (4 leases of 400 ms) while another
   * recovers stalled jobs every 20 ms; the job must complete in one run with no stall.
   * `cut` starts the cut and returns the function that ends it.
   */
  async function runThroughCut(cut: (store: OutageAdapter) => () => void): Promise<void> {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const job = await new Queue<Jobs>(queue, { adapter: store.store }).add("work", { ms: 1500 });
    let runs = 0;
    const common = { adapter: store.adapter, leaseMs: 400, runSchedules: false } as const;
    const holder = startWorker(queue, { ...common, heartbeatMs: 100 }, async (j) => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, j.payload.ms));
      return "done";
    });
    await waitFor(() => holder.running === 1, { what: "the job to start" });
    const stalls: string[] = [];
    const recoverer = startWorker(queue, { ...common, stalledIntervalMs: 20, concurrency: 1 });
    recoverer.on("stalled", (id) => stalls.push(id));
    holder.on("stalled", (id) => stalls.push(id));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const end = cut(store);
    await new Promise((resolve) => setTimeout(resolve, 800));
    end();
    await waitFor(async () => (await store.store.getJob(queue, job.id))?.state === "completed", {
      what: "the job to complete",
    });
    expect(stalls).toEqual([]);
    expect(runs).toBe(1);
    expect((await store.store.getJob(queue, job.id))?.stalls).toBe(0);
  }

  it("an outage longer than a lease alone does not count as a stall", async () => {
    await runThroughCut((store) => {
      store.down = true;
      return () => {
        store.down = false;
      };
    });
  });

  it("a partition longer than a lease (calls hang, none fails) alone does not count as a stall", async () => {
    // The recoverer's call, made early in the partition before the holder's next heartbeat,
    // reaches the store first when it heals.
    await runThroughCut((store) => store.hold());
  });
});

describe("a job claimed again by the same worker while an old run of it goes on", () => {
  it("aborts the old run, and the old run's end leaves the new one tracked", async () => {
    const store = new OutageAdapter();
    const queue = freshQueue();
    const producer = new Queue<Jobs>(queue, { adapter: store.store });
    const job = await producer.add("work", { ms: 0 });
    const gates = [gate(), gate()];
    const signals: AbortSignal[] = [];
    let firstEnded = false;
    const lost: string[] = [];
    // Nothing expires within the test: only the cancel and retry below move the job.
    const worker = startWorker(
      queue,
      { adapter: store.adapter, concurrency: 2, leaseMs: 60_000, runSchedules: false },
      async (j) => {
        const run = signals.push(j.signal) - 1;
        // Both runs ignore their signal, as a handler that never looks at it would.
        await gates[run]!.promise;
        if (run === 0) firstEnded = true;
        return run === 0 ? "first" : "second";
      },
    );
    worker.on("lost", (j) => lost.push(j.id));
    await waitFor(() => signals.length === 1, { what: "the first run to start" });
    await producer.cancel(job.id);
    await producer.retry(job.id);
    await waitFor(() => signals.length === 2, { what: "the second run to start" });
    expect(signals[0]!.aborted).toBe(true);
    expect(isQueueFlowError(signals[0]!.reason, "QF_LEASE_LOST")).toBe(true);
    // The old run's outcome is refused once its settle lands.
    await waitFor(() => lost.length > 0, { what: "the old run's outcome to be refused" });
    expect(lost).toEqual([job.id]);
    gates[0]!.resolve();
    await waitFor(() => firstEnded, { what: "the first handler to return" });
    // Its promise chain (settle, release) runs in microtasks, all done before setImmediate.
    await new Promise((resolve) => setImmediate(resolve));
    expect(worker.running).toBe(1);
    gates[1]!.resolve();
    await waitFor(async () => (await store.store.getJob(queue, job.id))?.state === "completed", {
      what: "the second run to complete",
    });
    expect((await store.store.getJob(queue, job.id))?.result).toBe("second");
    expect(worker.running).toBe(0);
  });
});
