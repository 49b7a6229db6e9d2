/**
 * Sidequest 1.16 (@sidequest/postgres-backend) on the same PostgreSQL: `Sidequest.build(Job)
 * .enqueue()` (no bulk enqueue: the bulk figure sends 1,000 concurrent enqueues), the job class
 * in its own module (sidequest-job.ts). Sidequest is one engine per process (static
 * `Sidequest`), so a process holds one session at a time.
 *
 * Defaults: the engine runs in a forked child process and each job in a piscina worker thread
 * there (https://docs.sidequestjs.com/production/execution-modes), polling every 100 ms.
 * Best: the execution modes page's lightest combination, `fork: false` and `runner: "inline"`
 * (no process, no thread hop), a knex pool sized for c, and a shorter `jobPollingInterval`
 * (https://docs.sidequestjs.com/getting-started/configuration: "Increase this number to reduce DB
 * load at the cost of job start latency").
 *
 * The clock measures processing: `prepareWork` starts the engine with the bench queue paused
 * (and, with threads, runs warm-up jobs until the threads have loaded the job module) before the
 * clock starts; `work()` only activates the queue (https://docs.sidequestjs.com/guide/queues/states).
 * Completed counts come from the store.
 */
import type { Pool } from "pg";
import { Sidequest } from "sidequest";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
  sleep,
  type Variant,
  variantName,
  type WorkerHandle,
  waitUntil,
} from "../common.js";
import { pgAnalyzeSchema, pgDropSchema, pgPool, pgSchemaBytes } from "../store-util.js";
import { BenchNoopJob, ON_START } from "./sidequest-job.js";

const QUEUE = "bench";
const WARMUP_QUEUE = "warmup";

/**
 * The dispatcher claims at most the free slots of a queue per loop and sleeps
 * `jobPollingInterval` whenever the slots are full, so at c = 1 it starts about one job per
 * poll. Measured here (inline, 300 jobs at c = 1; 2,000 at c = 10 and 100): 100 ms ran 5 jobs/s
 * at c = 1, 50 ms 9, 10 ms 30, 1 ms 81; at c = 10, 10 ms ran 386 and 195 jobs/s against 258 and
 * 176 with 1 ms (two runs), at c = 100 304 against 273: above one slot, a 1 ms loop's queries
 * cost more than they gain.
 */
const bestPollMs = (c: number) => (c === 1 ? 1 : 10);

/** Warm-up jobs with threads: each holds its thread this long, so piscina grows to its maximum. */
const WARMUP_HOLD_MS = 50;

/** Completed jobs of a queue (the bench's by default), counted in the store. */
function countCompleted(admin: Pool, schema: string, queue = QUEUE): Promise<number> {
  return admin
    .query<{ n: string }>(
      `select count(*) as n from "${schema}".sidequest_jobs where queue = $1 and state = 'completed'`,
      [queue],
    )
    .then(({ rows }) => Number(rows[0]?.n ?? 0));
}

/** Settings both variants share, for the report. */
const SHARED =
  'dashboard off (`dashboard.enabled: false`: it serves the UI, not jobs, and two worker processes would both bind its port); logger level warn (no per-job logs either way); engine started with the bench queue paused before the clock, `Sidequest.queue.activate()` when it starts (https://docs.sidequestjs.com/guide/queues/states); one `Sidequest.build(Job).enqueue()` per job (Sidequest has no bulk enqueue: the bulk figure sends 1,000 concurrent enqueues); completed jobs kept (default: cleaned after 30 days). Sidequest publishes no benchmark; the "High-Throughput Setup" of its configuration page (`maxConcurrentJobs` 100, 8–16 threads, `jobPollingInterval` 50 ms) keeps the worker threads, which the defaults row measures';

let openSession: string | null = null;

