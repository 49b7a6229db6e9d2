import type { ClaimedJob, Settlement } from "../contract.js";
import { QueueFlowError } from "../errors.js";
import type { Json } from "../job.js";
import { RunningJobContext } from "../job-context.js";
import { runWithMiddleware } from "../middleware.js";
import type { PrefetchBuffer } from "../prefetch-buffer.js";
import { RunControl } from "../run-control.js";
import type { SettleBatcher } from "../settle-batcher.js";
import type { Job, JobMap, JobName } from "../types.js";
import { assertJson, DEFAULT_MAX_PAYLOAD_BYTES } from "../validate.js";
import type { CompletedResult, Handler, Handlers } from "../worker.js";
import { type Running, storeFailed, type WorkerContext } from "./context.js";
import { failureSettlement } from "./failure-settlement.js";

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Runs the jobs a worker has claimed. Each goes to a free slot, or waits in the prefetch
 * buffer for one, or goes back to the store unstarted; in its slot its handler runs inside
 * the `process` middleware, under its timeout and abort, then the slot frees and the job
 * settles (inside the `settle` middleware, batched with other jobs' settles) and its outcome
 * is emitted.
 */
export class JobRunner<M extends JobMap> {
  readonly #ctx: WorkerContext<M>;
  readonly #handlers: Handlers<M>;
  readonly #running: Set<Running>;
  readonly #buffer: PrefetchBuffer;
  readonly #batcher: SettleBatcher;
  readonly #stop: AbortSignal;
  /** The newest run of each job id, to abort an older run when its job is claimed again. */
  readonly #runByJob = new Map<string, Running>();

  constructor(ctx: WorkerContext<M>, handlers: Handlers<M>) {
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#running = ctx.running;
    this.#buffer = ctx.buffer;
    this.#batcher = ctx.batcher;
    this.#stop = ctx.stop;
  }

  /**
   * Run a claimed job, unless the worker is closing or its lease has already run out by this
   * process's clock: `leasedAt` (performance.now()) is when the claim that leased it was
   * sent, so the lease cannot end before `leasedAt + leaseMs`. A process paused past the
   * lease (SIGSTOP, a long GC, a suspended VM) would otherwise start jobs another worker may
   * have run already.
   */
  accept(job: ClaimedJob, leasedAt: number): void {
    // A claim answered after close() began would start a job nobody waits for or aborts:
    // close() returned, the owner closed the adapter, and the job stayed active until its
    // lease ran out (seen under load as a job left active after a worker shut down).
    if (this.#stop.aborted || performance.now() - leasedAt >= this.#ctx.leaseMs) {
      void this.#handBack(job);
      return;
    }
    if (this.#running.size >= this.#ctx.concurrency) {
      this.#buffer.add(job, leasedAt);
      return;
    }
    this.#launch(job);
  }

  /** Start buffered jobs while slots are free. */
  startBuffered(): void {
    while (this.#running.size < this.#ctx.concurrency && !this.#stop.aborted) {
      const next = this.#buffer.take(performance.now(), (stale) => void this.#handBack(stale));
      if (next === undefined) return;
      this.#launch(next.job);
    }
  }

  /** Return every buffered job to the store unstarted, for other workers to run at once. */
  handBackBuffered(): void {
    for (const job of this.#buffer.drain()) void this.#handBack(job);
  }

  /** Run a claimed job in a free slot, aborting an older run of it in this worker. */
  #launch(job: ClaimedJob): void {
    const running: Running = { job, control: new RunControl(), done: Promise.resolve() };
    const older = this.#runByJob.get(job.id);
    // Claimed again while an old run goes on (cancelled and retried, or recovered before a
    // heartbeat noticed): the old lease is void, so the old run must stop.
    older?.control.abort(
      new QueueFlowError("QF_LEASE_LOST", `Job ${job.id} was claimed again while it ran.`),
    );
    this.#running.add(running);
    this.#runByJob.set(job.id, running);
    running.done = this.#execute(running).finally(() => this.#release(running));
  }

  /** Return a job whose lease ran out before it started, without spending its attempt. */
  async #handBack(job: ClaimedJob): Promise<void> {
    try {
      const outcome = await this.#batcher.settle({
        kind: "snooze",
        id: job.id,
        token: job.leaseToken,
        delayMs: 0,
      });
      if (outcome === "lease_lost") this.#ctx.emit("lost", job as unknown as Job<M>);
    } catch (err) {
      // Still leased to us: it returns to waiting when stall recovery finds the lease expired.
      storeFailed(this.#ctx, err);
    }
  }

  /**
   * Free a run's slot as soon as its handler is done, before its settle lands: the next claim
   * then overlaps the settle instead of waiting a round trip behind it, which would make two
   * serial round trips per job at concurrency 1. Idempotent.
   */
  #release(running: Running): void {
    if (!this.#running.delete(running)) return;
    if (this.#runByJob.get(running.job.id) === running) this.#runByJob.delete(running.job.id);
    this.startBuffered();
    this.#ctx.slotFreed.fire();
  }

  async #execute(running: Running): Promise<void> {
    const { job, control } = running;
    const typed = job as unknown as Job<M>;
    if (this.#ctx.listenerCount("active") > 0) this.#ctx.emit("active", typed);
    const middleware = this.#ctx.options.middleware ?? [];
    const ctx = { queue: this.#ctx.queue, workerId: this.#ctx.workerId, job };
    let settlement: Settlement;
    const startedAt = performance.now();
    let ranMs: number | undefined;
    try {
      const result = await runWithMiddleware(middleware, "process", ctx, () =>
        this.#invoke(job, control),
      );
      ranMs = performance.now() - startedAt;
      const value = result === undefined ? null : result;
      assertJson(value, `Result of job ${job.id}`, DEFAULT_MAX_PAYLOAD_BYTES);
      settlement = {
        kind: "complete",
        id: job.id,
        token: job.leaseToken,
        result: value,
        remove: this.#ctx.options.retention?.completedMs === 0,
      };
    } catch (err) {
      ranMs ??= performance.now() - startedAt;
      settlement = failureSettlement(this.#ctx, job, err);
    }
    this.#ctx.prefetch.ran(ranMs);
    this.#release(running);
    let outcome: "ok" | "lease_lost";
    try {
      const settling = settlement;
      outcome = await runWithMiddleware(middleware, "settle", { ...ctx, settlement }, () =>
        this.#batcher.settle(settling),
      );
    } catch (err) {
      // The job stays active in the store; its lease expires and recovery brings it back.
      storeFailed(this.#ctx, err);
      return;
    }
    this.#ctx.outage.answered();
    if (outcome === "lease_lost") {
      this.#ctx.emit("lost", typed);
      return;
    }
    switch (settlement.kind) {
      case "complete":
        // What the handler for typed.name returned, undefined made null (see above).
        this.#ctx.emit("completed", typed, settlement.result as CompletedResult<M>);
        break;
      case "retry":
        this.#ctx.emit("failed", typed, settlement.error);
        this.#ctx.emit("retrying", typed, settlement.error, settlement.delayMs);
        break;
      case "dead":
        this.#ctx.emit("failed", typed, settlement.error);
        this.#ctx.emit("dead", typed, settlement.error);
        break;
      case "snooze":
        break;
    }
  }

  /** Run the handler, settling early if the run aborts (timeout, lost lease, close). */
  #invoke(job: ClaimedJob, control: RunControl): Promise<unknown> {
    const handler = (
      this.#handlers as unknown as Record<string, Handler<M, JobName<M>> | undefined>
    )[job.name];
    if (!handler) {
      return Promise.reject(
        new QueueFlowError(
          "QF_NO_HANDLER",
          `Worker for "${this.#ctx.queue}" has no handler for "${job.name}"; deploy one, then retry the job from the dead letters.`,
        ),
      );
    }
    const timeoutMs = job.timeoutMs ?? this.#ctx.options.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              control.abort(
                new QueueFlowError("QF_TIMEOUT", `Job ${job.id} timed out after ${timeoutMs} ms.`),
              );
            }, timeoutMs);
      control.onAbort(reject);
      const ctx = new RunningJobContext<M, JobName<M>>(
        job,
        this.#ctx.adapter,
        control,
        this.#onProgress(job),
      );
      const done = (settle: () => void) => {
        if (timer) clearTimeout(timer);
        settle();
      };
      try {
        const result = handler(ctx);
        if (isThenable(result)) {
          result.then(
            (value) => done(() => resolve(value)),
            (err: unknown) => done(() => reject(err)),
          );
        } else done(() => resolve(result));
      } catch (err) {
        done(() => reject(err));
      }
    });
  }

  #onProgress(job: ClaimedJob): (progress: Json) => void {
    return (progress) => this.#ctx.emit("progress", job as unknown as Job<M>, progress);
  }
}
