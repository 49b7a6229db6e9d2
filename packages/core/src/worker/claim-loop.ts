import type { ClaimedJob, ClaimResult } from "../contract.js";
import { WeightedBands } from "../fairness.js";
import { nextRetryDelay } from "../store-outage.js";
import type { JobMap } from "../types.js";
import { sleep } from "../wait.js";
import { storeFailed, type WorkerContext } from "./context.js";
import type { JobRunner } from "./job-runner.js";

const MIN_POLL_MS = 25;
/** Longest run of claims without giving the event loop a turn. */
const YIELD_EVERY_MS = 10;
const MAX_BATCH = 1000;

/**
 * Claims a worker's jobs and hands them to its {@link JobRunner}: each claim asks for what
 * free slots and the prefetch buffer have room for, split across priority bands in weighted
 * fairness mode. Between claims it waits for work: jobs handed over by the store, a wake-up
 * from it, or the end of a poll interval that grows while the queue stays empty.
 */
export class ClaimLoop<M extends JobMap> {
  readonly #ctx: WorkerContext<M>;
  readonly #runner: JobRunner<M>;
  readonly #bands: WeightedBands | undefined;
  #drained = false;

  constructor(ctx: WorkerContext<M>, runner: JobRunner<M>) {
    this.#ctx = ctx;
    this.#runner = runner;
    const fairness = ctx.options.fairness;
    this.#bands = fairness?.mode === "weighted" ? new WeightedBands(fairness.weights) : undefined;
  }

  /** Claim until the worker closes. */
  async run(): Promise<void> {
    const { adapter, options, outage } = this.#ctx;
    const wakeUp = adapter.capabilities.wakeUp && adapter.waitForWork !== undefined;
    const handoff = adapter.capabilities.handoff === true && adapter.waitForJobs !== undefined;
    const maxPoll = options.pollIntervalMs ?? 1000;
    let poll = MIN_POLL_MS;
    let errorDelay = 0;
    let lastYield = performance.now();
    while (!this.#ctx.stop.aborted) {
      // On a store that answers in microtasks (the memory adapter) with quick handlers, this
      // loop would never return to the event loop: timers, I/O and an HTTP server in the same
      // process would starve until the queue is empty.
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      const limit = this.#claimLimit();
      if (limit === 0) {
        await this.#ctx.slotFreed.wait();
        continue;
      }
      let claimed: ClaimResult;
      try {
        const leasedAt = performance.now();
        claimed = await this.#claim(limit);
        this.#ctx.prefetch.claimed(performance.now() - leasedAt);
        outage.answered();
        errorDelay = 0;
        for (const job of claimed.jobs) this.#runner.accept(job, leasedAt);
      } catch (err) {
        // The store is down or refusing: retry soon, sooner still once it answers again.
        storeFailed(this.#ctx, err);
        errorDelay = nextRetryDelay(errorDelay);
        await outage.retryWait(errorDelay, this.#ctx.stop);
        continue;
      }
      if (claimed.jobs.length > 0) {
        this.#drained = false;
        poll = MIN_POLL_MS;
      }
      // A full batch means more may be waiting: go again at once.
      if (claimed.jobs.length === limit) continue;
      if (
        claimed.jobs.length === 0 &&
        this.#ctx.running.size === 0 &&
        this.#ctx.buffer.size === 0 &&
        !this.#drained
      ) {
        this.#drained = true;
        this.#ctx.emit("drained");
      }
      let timeout = wakeUp ? maxPoll : poll;
      if (claimed.nextWakeAt !== null) {
        timeout = Math.min(timeout, Math.max(1, claimed.nextWakeAt - Date.now()));
      }
      try {
        await this.#idle(wakeUp, handoff, timeout);
      } catch (err) {
        // A wait that failed is as good as a wait that ended: the next claim finds out more.
        storeFailed(this.#ctx, err);
      }
      if (!wakeUp) poll = Math.min(poll * 2, maxPoll);
    }
  }

  /** Wait for work: handed over, signalled by the store, or at the end of a poll interval. */
  async #idle(wakeUp: boolean, handoff: boolean, timeout: number): Promise<void> {
    const { adapter, leaseMs } = this.#ctx;
    if (wakeUp && handoff && !this.#bands) {
      const leasedAt = performance.now();
      const handed = await adapter.waitForJobs!(
        {
          queue: this.#ctx.queue,
          workerId: this.#ctx.workerId,
          limit: Math.max(1, this.#claimLimit()),
          leaseMs,
          priorityRange: null,
        },
        // A job handed over late in a long wait has spent part of its lease by the measure
        // JobRunner.accept uses (from the wait's start), so no wait lasts more than half a
        // lease.
        Math.min(timeout, Math.floor(leaseMs / 2)),
        this.#ctx.stop,
      );
      for (const job of handed) this.#runner.accept(job, leasedAt);
      if (handed.length > 0) this.#drained = false;
    } else if (wakeUp) await adapter.waitForWork!(this.#ctx.queue, timeout, this.#ctx.stop);
    else await sleep(timeout, this.#ctx.stop);
  }

  /**
   * How many jobs the next claim asks for; 0 means wait for a slot. Without prefetch, the
   * free slots. With it, free slots plus room in the buffer, asked for only once a slot is
   * free or the buffer is down to half, so the buffer refills in batches, not a job a claim.
   */
  #claimLimit(): number {
    const concurrency = this.#ctx.concurrency;
    const prefetch = this.#ctx.prefetch.size(concurrency);
    const held = this.#ctx.running.size + this.#ctx.buffer.size;
    const room = concurrency + prefetch - held;
    if (concurrency === 0 || room <= 0) return 0;
    const slotFree = this.#ctx.running.size < concurrency;
    if (!slotFree && this.#ctx.buffer.size > Math.floor(prefetch / 2)) return 0;
    const batch = this.#ctx.options.batchSize ?? concurrency + prefetch;
    return Math.min(room, batch, MAX_BATCH);
  }

  async #claim(limit: number): Promise<ClaimResult> {
    const { adapter } = this.#ctx;
    const base = {
      queue: this.#ctx.queue,
      workerId: this.#ctx.workerId,
      leaseMs: this.#ctx.leaseMs,
    };
    if (!this.#bands) return adapter.claim({ ...base, limit, priorityRange: null });
    const jobs: ClaimedJob[] = [];
    for (const slice of this.#bands.allocate(limit)) {
      const r = await adapter.claim({
        ...base,
        limit: slice.count,
        priorityRange: { min: slice.min, max: slice.max },
      });
      jobs.push(...r.jobs);
    }
    // Bands that came back short lend their slots to whatever else is due, in strict order.
    if (jobs.length === limit) return { jobs, nextWakeAt: null };
    const rest = await adapter.claim({
      ...base,
      limit: limit - jobs.length,
      priorityRange: null,
    });
    jobs.push(...rest.jobs);
    return { jobs, nextWakeAt: rest.nextWakeAt };
  }
}
