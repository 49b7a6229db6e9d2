/**
 * Processing with 2 worker processes: the parent fills one session, forks 2 children
 * (multiproc-worker.ts) that open the same session and run one Worker each, then times from
 * "go" until the store holds every job as completed. Process start-up is not timed.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Library, type StoreName, sleep, TimeoutError, withDeadline } from "./common.js";
import { alternate, type Figure, figure, push } from "./compare.js";
import { type Sample, withSession } from "./measures.js";

export interface ChildSpec {
  lib: string;
  store: StoreName;
  url: string;
  runId: string;
  concurrency: number;
}

export type ChildMessage =
  | { type: "ready" }
  | { type: "started" }
  | { type: "error"; message: string };

/** Every library's best settings, and QueueFlow's defaults, run with worker processes too. */
export function runsMultiProcess(name: string): boolean {
  return !name.endsWith(" (defaults)") || name === "QueueFlow (defaults)";
}

export interface MultiProcessOptions {
  runs: number;
  /**
   * Worker process counts, each with the concurrencies it runs at. One process is how users
   * deploy a worker beside the code that adds jobs, so it repeats the in-process figures'
   * concurrencies.
   */
  layouts: { processes: number; concurrencies: number[] }[];
  jobs: number;
  deadlineMs: number;
}

const CHILD = fileURLToPath(new URL("./multiproc-worker.ts", import.meta.url));

interface Child {
  proc: ChildProcess;
  /** Resolves on the next message of this type; rejects on an error message or exit. */
  next(type: ChildMessage["type"]): Promise<void>;
}

function spawn(spec: ChildSpec): Child {
  const proc = fork(CHILD, [JSON.stringify(spec)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiters: { type: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const failAll = (e: Error) => {
    for (const w of waiters.splice(0)) w.reject(e);
  };
  proc.on("message", (m: ChildMessage) => {
    if (m.type === "error") return failAll(new Error(`${spec.lib} child: ${m.message}`));
    for (const w of waiters.filter((x) => x.type === m.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  proc.on("exit", (code) => failAll(new Error(`${spec.lib} child exited (${code})`)));
  return {
    proc,
    next: (type) => new Promise((resolve, reject) => waiters.push({ type, resolve, reject })),
  };
}

async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.proc.once("exit", () => r()));
  child.proc.send({ type: "stop" });
  await withDeadline("child stop", 20_000, exited).catch(() => {
    child.proc.kill("SIGKILL");
  });
}

/** Wall seconds from "go" until `count` jobs are stored as completed (flagged past deadline). */
export async function multiProcessWall(
  lib: Library,
  url: string,
  processes: number,
  concurrency: number,
  count: number,
  deadlineMs: number,
): Promise<Sample> {
  return withSession(lib, async (s, runId) => {
    await s.addBulk(count);
    await s.afterFill?.();
    const spec: ChildSpec = { lib: lib.name, store: lib.store, url, runId, concurrency };
    const children = Array.from({ length: processes }, () => spawn(spec));
    try {
      await withDeadline(
        `${lib.name} children ready`,
        60_000,
        Promise.all(children.map((c) => c.next("ready"))),
      );
      const t0 = performance.now();
      for (const c of children) c.proc.send({ type: "go" });
      const started = Promise.all(children.map((c) => c.next("started")));
      started.catch(() => {});
      let timedOut = false;
      let done = 0;
      for (let i = 0; ; i++) {
        done = await s.completed();
        if (done >= count) break;
        if (performance.now() - t0 > deadlineMs || i > 1_000_000) {
          timedOut = true;
          break;
        }
        await sleep(done > count * 0.9 ? 5 : 20);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (done === 0)
        throw new TimeoutError(`${lib.name} ${processes} processes: no job done`, deadlineMs);
      await started;
      return { value: seconds, timedOut };
    } finally {
      await Promise.all(children.map(stop));
    }
  });
}

export async function multiProcessFigures(
  store: StoreName,
  libs: Library[],
  url: string,
  o: MultiProcessOptions,
): Promise<Figure[]> {
  const usable = libs.filter((l) => runsMultiProcess(l.name));
  if (usable.length === 0) return [];
  const figures: Figure[] = [];
  for (const { processes, concurrencies } of o.layouts) {
    const what = processes === 1 ? "1 worker process" : `${processes} worker processes`;
    for (const c of concurrencies) {
      const f = figure(
        store,
        `multi.p${processes}.c${c}`,
        `${what} × 1 Worker at concurrency ${c}: wall time for ${o.jobs.toLocaleString("en-US")} jobs`,
        "s",
        false,
      );
      figures.push(f);
      await alternate(usable, o.runs, `${what} c=${c}`, [f], async (lib) => {
        push(f, lib.name, await multiProcessWall(lib, url, processes, c, o.jobs, o.deadlineMs));
      });
    }
  }
  return figures;
}
