import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildConfig, LogEvent, ProducerChildConfig, WorkerChildConfig } from "./protocol.js";

/** One child process of the scenario, from spawn to exit. */
export interface ChildRecord {
  /** Unique in the run: `worker-2.3` is the third process in worker slot 2. */
  name: string;
  role: ChildConfig["role"];
  slot: number;
  log: string;
  stderr: string;
  pid: number;
  spawnedAt: number;
  /** When the test sent SIGKILL. */
  killedAt: number | null;
  /** True between SIGSTOP and SIGCONT. */
  stopped: boolean;
  /** The test sent SIGTERM: an exit with code 0 is expected. */
  terminating: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null; t: number } | null;
}

/** An exit the test did not ask for, with what the process logged last. */
export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  t: number;
  tail: string;
}

type WorkerSettings = Omit<WorkerChildConfig, "role" | "log">;
type ProducerSettings = Omit<ProducerChildConfig, "role" | "log">;

/** Read a child's log; a line cut short (never seen, but cheap to allow) is skipped. */
export function readLog(path: string): LogEvent[] {
  if (!existsSync(path)) return [];
  const events: LogEvent[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line === "") continue;
    try {
      events.push(JSON.parse(line) as LogEvent);
    } catch {
      // Only a final, partly written line can fail to parse.
    }
  }
  return events;
}

function tailOf(path: string, lines: number): string {
  if (!existsSync(path)) return "";
  return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * The scenario's worker and producer processes: spawns them with `process.execPath`, kills,
 * stops and resumes them, respawns killed workers, and records every exit the test did not
 * ask for.
 */
export class ChildSet {
  readonly #dir: string;
  readonly #script: string;
  readonly #records: ChildRecord[] = [];
  readonly #procs = new Map<ChildRecord, ChildProcess>();
  readonly #exited = new Map<ChildRecord, Promise<void>>();
  readonly #unexpected: UnexpectedExit[] = [];
  readonly #spawnsBySlot = new Map<string, number>();

  constructor(dir: string, script: string) {
    this.#dir = dir;
    this.#script = script;
  }

  /** Every process spawned so far, exited ones included. */
  get records(): readonly ChildRecord[] {
    return this.#records;
  }

  /** Exits nobody asked for (any exit but after SIGKILL, or code 0 after SIGTERM or `done`). */
  get unexpectedExits(): readonly UnexpectedExit[] {
    return this.#unexpected;
  }

  /** Workers running now and not stopped. */
  liveWorkers(): ChildRecord[] {
    return this.#records.filter(
      (r) => r.role === "worker" && r.exit === null && r.killedAt === null && !r.stopped,
    );
  }

  spawnWorker(slot: number, settings: WorkerSettings): ChildRecord {
    return this.#spawn("worker", slot, (log) => ({ role: "worker", log, ...settings }));
  }

  spawnProducer(settings: ProducerSettings): ChildRecord {
    return this.#spawn("producer", 1, (log) => ({ role: "producer", log, ...settings }));
  }

  /** Resolve once `record` logged `ready`, or throw with its output when it exits first. */
  async ready(record: ChildRecord, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!readLog(record.log).some((e) => e.ev === "ready")) {
      if (record.exit !== null || Date.now() > end) {
        throw new Error(
          `${record.name} did not get ready (${record.exit ? `exited ${record.exit.code ?? record.exit.signal}` : `within ${timeoutMs} ms`}):\n${tailOf(record.stderr, 20)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** SIGKILL `record`; resolves with the kill's time once it has exited. */
  async kill(record: ChildRecord): Promise<number> {
    const t = Date.now();
    record.killedAt = t;
    this.#procs.get(record)?.kill("SIGKILL");
    await this.#exited.get(record);
    return t;
  }

  /** SIGSTOP `record`; returns the time. */
  stop(record: ChildRecord): number {
    record.stopped = true;
    const t = Date.now();
    this.#procs.get(record)?.kill("SIGSTOP");
    return t;
  }

  /** SIGCONT `record`; returns the time. */
  resume(record: ChildRecord): number {
    const t = Date.now();
    this.#procs.get(record)?.kill("SIGCONT");
    record.stopped = false;
    return t;
  }

  /** Resolves once `record` has exited, or after `timeoutMs` (then false). */
  async waitExit(record: ChildRecord, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const exited = this.#exited.get(record)?.then(() => true as const) ?? Promise.resolve(true);
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    return result;
  }

  /**
   * SIGTERM every process still running (each closes and exits 0), SIGKILL any that has not
   * exited within `timeoutMs`; such a one counts as an unexpected exit.
   */
  async terminateAll(timeoutMs: number): Promise<void> {
    const running = this.#records.filter((r) => r.exit === null);
    await Promise.all(
      running.map(async (r) => {
        const proc = this.#procs.get(r);
        if (r.stopped) proc?.kill("SIGCONT");
        // A process still starting has no SIGTERM handler yet: the signal would kill it
        // before it could close, so let it get ready (a failure to is caught below).
        await this.ready(r, timeoutMs).catch(() => undefined);
        r.terminating = true;
        proc?.kill("SIGTERM");
        if (await this.waitExit(r, timeoutMs)) return;
        this.#unexpected.push({
          name: r.name,
          code: null,
          signal: null,
          t: Date.now(),
          tail: `did not close within ${timeoutMs} ms of SIGTERM\n${this.#tail(r)}`,
        });
        this.#procs.get(r)?.kill("SIGKILL");
        await this.#exited.get(r);
      }),
    );
  }

  #spawn(
    role: ChildConfig["role"],
    slot: number,
    config: (log: string) => ChildConfig,
  ): ChildRecord {
    const key = `${role}-${slot}`;
    const n = (this.#spawnsBySlot.get(key) ?? 0) + 1;
    this.#spawnsBySlot.set(key, n);
    const name = `${key}.${n}`;
    const log = join(this.#dir, `${name}.jsonl`);
    const stderr = join(this.#dir, `${name}.stderr`);
    const fd = openSync(stderr, "a");
    const proc = spawn(process.execPath, [this.#script, JSON.stringify(config(log))], {
      stdio: ["ignore", fd, fd],
      env: process.env,
    });
    closeSync(fd);
    const record: ChildRecord = {
      name,
      role,
      slot,
      log,
      stderr,
      pid: proc.pid ?? -1,
      spawnedAt: Date.now(),
      killedAt: null,
      stopped: false,
      terminating: false,
      exit: null,
    };
    this.#records.push(record);
    this.#procs.set(record, proc);
    this.#exited.set(
      record,
      new Promise((resolve) => {
        proc.once("exit", (code, signal) => {
          record.exit = { code, signal, t: Date.now() };
          if (!this.#expected(record)) {
            this.#unexpected.push({
              name,
              code,
              signal,
              t: record.exit.t,
              tail: this.#tail(record),
            });
          }
          resolve();
        });
      }),
    );
    return record;
  }

  #expected(record: ChildRecord): boolean {
    const exit = record.exit;
    if (exit === null) return false;
    if (record.killedAt !== null) return exit.signal === "SIGKILL";
    if (exit.code !== 0) return false;
    if (record.terminating) return true;
    return record.role === "producer" && readLog(record.log).some((e) => e.ev === "done");
  }

  #tail(record: ChildRecord): string {
    return `--- ${record.name} log (last 15 lines)\n${tailOf(record.log, 15)}\n--- stderr\n${tailOf(record.stderr, 20)}`;
  }
}
