import type { StoreConfig } from "@queueflow/app-kit";
import type { StorageAdapter } from "@queueflow/core";
import type { DeadLetters } from "@queueflow/dlq";
import type { DeadLetterGrowth } from "./dead-letters.js";

export type HealthState = "healthy" | "degraded" | "unhealthy";

/** A worker running in this process (the one-process mode), for the workers component. */
export interface LocalWorker {
  id: string;
  queue: string;
  running: number;
  concurrency: number;
}

export interface HealthReport {
  status: HealthState;
  checkedAt: string;
  components: {
    store: {
      status: HealthState;
      kind: StoreConfig["kind"];
      latencyMs: number | null;
      message?: string;
    };
    workers: {
      status: HealthState;
      /** Workers holding a lease on a job right now, per the store (any host). */
      seen: string[];
      /** Workers of this process, when it runs some. */
      local: LocalWorker[];
      /** Queues whose oldest due job has waited past the threshold while nothing ran. */
      stalledQueues: { queue: string; oldestWaitMs: number }[];
      message?: string;
    };
    /** Present when the API watches dead letters (it always does; optional for embedders). */
    deadLetters?: DeadLetterHealth;
  };
}

/** Dead-letter growth: degraded when the total grew by more than `growthMax` in the window. */
export interface DeadLetterHealth {
  status: HealthState;
  /** Dead letters across the catalog's queues now; null when they could not be read. */
  total: number | null;
  /** How much the total grew within the window, from the lowest total this process read. */
  growth: number | null;
  windowMs: number;
  growthMax: number;
  message?: string;
}

export interface HealthOptions {
  adapter: StorageAdapter;
  storeKind: StoreConfig["kind"];
  queues: readonly string[];
  staleWaitMs: number;
  slowStoreMs: number;
  localWorkers?: () => LocalWorker[];
  /** Longest wait for the store's answer before counting it unreachable. */
  timeoutMs?: number;
  deadLetters?: { dlq: DeadLetters; growth: DeadLetterGrowth; growthMax: number };
}

