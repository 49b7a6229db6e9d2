/** What every library under test shares: the payload, the driver contract, and time bounds. */

/** `{"blob":"…"}` is exactly 200 bytes of JSON. */
export const PAYLOAD_200B = { blob: "x".repeat(189) };

/** A 200-byte payload that carries its send time (performance.now(), the same clock). */
export function timedPayload(t: number): { t: number; blob: string } {
  const head = JSON.stringify({ t, blob: "" }).length;
  return { t, blob: "x".repeat(Math.max(0, 200 - head)) };
}

export type StoreName = "redis" | "postgres" | "mongo";

export interface WorkerHandle {
  /**
   * Jobs settled (completed) so far as seen by this worker's library. A library that can only
   * learn it by asking the store answers with a lower bound, without a query, until its own
   * in-process count says `target` may have been reached: polling a count of rows every few
   * milliseconds loads the very server it measures, and at 20,000 jobs each count scans them.
   * `target` 0 always asks: the exact figure.
   */
  settled(target: number): number | Promise<number>;
  close(): Promise<void>;
}

/** One fresh queue (own key prefix or schema) of one library on one store. */
export interface Session {
  /** Enqueue `count` jobs in batches of 1,000 with the library's bulk call. */
  addBulk(count: number): Promise<void>;
  /** Enqueue `count` jobs one by one, each awaited. */
  addOne(count: number): Promise<void>;
  /** Enqueue one job with this payload. */
  addPayload(payload: object): Promise<void>;
  /**
   * After a fill, before the clock starts: bring the store to the state it has in steady
   * operation. PostgreSQL: ANALYZE this session's tables, as autovacuum would within a minute
   * of a bulk load. Plans differ with and without statistics (QueueFlow's claim was planned
   * well only without them, see packages/postgres/test/plans.test.ts), and production tables
   * have them.
   */
  afterFill?(): Promise<void>;
  /**
   * Start-up a worker of this library needs before it processes anything (an engine to boot,
   * worker threads to load), run before the clock starts; `work()` then only sets it going.
   * Left out by libraries whose `work()` is that cheap already; `work()` does it if not done.
   */
  prepareWork?(concurrency: number): Promise<void>;
  /** Start one worker; `onStart` runs at handler start with the job's payload. */
  work(concurrency: number, onStart?: (payload: unknown) => void): Promise<WorkerHandle>;
  /** Jobs of this session the store holds as done (completed, or deleted once completed). */
  completed(): Promise<number>;
  /** Bytes the store spends on this session now (used_memory or relation sizes); NaN if unknown. */
  footprint(): Promise<number>;
  /**
   * Redis only, else null: commands the server executed so far (INFO commandstats, which counts
   * the commands inside Lua scripts too) and commands this process's clients sent (round trips).
   */
  commandCalls(): Promise<{ server: number; sent: number } | null>;
  /** Stop everything and delete this session's data. */
  close(): Promise<void>;
}

/**
 * Which settings a library runs with: its documented best-throughput settings, or what a user
 * gets by changing nothing. Every library is measured both ways, in the same run.
 */
export type Variant = "best" | "defaults";

/** The report's name for a library in a variant: the best settings carry the plain name. */
export function variantName(base: string, variant: Variant): string {
  return variant === "best" ? base : `${base} (defaults)`;
}

export interface Library {
  name: string;
  store: StoreName;
  version: string;
  /** Settings used, stated in the report. */
  settings: string;
  open(runId: string): Promise<Session>;
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects with TimeoutError when `promise` has not settled in `ms`. */
export async function withDeadline<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `done` every `everyMs` until it holds; throws TimeoutError past `ms`. */
export async function waitUntil(
  what: string,
  ms: number,
  done: () => boolean | Promise<boolean>,
  everyMs = 5,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await done())) {
    if (performance.now() > deadline) throw new TimeoutError(what, ms);
    await sleep(everyMs);
  }
}

/** Runs `fn` on batches of at most `size` covering `count` items. */
export async function inBatches(
  count: number,
  size: number,
  fn: (n: number, offset: number) => Promise<void>,
): Promise<void> {
  for (let done = 0; done < count; done += size) await fn(Math.min(size, count - done), done);
}

/** Version from an installed package.json (bench's own node_modules). */
export async function installedVersion(pkg: string): Promise<string> {
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    const { readFileSync } = await import("node:fs");
    const { dirname, join } = await import("node:path");
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 6; i++) {
      try {
        const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
          name?: string;
          version: string;
        };
        if (json.name === pkg) return json.version;
      } catch {}
      dir = dirname(dir);
    }
    return "unknown";
  }
}
