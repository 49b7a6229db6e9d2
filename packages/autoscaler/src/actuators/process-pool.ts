import { type ChildProcess, fork } from "node:child_process";
import { TypedEmitter } from "@queueflow/core";
import type { Actuator } from "./actuator.js";
import { RETIRE_MESSAGE } from "./pool-child.js";

/** Options of a {@link ProcessPool}. */
export interface ProcessPoolOptions {
  /** The module each child runs (it should start a Worker and call `runPoolChild`). */
  modulePath: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  execArgv?: string[];
  /** How long a retiring child may take to finish its jobs before SIGKILL; default 30 s. */
  retireTimeoutMs?: number;
}

/** How a child left the pool. */
export interface ChildExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the pool asked it to go; false for a crash. */
  retired: boolean;
  /** True when it outlived `retireTimeoutMs` and was killed. */
  killed: boolean;
}

/** Events of a {@link ProcessPool}. */
export type ProcessPoolEvents = {
  spawned: (pid: number) => void;
  exited: (exit: ChildExit) => void;
  /** A message a child sent over IPC. */
  message: (pid: number, message: unknown) => void;
  error: (error: unknown) => void;
};

interface Member {
  child: ChildProcess;
  pid: number;
  retiring: boolean;
  killed: boolean;
  exited: Promise<void>;
}

/**
 * An actuator that runs workers as child processes (`child_process.fork` of `modulePath`).
 * Scaling down retires the newest children gracefully: each gets a retire message over IPC
 * (or SIGTERM without IPC), closes its Worker, which waits for its running jobs, and exits;
 * the pool waits up to `retireTimeoutMs`, then kills it. A child that crashes leaves the pool;
 * the next `apply` replaces it.
 * @example
 * const pool = new ProcessPool({ modulePath: new URL("./worker.js", import.meta.url).pathname });
 * await pool.apply(4);
 */
export class ProcessPool extends TypedEmitter<ProcessPoolEvents> implements Actuator {
  readonly name = "process-pool";
  readonly #options: ProcessPoolOptions;
  readonly #members = new Map<number, Member>();
  #closed = false;

  constructor(options: ProcessPoolOptions) {
    super();
    this.#options = options;
  }

  /** Children running and not retiring. */
  current(): number {
    let n = 0;
    for (const m of this.#members.values()) if (!m.retiring) n++;
    return n;
  }

  /** Children still finishing their jobs after being asked to go. */
  retiring(): number {
    return this.#members.size - this.current();
  }

  /** Process ids of the children not retiring, oldest first. */
  pids(): number[] {
    return [...this.#members.values()].filter((m) => !m.retiring).map((m) => m.pid);
  }

  /** Fork or retire children toward `desired`; resolves once new children have spawned. */
  async apply(desired: number): Promise<void> {
    if (this.#closed) return;
    const target = Math.max(0, Math.round(desired));
    const live = [...this.#members.values()].filter((m) => !m.retiring);
    if (target > live.length) {
      await Promise.all(Array.from({ length: target - live.length }, () => this.#spawn()));
    } else {
      // Newest first: the oldest children have warmed caches and connections.
      for (const m of live.slice(target).reverse()) this.#retire(m);
    }
  }

  /** Resolves when every retiring child has exited. */
  async settled(): Promise<void> {
    await Promise.all([...this.#members.values()].filter((m) => m.retiring).map((m) => m.exited));
  }

  /** Retire every child and wait for all of them (each within `retireTimeoutMs`). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const m of this.#members.values()) this.#retire(m);
    await Promise.all([...this.#members.values()].map((m) => m.exited));
  }

  /** SIGKILL every child at once (tests' last resort; running jobs come back by lease expiry). */
  kill(): void {
    this.#closed = true;
    for (const m of this.#members.values()) {
      m.killed = true;
      m.child.kill("SIGKILL");
    }
  }

  #spawn(): Promise<void> {
    const o = this.#options;
    const child = fork(o.modulePath, o.args ?? [], {
      ...(o.env ? { env: o.env } : {}),
      ...(o.execArgv ? { execArgv: o.execArgv } : {}),
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    return new Promise<void>((resolve) => {
      let exitedResolve: () => void = () => {};
      const exited = new Promise<void>((r) => {
        exitedResolve = r;
      });
      child.once("spawn", () => {
        const pid = child.pid!;
        const member: Member = { child, pid, retiring: false, killed: false, exited };
        this.#members.set(pid, member);
        child.on("message", (message) => this.emit("message", pid, message));
        child.once("exit", (code, signal) => {
          this.#members.delete(pid);
          this.emit("exited", {
            pid,
            code,
            signal,
            retired: member.retiring,
            killed: member.killed,
          });
          exitedResolve();
        });
        this.emit("spawned", pid);
        resolve();
      });
      child.once("error", (err) => {
        this.emit("error", err);
        if (child.pid === undefined) {
          exitedResolve();
          resolve();
        }
      });
    });
  }

  #retire(m: Member): void {
    if (m.retiring) return;
    m.retiring = true;
    if (m.child.connected) {
      m.child.send(RETIRE_MESSAGE, (err) => {
        if (err) m.child.kill("SIGTERM");
      });
    } else m.child.kill("SIGTERM");
    const deadline = setTimeout(() => {
      m.killed = true;
      m.child.kill("SIGKILL");
    }, this.#options.retireTimeoutMs ?? 30_000);
    deadline.unref();
    void m.exited.then(() => clearTimeout(deadline));
  }
}
