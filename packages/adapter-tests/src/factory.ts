import type { AdapterCapabilities, StorageAdapter } from "@queueflow/core";

/**
 * How the conformance suite gets adapters to test. Each area of the suite calls `create()`
 * once (in `beforeAll`, then `connect()`), and after its tests `close()` then `cleanup()`.
 *
 * @example
 * const factory: AdapterFactory = {
 *   name: "redis",
 *   capabilities: { wakeUp: true, transactions: false },
 *   create: () => new RedisAdapter({ url: process.env.REDIS_URL }),
 *   cleanup: async () => flushTestDatabase(),
 * };
 */
export interface AdapterFactory {
  /** Shown in the suite's title, e.g. "memory" or "postgres 17". */
  name: string;
  /**
   * What the adapter declares. Optional groups are chosen from this when the suite is
   * declared, so a run never reports skipped tests; the suite checks the adapter declares
   * exactly these.
   */
  capabilities: AdapterCapabilities;
  /** A new, not yet connected adapter. The suite calls `connect()` itself. */
  create(): StorageAdapter | Promise<StorageAdapter>;
  /**
   * Runs after the suite closed the adapter: drop the test schema, flush the test database,
   * end a client you passed to the adapter yourself.
   */
  cleanup?(adapter: StorageAdapter): Promise<void> | void;
}

/** Tuning for slow or remote stores. No option turns an invariant off. */
export interface ConformanceOptions {
  /**
   * Multiplies every duration the suite uses (delays, leases, rate windows, deadlines and
   * test timeouts). Raise it for a store with slow round trips, e.g. 3 for a remote cluster.
   * Default 1.
   */
  timeScale?: number;
  /** Parallel claimers in the race tests. Default 16. */
  concurrency?: number;
}

/** {@link ConformanceOptions} with every default filled in. */
export interface ResolvedConformanceOptions {
  timeScale: number;
  concurrency: number;
}

/**
 * Fill in the defaults of {@link ConformanceOptions}.
 * @throws RangeError when `timeScale` is not positive or `concurrency` is below 2.
 */
export function resolveOptions(options: ConformanceOptions = {}): ResolvedConformanceOptions {
  const timeScale = options.timeScale ?? 1;
  const concurrency = options.concurrency ?? 16;
  if (!(Number.isFinite(timeScale) && timeScale > 0)) {
    throw new RangeError(`timeScale must be a positive number, got ${String(timeScale)}.`);
  }
  if (!(Number.isSafeInteger(concurrency) && concurrency >= 2)) {
    throw new RangeError(
      `concurrency must be an integer of at least 2 (a race needs two racers), got ${String(concurrency)}.`,
    );
  }
  return { timeScale, concurrency };
}