export async function sidequestLibrary(url: string, variant: Variant): Promise<Library> {
  const best = variant === "best";
  const backendVersion = await installedVersion("@sidequest/postgres-backend");
  return {
    name: variantName("Sidequest", variant),
    store: "postgres",
    version: await installedVersion("sidequest"),
    settings: best
      ? `@sidequest/postgres-backend ${backendVersion}, own schema per run (knex \`searchPath\`); \`Sidequest.start\` with \`fork: false\` and \`runner: "inline"\` (engine and jobs in this process and thread, the fastest of its execution modes: https://docs.sidequestjs.com/production/execution-modes), queue \`concurrency\` = c and \`maxConcurrentJobs\` = c (https://docs.sidequestjs.com/guide/queues/concurrency), \`jobPollingInterval\` 1 ms at c = 1 and 10 ms above (default 100 ms; "decrease … for lower latency at the cost of DB load", https://docs.sidequestjs.com/getting-started/configuration; the dispatcher starts about one job per free slot per poll: measured here at c = 1, 5 jobs/s with 100 ms, 30 with 10 ms, 81 with 1 ms; at c = 10 and 100, 1 ms was slower than 10 ms), knex pool \`max\` c + 5 (default 10; enqueue and dispatch share it); ${SHARED}`
      : `@sidequest/postgres-backend ${backendVersion}, own schema per run (knex \`searchPath\`); \`Sidequest.start\` with queue \`concurrency\` = c and \`maxConcurrentJobs\` = c (its default 10 would cap c = 100), everything else default: the engine in a forked child process, each job in a piscina worker thread (\`minThreads\` = cores, \`maxThreads\` = 2 × cores; https://docs.sidequestjs.com/production/execution-modes), \`jobPollingInterval\` 100 ms, knex pool max 10; its threads warmed by 8 jobs before the clock (a cold thread spent seconds loading tsx, Sidequest and the job module); completions counted in the store (the jobs run in another process); ${SHARED}`,
    async open(runId): Promise<Session> {
      if (openSession !== null) {
        throw new Error(`Sidequest: session ${openSession} still open (one engine per process)`);
      }
      openSession = runId;
      const schema = `sqb_${runId}`;
      const admin = pgPool(url);
      const backendFor = (concurrency: number) => ({
        driver: "@sidequest/postgres-backend" as const,
        config: {
          connection: url,
          searchPath: [schema],
          ...(best ? { pool: { min: 0, max: concurrency + 5 } } : {}),
        },
      });
      const common = { logger: { level: "warn" as const }, dashboard: { enabled: false } };
      // Producer: configured, not started (no dispatcher while jobs are added).
      await Sidequest.configure({ ...common, backend: backendFor(10) });
      // The queue exists, paused, before any worker starts: worker processes starting together
      // would otherwise both insert it (its name is unique) and one of them fail.
      if (!(await Sidequest.queue.get(QUEUE))) {
        await Sidequest.queue.create({ name: QUEUE, state: "paused" }).catch(() => {});
      }
      let prepared: number | null = null;
      let started = 0;
      let onStartHook: ((payload: unknown) => void) | undefined;
      let stopPoller = () => {};
      const enqueue = (payload: object, queue = QUEUE) =>
        Sidequest.build(BenchNoopJob).queue(queue).enqueue(payload);

      async function prepareWork(concurrency: number): Promise<void> {
        if (prepared !== null) {
          if (prepared !== concurrency) throw new Error("Sidequest: one worker per session");
          return;
        }
        prepared = concurrency;
        // start() keeps the configuration of an earlier configure(): stop the producer first.
        await Sidequest.stop();
        const globals = globalThis as Record<symbol, unknown>;
        globals[ON_START] = best
          ? (payload: unknown) => {
              started++;
              onStartHook?.(payload);
            }
          : undefined;
        await Sidequest.start({
          ...common,
          backend: backendFor(concurrency),
          maxConcurrentJobs: concurrency,
          queues: [
            { name: QUEUE, concurrency, state: "paused" },
            ...(best ? [] : [{ name: WARMUP_QUEUE, concurrency, state: "active" as const }]),
          ],
          ...(best
            ? {
                fork: false,
                runner: "inline" as const,
                jobPollingInterval: bestPollMs(concurrency),
              }
            : {}),
        });
        if (!best) {
          // Every worker thread loads tsx, Sidequest and the job module on its first job.
          const n = 8;
          await Promise.all(
            Array.from({ length: n }, () => enqueue({ warmup: WARMUP_HOLD_MS }, WARMUP_QUEUE)),
          );
          await waitUntil(
            "Sidequest thread warm-up",
            60_000,
            async () => (await countCompleted(admin, schema, WARMUP_QUEUE)) >= n,
            20,
          );
          // A queue with rows costs the dispatcher a lookup per loop: leave only the bench's.
          await admin.query(`delete from "${schema}".sidequest_jobs where queue = $1`, [
            WARMUP_QUEUE,
          ]);
        }
      }

      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await Promise.all(Array.from({ length: n }, () => enqueue(PAYLOAD_200B)));
          });
        },
        async addOne(count) {
          for (let i = 0; i < count; i++) await enqueue(PAYLOAD_200B);
        },
        async addPayload(payload) {
          await enqueue(payload);
        },
        prepareWork,
        async work(concurrency, onStart): Promise<WorkerHandle> {
          await prepareWork(concurrency);
          onStartHook = onStart;
          if (!best && onStart) stopPoller = startTimesFromStore(admin, schema, onStart);
          await Sidequest.queue.activate(QUEUE);
          let lastAsked = 0;
          let lastCount = 0;
          return {
            settled: async (target) => {
              if (best) {
                // The in-process start count bounds the stored completions from above.
                if (started === 0 || started < target) return 0;
                return countCompleted(admin, schema);
              }
              // The jobs run in the engine's own process: only the store knows. Ask at most
              // every 20 ms (the loop polls every 2–10 ms; a count scans every job row).
              if (target !== 0 && performance.now() - lastAsked < 20) return lastCount;
              lastAsked = performance.now();
              lastCount = await countCompleted(admin, schema);
              return lastCount;
            },
            close: async () => {
              stopPoller();
              await Sidequest.queue.pause(QUEUE).catch(() => {});
              await settleInFlight(admin, schema, best ? bestPollMs(concurrency) : 100);
            },
          };
        },
        completed: () => countCompleted(admin, schema),
        afterFill: () => pgAnalyzeSchema(admin, schema),
        footprint: () => pgSchemaBytes(admin, schema),
        commandCalls: async () => null,
        async close() {
          stopPoller();
          await Sidequest.stop().catch(() => {});
          delete (globalThis as Record<symbol, unknown>)[ON_START];
          openSession = null;
          await pgDropSchema(admin, schema);
          await admin.end();
        },
      };
    },
  };
}

