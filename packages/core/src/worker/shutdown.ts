import { QueueFlowError } from "../errors.js";
import type { JobMap } from "../types.js";
import { sleep } from "../wait.js";
import type { WorkerContext } from "./context.js";
import type { JobRunner } from "./job-runner.js";

/**
 * Longest `close()` waits for the store once jobs are done or aborted, for their settles and
 * again for maintenance calls in flight: a store that does not answer must not hold close()
 * forever, and jobs left active come back when their leases expire.
 */
export const CLOSE_GRACE_MS = 5_000;

/**
 * The jobs' part of `close()`, once claiming has been stopped: hand buffered jobs back, wait
 * until `timeoutMs` has passed for the claim loop and the running jobs, abort those still
 * running (they settle as snoozed, their attempt unspent), then wait for every settle, for at
 * most {@link CLOSE_GRACE_MS}; giving up is reported as an `error`.
 */
export async function finishJobs<M extends JobMap>(
  ctx: WorkerContext<M>,
  runner: JobRunner<M>,
  loop: Promise<void> | undefined,
  timeoutMs: number,
): Promise<void> {
  // Jobs held ahead were never started: another worker can run them at once.
  runner.handBackBuffered();
  ctx.slotFreed.fire();
  const deadline = Date.now() + timeoutMs;
  const untilDeadline = () => sleep(Math.max(0, deadline - Date.now()));
  await Promise.race([loop, untilDeadline()]);
  const finished = Promise.all([...ctx.running.values()].map((r) => r.done));
  await Promise.race([finished, untilDeadline()]);
  for (const r of ctx.running.values()) {
    r.control.abort(new QueueFlowError("QF_CLOSED", `Worker closed while job ${r.job.id} ran.`));
  }
  // The claim loop too: a claim still in flight hands back what it brings (see
  // JobRunner.accept).
  const handedBack = Promise.all([loop, ...[...ctx.running.values()].map((r) => r.done)]).then(() =>
    ctx.batcher.drain(),
  );
  const outcome = await Promise.race([
    handedBack.then(() => "done" as const),
    sleep(CLOSE_GRACE_MS).then(() => "gave_up" as const),
  ]);
  if (outcome === "gave_up") {
    ctx.emit(
      "error",
      new QueueFlowError(
        "QF_STORE_UNAVAILABLE",
        `Worker closed before the store settled its last jobs: no answer within ${CLOSE_GRACE_MS} ms. Jobs left active return to waiting when their leases expire.`,
      ),
    );
  }
}

/**
 * Run `close` on the first SIGTERM or SIGINT, then re-raise the signal so it takes its
 * course (the process's other handlers, or its default: exit). Returns a function that
 * removes the handlers.
 */
export function closeOnSignals(close: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals) => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
    void close().finally(() => process.kill(process.pid, signal));
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
  return () => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
  };
}
