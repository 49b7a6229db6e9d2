import { fireDueSchedules } from "../scheduler.js";
import { STALLED_CALL_MS } from "../settle-batcher.js";
import type { JobMap } from "../types.js";
import { sleep } from "../wait.js";
import type { RetentionOptions } from "../worker.js";
import { storeFailed, type WorkerContext } from "./context.js";
import { heartbeat } from "./heartbeat.js";
import { CLOSE_GRACE_MS } from "./shutdown.js";

const RETENTION_BATCH = 1000;
const RETENTION_ROUNDS = 10;

/**
 * The periodic store calls of a worker besides claims and settles: the heartbeat that keeps
 * its leases, recovery of stalled jobs (expired leases, its own or other workers'), deleting
 * finished jobs past `retention`, and firing the queue's schedules. Each runs on its own
 * timer, never overlapping itself; recovery holds back after an outage so that it does not
 * take the jobs of workers that have not reached the store yet.
 */
export class Maintenance<M extends JobMap> {
  readonly #ctx: WorkerContext<M>;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Calls in flight, for `stop()` to wait for. */
  readonly #background = new Set<Promise<void>>();
  #heartbeatNow: (() => void) | undefined;
  /** Stall recovery waits until then (performance.now()) after an outage; see storeUp. */
  #recoverNotBefore = 0;

  constructor(ctx: WorkerContext<M>) {
    this.#ctx = ctx;
  }

  /** Start every task's timer; once the worker has connected. */
  start(): void {
    const ctx = this.#ctx;
    const { adapter, options, outage, queue } = ctx;
    this.#heartbeatNow = this.#every(options.heartbeatMs ?? Math.floor(ctx.leaseMs / 3), () =>
      heartbeat(ctx),
    );
    this.#every(options.stalledIntervalMs ?? 15_000, () => this.#recoverStalled());
    const retention = options.retention;
    if (retention) {
      this.#every(retention.intervalMs ?? 60_000, async () => {
        await this.#applyRetention(retention);
        outage.answered();
      });
    }
    if (options.runSchedules ?? true) {
      this.#every(options.scheduleIntervalMs ?? 1000, async () => {
        await fireDueSchedules(adapter, queue);
        outage.answered();
      });
    }
  }

  /**
   * The store answers again. Leases of running jobs may have expired during the outage with
   * no other worker able to take them: extend them at once, and hold back stall recovery for
   * one lease so every other worker, which does the same as soon as it reaches the store, can
   * extend its own before they would be counted as stalls. Otherwise an outage alone sent jobs
   * that never failed to dead (one stall from the outage, one from a crash, past maxStalls 1).
   */
  storeUp(downMs: number): void {
    this.#recoverNotBefore = performance.now() + this.#ctx.leaseMs;
    this.#heartbeatNow?.();
    this.#ctx.emit("storeUp", downMs);
  }

  /**
   * Stop the timers and wait for calls in flight, for at most {@link CLOSE_GRACE_MS}. A
   * heartbeat or recovery call still in flight would otherwise run on after close() returned,
   * and fail against the adapter its owner closes next (seen as MongoClientClosedError in
   * bench/).
   */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.race([Promise.allSettled(this.#background), sleep(CLOSE_GRACE_MS)]);
  }

  /**
   * Run `task` every `ms`, not overlapping itself, unless a run has gone unanswered for an
   * interval and {@link STALLED_CALL_MS}: a store call that never returns must not stop lease
   * extension or stall recovery for good. Failures count towards an outage; a task marks the
   * store answering itself, only when it did call it. Returns a function that runs the task
   * now (unless a run is in flight).
   */
  #every(ms: number, task: () => Promise<void>): () => void {
    let busySince: number | null = null;
    const tick = () => {
      const now = performance.now();
      if (busySince !== null && now - busySince < Math.max(ms, STALLED_CALL_MS)) return;
      busySince = now;
      const run: Promise<void> = task()
        .catch((err: unknown) => storeFailed(this.#ctx, err))
        .finally(() => {
          if (busySince === now) busySince = null;
          this.#background.delete(run);
        });
      this.#background.add(run);
    };
    const timer = setInterval(tick, ms);
    timer.unref();
    this.#timers.push(timer);
    return tick;
  }

  async #recoverStalled(): Promise<void> {
    const { adapter, leaseMs, outage } = this.#ctx;
    if (outage.down) {
      // Recovery must not be the first call to reach the store after an outage: it would take
      // the jobs of workers that have not extended their leases yet. Probe instead; an answer
      // starts the grace of storeUp.
      await adapter.now();
      outage.answered();
      return;
    }
    if (performance.now() < this.#recoverNotBefore) return;
    // A partition fails no call: calls hang, then all reach the store when it heals, this
    // recovery among the first, before the heartbeats other workers sent meanwhile, and every
    // lease ran out in between (a loaded fault run dead-lettered jobs that way). A round trip
    // first: one that took a quarter of a lease means the store was out of reach just now,
    // so recovery gives the other workers a lease to extend theirs, as after an outage.
    const probeSent = performance.now();
    await adapter.now();
    outage.answered();
    if (performance.now() - probeSent >= leaseMs / 4) {
      this.#recoverNotBefore = performance.now() + leaseMs;
      this.#heartbeatNow?.();
      return;
    }
    const { recovered, dead } = await adapter.recoverStalled({
      queue: this.#ctx.queue,
      maxStalls: this.#ctx.options.maxStalls ?? 1,
      limit: 1000,
    });
    outage.answered();
    for (const id of recovered) this.#ctx.emit("stalled", id, "waiting");
    for (const id of dead) this.#ctx.emit("stalled", id, "dead");
  }

  async #applyRetention(retention: RetentionOptions): Promise<void> {
    const { adapter, queue } = this.#ctx;
    const ages = [
      ["completed", retention.completedMs],
      ["dead", retention.deadMs],
      ["cancelled", retention.cancelledMs],
    ] as const;
    const now = await adapter.now();
    for (const [state, age] of ages) {
      if (age === undefined) continue;
      // Bounded per tick so a large backlog is worked off over several ticks, not one long one.
      for (let round = 0; round < RETENTION_ROUNDS; round++) {
        const removed = await adapter.clean({
          queue,
          state,
          finishedBefore: now - age,
          limit: RETENTION_BATCH,
        });
        if (removed < RETENTION_BATCH) break;
      }
    }
  }
}
