import type { TcpTarget } from "./tcp-proxy.js";

/** The job name every process of the fault scenario uses. */
export const FAULT_JOB = "fault-work";

/** What every child of the scenario is told, as JSON in its first argument. */
interface ChildBase {
  /** Absolute path of the module exporting `createAdapter(target)`. */
  adapterModule: string;
  /** Where the adapter connects: the scenario's proxy. */
  target: TcpTarget;
  queue: string;
  /** The child's own log file, JSON lines appended synchronously (they survive SIGKILL). */
  log: string;
}

/** A worker process: one core `Worker` whose handler does a little async work. */
export interface WorkerChildConfig extends ChildBase {
  role: "worker";
  concurrency: number;
  leaseMs: number;
  stalledIntervalMs: number;
  /** Each run waits a random time in [handlerMinMs, handlerMaxMs]. */
  handlerMinMs: number;
  handlerMaxMs: number;
}

/** The producer: one core `Queue` adding `total` jobs at `rate` per second. */
export interface ProducerChildConfig extends ChildBase {
  role: "producer";
  rate: number;
  total: number;
  /** Job ids are `${idPrefix}${n}`, so every add is of a new job. */
  idPrefix: string;
}

export type ChildConfig = WorkerChildConfig | ProducerChildConfig;

/**
 * One line of a child's log; `t` is `Date.now()` in the child (one host, one clock).
 * - `ready`: the child built its adapter and Worker or Queue.
 * - `start`: a handler run began; `runId` names that run, and the handler returns it.
 * - `completed`: the Worker's `completed` event (the settle was accepted).
 * - `lost`: the Worker's `lost` event (the settle was refused, or the job handed back).
 * - `stalled`: this worker's stall recovery moved a job.
 * - `error`, `storeDown`, `storeUp`: the Worker's events of those names.
 * - `acked`: an add resolved; `add_failed`: it threw (the producer goes on to the next job).
 * - `done`: the producer added its last job; `closed`: the child closed on SIGTERM.
 */
export type LogEvent =
  | { ev: "ready"; t: number; pid: number }
  | { ev: "claimed"; t: number; ids: string[]; via: "claim" | "handoff" }
  | { ev: "start"; t: number; id: string; attempt: number; runId: string }
  | { ev: "completed"; t: number; id: string; runId: string }
  | { ev: "lost"; t: number; id: string }
  | { ev: "stalled"; t: number; id: string; movedTo: "waiting" | "dead" }
  | { ev: "error"; t: number; code: string | null; message: string }
  | { ev: "storeDown"; t: number }
  | { ev: "storeUp"; t: number; downMs: number }
  | { ev: "acked"; t: number; id: string }
  | { ev: "add_failed"; t: number; id: string; code: string | null; message: string }
  | { ev: "done"; t: number }
  | { ev: "closed"; t: number };

/** The handler's result: ties the stored result to the run that produced it. */
export interface FaultResult {
  runId: string;
}
