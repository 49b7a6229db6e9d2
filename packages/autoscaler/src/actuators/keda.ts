import type { StorageAdapter } from "@queueflow/core";

/**
 * The JSON document for KEDA's `metrics-api` scaler. Every field but `queue` is a plain
 * number, so any can be the scaler's `valueLocation` (`backlog` is the usual choice).
 */
export interface KedaDocument {
  queue: string;
  /** Waiting and due jobs. */
  depth: number;
  /** Delayed jobs not yet due. */
  delayed: number;
  active: number;
  /** depth + active: the work a replica count should be sized for. */
  backlog: number;
  oldestWaitSeconds: number;
  /** Store clock when read, ms since the epoch. */
  at: number;
}

/**
 * Build the KEDA document from the store alone (no per-process state), so every replica
 * serving it answers the same queue-global value and KEDA may hit any of them.
 * @example
 * const doc = await kedaDocument(adapter, "emails"); // { backlog: 120, ... }
 */
export async function kedaDocument(adapter: StorageAdapter, queue: string): Promise<KedaDocument> {
  const [at, counts, oldest] = await Promise.all([
    adapter.now(),
    adapter.counts(queue),
    adapter.listJobs({ queue, state: "waiting", limit: 1 }),
  ]);
  const head = oldest.jobs[0];
  const waitMs = head ? Math.max(0, at - Math.max(head.runAt, head.createdAt)) : 0;
  return {
    queue,
    depth: counts.waiting,
    delayed: counts.delayed,
    active: counts.active,
    backlog: counts.waiting + counts.active,
    oldestWaitSeconds: waitMs / 1000,
    at,
  };
}
