import { type BatchObservableResult, diag, type Meter } from "@opentelemetry/api";
import type { JobCounts, JobRecord, JobState } from "@queueflow/core";
import { ATTR_MESSAGING_DESTINATION_NAME, ATTR_QUEUEFLOW_JOB_STATE } from "./semconv.js";
import type { Telemetry } from "./telemetry.js";

/**
 * What {@link QueueFlowInstrumentation.observeQueues} reads: a `Queue` fits, whatever its
 * job map. Of a listed job only `runAt` is read, so the type asks for nothing more: a job
 * whose handler returns nothing (`result: void`) is not a `JobRecord`, whose result is JSON.
 */
export interface ObservableQueue {
  readonly name: string;
  counts(): Promise<JobCounts>;
  listJobs(
    state: JobState,
    options: { limit: number },
  ): Promise<{ jobs: Pick<JobRecord, "runAt">[] }>;
}

interface Snapshot {
  counts: JobCounts;
  /** When the oldest waiting job fell due (store clock, ms), or null when none waits. */
  oldestDueAt: number | null;
}

/**
 * Queue gauges read on collection: one batch callback for all observed queues, so a
 * collection costs `counts()` per queue plus `listJobs('waiting', {limit: 1})` only when
 * something waits — and a collection that starts while the last one's reads are still out
 * reuses them instead of piling more onto a slow store.
 */
export function createQueueObserver(t: Telemetry, meter: Meter) {
  const queues = new Map<string, ObservableQueue>();
  const inflight = new Map<string, Promise<Snapshot>>();
  const { queueJobs, deadLetters, oldestWaitingAge } = t.instruments;
  const instruments = [queueJobs, deadLetters, oldestWaitingAge];

  function read(queue: ObservableQueue): Promise<Snapshot> {
    let pending = inflight.get(queue.name);
    if (!pending) {
      pending = (async () => {
        const counts = await queue.counts();
        if (counts.waiting === 0) return { counts, oldestDueAt: null };
        const { jobs } = await queue.listJobs("waiting", { limit: 1 });
        return { counts, oldestDueAt: jobs[0]?.runAt ?? null };
      })().finally(() => inflight.delete(queue.name));
      inflight.set(queue.name, pending);
    }
    return pending;
  }

  async function collect(observer: BatchObservableResult): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...queues.values()].map(async (queue) => {
        let snapshot: Snapshot;
        try {
          snapshot = await read(queue);
        } catch (err) {
          // Not thrown: one unreachable store must not blank every other queue's gauges.
          diag.error(`@queueflow/otel: could not read queue "${queue.name}" for metrics`, err);
          return;
        }
        const attrs = t.attributes(queue.name).base;
        for (const [state, n] of Object.entries(snapshot.counts)) {
          observer.observe(queueJobs, n, {
            [ATTR_MESSAGING_DESTINATION_NAME]: queue.name,
            [ATTR_QUEUEFLOW_JOB_STATE]: state,
          });
        }
        observer.observe(deadLetters, snapshot.counts.dead, attrs);
        const age = snapshot.oldestDueAt === null ? 0 : (now - snapshot.oldestDueAt) / 1000;
        observer.observe(oldestWaitingAge, Math.max(0, age), attrs);
      }),
    );
  }

  return function observeQueues(list: readonly ObservableQueue[]): () => void {
    const added = list.filter((q) => !queues.has(q.name));
    if (added.length === 0) return () => {};
    if (queues.size === 0) meter.addBatchObservableCallback(collect, instruments);
    for (const q of added) queues.set(q.name, q);
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      for (const q of added) if (queues.get(q.name) === q) queues.delete(q.name);
      if (queues.size === 0) meter.removeBatchObservableCallback(collect, instruments);
    };
  };
}
