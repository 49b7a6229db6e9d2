import type { TcpTarget } from "./tcp-proxy.js";

/**
 * A private store the scenario may crash: started for the scenario alone, since a crash
 * would break every other test using it.
 */
export interface FaultServer {
  /** Start the store; resolve with its address once it answers. */
  start(): Promise<TcpTarget>;
  /**
   * Crash it the hard way, as a power cut would: SIGKILL of the server process, or
   * `pg_ctl stop -m immediate`. Resolve once it is gone. Its data must survive (durable
   * settings: Redis `appendfsync always`, PostgreSQL with fsync on): acknowledged jobs must.
   */
  crash(): Promise<void>;
  /** Start it again on the same address and data; resolve once it answers. */
  restart(): Promise<void>;
  /** Stop it for good and remove its files. */
  stop(): Promise<void>;
}

interface FaultFactoryBase {
  /** Shown in the suite's title and the summary line, e.g. "redis" or "postgres 17". */
  name: string;
  /**
   * Absolute path of an ES module exporting
   * `createAdapter(target: { host: string; port: number }): StorageAdapter | Promise<StorageAdapter>`,
   * a new, not yet connected adapter pointed at `target`. Worker and producer processes load
   * it to reach the store through the scenario's proxy, and the scenario itself to read the
   * outcome from the store directly, so it builds the store's URL shape from a host and port.
   * Child processes inherit the test's environment: pass per-run settings (a database name)
   * through `process.env`.
   */
  adapterModule: string;
  /**
   * Runs once everything else has stopped (processes, adapter, proxy, server): drop the
   * test's database, remove files of your own.
   */
  cleanup?(): Promise<void> | void;
}

/**
 * What the fault scenario runs against. Either a {@link FaultServer} it starts, crashes and
 * restarts, or, for a store that cannot come back from a crash with its data (an in-memory
 * test server), the `target` of a running store: then the scenario runs the partition and
 * process faults only.
 *
 * @example
 * const factory: FaultFactory = {
 *   name: "redis",
 *   adapterModule: fileURLToPath(new URL("./fixtures/fault-adapter.mjs", import.meta.url)),
 *   server: ownRedisServer(),
 * };
 */
export type FaultFactory = FaultFactoryBase &
  (
    | {
        /** The private store to start, crash and restart. */
        server: FaultServer;
        target?: never;
      }
    | {
        server?: never;
        /** The running store's real address; the scenario never crashes it. */
        target: TcpTarget;
      }
  );

/**
 * Sizes and timeline of the fault scenario. Times are from the producer's start. Defaults
 * keep one store's run well under 90 s on a loaded two-core machine. No option turns a
 * check off.
 */
export interface FaultScenarioOptions {
  /** Worker processes; default 3. */
  workers?: number;
  /** Jobs the producer adds; default 6000. */
  jobs?: number;
  /** Adds per second; default 300. */
  rate?: number;
  /** Each worker's concurrency; default 10. */
  concurrency?: number;
  /** Each worker's lease; default 2000 ms. */
  leaseMs?: number;
  /** Each worker's stall-recovery interval; default 500 ms. */
  stalledIntervalMs?: number;
  /** A random worker is SIGKILLed (and respawned) every [min, max] ms; default [2000, 5000]. */
  killEveryMs?: [number, number];
  /** When the store is crashed (with a `server`); default 5000 ms. */
  crashAtMs?: number;
  /** How long it stays down; default 2000 ms. */
  crashForMs?: number;
  /** When the proxy black-holes every connection; default 11000 ms. */
  blackholeAtMs?: number;
  /** How long the black-hole lasts; default 3000 ms. */
  blackholeForMs?: number;
  /** When a worker is SIGSTOPped; default 16000 ms. */
  stopAtMs?: number;
  /** How long it stays stopped before SIGCONT; default 1.5 × `leaseMs`. */
  stopForMs?: number;
  /** First job start and first ack must follow the store answering within this; default 1000 ms. */
  resumeWithinMs?: number;
  /** How long, after the producer is done, every job has to finish; default 45000 ms. */
  drainTimeoutMs?: number;
  /** Seed of the kill schedule (printed in the summary, to replay a run); default random. */
  seed?: number;
}

/** {@link FaultScenarioOptions} with every default filled in. */
export type ResolvedFaultOptions = Required<FaultScenarioOptions>;

/**
 * Fill in the defaults of {@link FaultScenarioOptions}.
 * @throws RangeError when a count or duration is not a positive integer, or the kill
 * interval's bounds are out of order.
 */
export function resolveFaultOptions(options: FaultScenarioOptions = {}): ResolvedFaultOptions {
  const leaseMs = options.leaseMs ?? 2000;
  const resolved: ResolvedFaultOptions = {
    workers: options.workers ?? 3,
    jobs: options.jobs ?? 6000,
    rate: options.rate ?? 300,
    concurrency: options.concurrency ?? 10,
    leaseMs,
    stalledIntervalMs: options.stalledIntervalMs ?? 500,
    killEveryMs: options.killEveryMs ?? [2000, 5000],
    crashAtMs: options.crashAtMs ?? 5000,
    crashForMs: options.crashForMs ?? 2000,
    blackholeAtMs: options.blackholeAtMs ?? 11_000,
    blackholeForMs: options.blackholeForMs ?? 3000,
    stopAtMs: options.stopAtMs ?? 16_000,
    stopForMs: options.stopForMs ?? Math.round(leaseMs * 1.5),
    resumeWithinMs: options.resumeWithinMs ?? 1000,
    drainTimeoutMs: options.drainTimeoutMs ?? 45_000,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
  };
  const { killEveryMs, seed, ...counts } = resolved;
  for (const [key, value] of Object.entries(counts)) {
    if (!(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`${key} must be a positive integer, got ${String(value)}.`);
    }
  }
  const [min, max] = killEveryMs;
  if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min > 0 && min <= max)) {
    throw new RangeError(
      `killEveryMs must be [min, max] with 0 < min <= max, got [${min}, ${max}].`,
    );
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}.`);
  // Resume times are measured by the first ack after a fault: the producer must still run.
  const producingMs = (resolved.jobs / resolved.rate) * 1000;
  for (const [fault, end] of [
    ["crash", resolved.crashAtMs + resolved.crashForMs],
    ["blackhole", resolved.blackholeAtMs + resolved.blackholeForMs],
    ["stop", resolved.stopAtMs + resolved.stopForMs],
  ] as const) {
    if (end > producingMs) {
      throw new RangeError(
        `The ${fault} ends at ${end} ms, after the producer's last add (${Math.round(producingMs)} ms = jobs / rate): add jobs or move the fault earlier.`,
      );
    }
  }
  return resolved;
}