const WORST: HealthState[] = ["healthy", "degraded", "unhealthy"];
function worst(...states: HealthState[]): HealthState {
  return WORST[Math.max(...states.map((s) => WORST.indexOf(s)))]!;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Health, from the store's point of view. Workers are stateless and leave no heartbeat in the
 * store, so "workers seen recently" is derived from what only a live worker produces: the
 * leases it holds (active jobs name their worker) and due jobs being taken. A queue whose
 * oldest due job waited past `staleWaitMs` while nothing of it ran, and that is not paused,
 * has no worker taking jobs: degraded. The store unreachable: unhealthy.
 */
export async function checkHealth(o: HealthOptions): Promise<HealthReport> {
  const timeoutMs = o.timeoutMs ?? 3_000;
  const local = o.localWorkers?.() ?? [];
  const checkedAt = new Date().toISOString();
  let ping: { ok: boolean; latencyMs: number; message?: string };
  try {
    ping = await withTimeout(o.adapter.health(), timeoutMs, "the store");
  } catch (err) {
    ping = { ok: false, latencyMs: timeoutMs, message: (err as Error).message };
  }
  if (!ping.ok) {
    const message = ping.message ?? "the store is unreachable";
    return {
      status: "unhealthy",
      checkedAt,
      components: {
        store: { status: "unhealthy", kind: o.storeKind, latencyMs: null, message },
        workers: {
          status: "unhealthy",
          seen: [],
          local,
          stalledQueues: [],
          message: "unknown while the store is unreachable",
        },
        ...deadLettersUnknown(o, "unknown while the store is unreachable"),
      },
    };
  }
  const storeStatus: HealthState = ping.latencyMs > o.slowStoreMs ? "degraded" : "healthy";
  const store = {
    status: storeStatus,
    kind: o.storeKind,
    latencyMs: Math.round(ping.latencyMs * 10) / 10,
    ...(storeStatus === "degraded" ? { message: `ping took over ${o.slowStoreMs} ms` } : {}),
  };
  try {
    const [workers, deadLetters] = await Promise.all([
      withTimeout(inspectWorkers(o, local), timeoutMs, "the store"),
      inspectDeadLetters(o, timeoutMs),
    ]);
    return {
      status: worst(store.status, workers.status, ...(deadLetters ? [deadLetters.status] : [])),
      checkedAt,
      components: { store, workers, ...(deadLetters ? { deadLetters } : {}) },
    };
  } catch (err) {
    return {
      status: "unhealthy",
      checkedAt,
      components: {
        store: { ...store, status: "unhealthy", message: (err as Error).message },
        workers: {
          status: "unhealthy",
          seen: [],
          local,
          stalledQueues: [],
          message: "could not read the queues",
        },
        ...deadLettersUnknown(o, "could not read the queues"),
      },
    };
  }
}

function deadLettersUnknown(o: HealthOptions, message: string) {
  if (!o.deadLetters) return {};
  const { growth, growthMax } = o.deadLetters;
  const deadLetters: DeadLetterHealth = {
    status: "unhealthy",
    total: null,
    growth: null,
    windowMs: growth.windowMs,
    growthMax,
    message,
  };
  return { deadLetters };
}

/**
 * The dead-letter total from `DeadLetters.stats()` (store counters), recorded in the growth
 * window. Growth past `growthMax` is degraded: jobs are dying faster than usual, though the
 * API and workers run. Failing to read the stats is degraded too, not unhealthy: the store
 * answered its ping.
 */
async function inspectDeadLetters(
  o: HealthOptions,
  timeoutMs: number,
): Promise<DeadLetterHealth | undefined> {
  if (!o.deadLetters) return undefined;
  const { dlq, growth, growthMax } = o.deadLetters;
  const base = { windowMs: growth.windowMs, growthMax };
  let total: number;
  try {
    total = (await withTimeout(dlq.stats(), timeoutMs, "the store")).total;
  } catch (err) {
    return {
      ...base,
      status: "degraded",
      total: null,
      growth: null,
      message: `could not read dead-letter stats: ${(err as Error).message}`,
    };
  }
  const grew = growth.record(total);
  const status: HealthState = grew > growthMax ? "degraded" : "healthy";
  return {
    ...base,
    status,
    total,
    growth: grew,
    ...(status === "degraded"
      ? {
          message: `dead letters grew by ${grew} within ${growth.windowMs} ms (more than ${growthMax})`,
        }
      : {}),
  };
}

async function inspectWorkers(o: HealthOptions, local: LocalWorker[]) {
  const seen = new Set<string>();
  const stalledQueues: { queue: string; oldestWaitMs: number }[] = [];
  const now = await o.adapter.now();
  await Promise.all(
    o.queues.map(async (queue) => {
      const [counts, settings] = await Promise.all([
        o.adapter.counts(queue),
        o.adapter.getSettings(queue),
      ]);
      if (counts.active > 0) {
        const active = await o.adapter.listJobs({
          queue,
          state: "active",
          limit: 50,
          cursor: null,
        });
        for (const job of active.jobs) if (job.workerId) seen.add(job.workerId);
      }
      if (counts.waiting === 0 || counts.active > 0 || settings.paused) return;
      const oldest = (await o.adapter.listJobs({ queue, state: "waiting", limit: 1, cursor: null }))
        .jobs[0];
      const waitMs = oldest ? now - oldest.runAt : 0;
      if (waitMs > o.staleWaitMs) stalledQueues.push({ queue, oldestWaitMs: waitMs });
    }),
  );
  const status: HealthState = stalledQueues.length > 0 ? "degraded" : "healthy";
  return {
    status,
    seen: [...seen].sort(),
    local,
    stalledQueues,
    ...(status === "degraded"
      ? { message: "due jobs are waiting and no worker is taking them" }
      : {}),
  };
}
