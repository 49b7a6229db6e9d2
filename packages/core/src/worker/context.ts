import type { ClaimedJob, StorageAdapter } from "../contract.js";
import type { PrefetchBuffer } from "../prefetch-buffer.js";
import type { PrefetchSize } from "../prefetch-size.js";
import type { RunControl } from "../run-control.js";
import type { SettleBatcher } from "../settle-batcher.js";
import type { StoreOutage } from "../store-outage.js";
import type { JobMap } from "../types.js";
import type { Trigger } from "../wait.js";
import type { WorkerEvents, WorkerOptions } from "../worker.js";

/** One run of one claim of a job: a job re-claimed while an old run goes on has two. */
export interface Running {
  job: ClaimedJob;
  control: RunControl;
  done: Promise<void>;
}

/** The Worker's `emit`, which is protected: its parts get it bound once. */
export type EmitWorkerEvent<M extends JobMap> = <K extends keyof WorkerEvents<M>>(
  event: K,
  ...args: Parameters<WorkerEvents<M>[K]>
) => void;

/**
 * What the parts of one Worker (claim loop, job runner, maintenance, shutdown) share: its
 * settings and the state more than one of them reads or changes. The Worker creates it once
 * and hands it to each part, which keeps the fields it needs in its own: a job's way from
 * claim to settle reads plain fields, with nothing allocated or looked up through the Worker.
 */
export interface WorkerContext<M extends JobMap> {
  readonly queue: string;
  readonly workerId: string;
  readonly adapter: StorageAdapter;
  readonly options: WorkerOptions;
  readonly leaseMs: number;
  /** Set by `setConcurrency` on a running worker: read it here each time, never copy it. */
  concurrency: number;
  /** Every run whose handler has not returned; the concurrency limit counts these. */
  readonly running: Set<Running>;
  /** Claimed jobs waiting for a slot (see `prefetch`). */
  readonly buffer: PrefetchBuffer;
  readonly prefetch: PrefetchSize;
  /** Fired when a slot frees or concurrency changes; a claim loop with no room waits on it. */
  readonly slotFreed: Trigger;
  /** Aborts when `close()` begins. */
  readonly stop: AbortSignal;
  readonly outage: StoreOutage;
  readonly batcher: SettleBatcher;
  readonly emit: EmitWorkerEvent<M>;
  readonly listenerCount: (event: keyof WorkerEvents<M>) => number;
}

/** Report a failed store call, unless it only repeats an outage already reported. */
export function storeFailed<M extends JobMap>(ctx: WorkerContext<M>, err: unknown): void {
  if (ctx.outage.failed(err)) ctx.emit("error", err);
}