/**
 * After pausing: waits until no job of the bench queue is claimed or running. Sidequest's
 * `stop()` does not wait for a dispatcher loop under way, and a job that loop claims after it
 * then runs against a closed knex pool (its acquire times out a minute later, with an error).
 */
async function settleInFlight(admin: Pool, schema: string, pollMs: number): Promise<void> {
  await sleep(2 * pollMs + 50); // a loop that read the queue as active claims by now
  await waitUntil(
    "Sidequest jobs in flight",
    10_000,
    async () => {
      const { rows } = await admin.query<{ n: string }>(
        `select count(*) as n from "${schema}".sidequest_jobs
          where queue = $1 and state in ('claimed', 'running')`,
        [QUEUE],
      );
      return Number(rows[0]?.n ?? 0) === 0;
    },
    20,
  ).catch(() => {});
}

/**
 * With the jobs in another process, when did each start? The job stores its start time
 * (`performance.timeOrigin + performance.now()`, the same wall-clock base in every process) as
 * its result when its payload carries a send time `t`. This polls completed jobs and calls
 * `onStart` with the payload's `t` moved so that `performance.now() - t` here is the job's
 * start minus its send time.
 */
function startTimesFromStore(
  admin: Pool,
  schema: string,
  onStart: (payload: unknown) => void,
): () => void {
  let stopped = false;
  // Jobs complete out of id order: below `low` every id has been seen; above it, `seen` says.
  let low = 0;
  const seen = new Set<number>();
  void (async () => {
    while (!stopped) {
      const { rows } = await admin
        .query<{ id: number; args: unknown; result: unknown }>(
          `select id, args, result from "${schema}".sidequest_jobs
            where queue = $1 and state = 'completed' and id > $2 order by id`,
          [QUEUE, low],
        )
        .catch(() => ({ rows: [] as { id: number; args: unknown; result: unknown }[] }));
      for (const row of rows) {
        const id = Number(row.id);
        if (seen.has(id)) continue;
        seen.add(id);
        const args = (typeof row.args === "string" ? JSON.parse(row.args) : row.args) as unknown[];
        const payload = (args?.[0] ?? {}) as { t?: number };
        const result = typeof row.result === "string" ? JSON.parse(row.result) : row.result;
        if (typeof payload.t === "number" && typeof result === "number") {
          const latency = result - (performance.timeOrigin + payload.t);
          onStart({ ...payload, t: performance.now() - latency });
        } else {
          onStart(payload);
        }
      }
      while (seen.delete(low + 1)) low++;
      await sleep(20);
    }
  })();
  return () => {
    stopped = true;
  };
}
