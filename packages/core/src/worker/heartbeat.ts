import { QueueFlowError } from "../errors.js";
import type { Buffered } from "../prefetch-buffer.js";
import type { Job, JobMap } from "../types.js";
import type { WorkerContext } from "./context.js";

/**
 * Extend the lease of every job the worker holds, running or buffered, in one call. A
 * buffered job whose lease was not extended leaves the buffer as `lost`; a running one is
 * aborted, since the store no longer takes its outcome from this worker.
 */
export async function heartbeat<M extends JobMap>(ctx: WorkerContext<M>): Promise<void> {
  const buffered: readonly Buffered[] = ctx.buffer.snapshot();
  if (ctx.running.size === 0 && buffered.length === 0) return;
  const running = [...ctx.running.values()];
  const sentAt = performance.now();
  const ok = await ctx.adapter.extendLeases(
    ctx.queue,
    [...running.map((r) => r.job), ...buffered.map((b) => b.job)].map((job) => ({
      id: job.id,
      token: job.leaseToken,
    })),
    ctx.leaseMs,
  );
  ctx.outage.answered();
  const lost = ctx.buffer.extended(buffered, ok.slice(running.length), sentAt);
  for (const job of lost) ctx.emit("lost", job as unknown as Job<M>);
  ok.slice(0, running.length).forEach((extended, i) => {
    if (extended) return;
    running[i]!.control.abort(
      new QueueFlowError(
        "QF_LEASE_LOST",
        `Job ${running[i]!.job.id} was cancelled or recovered by another worker while running.`,
      ),
    );
  });
}
