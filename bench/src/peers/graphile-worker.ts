/**
 * graphile-worker on the same PostgreSQL: bulk `addJobs` / `addJob`, one runner. Best settings
 * are its performance page's batching options (https://worker.graphile.org/docs/performance#batching):
 * a local queue of 500 and batched completions with no delay.
 */
import { Logger, makeWorkerUtils, type Runner, run, type WorkerUtils } from "graphile-worker";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
  type Variant,
  variantName,
  type WorkerHandle,
} from "../common.js";
import { pgAnalyzeSchema, pgDropSchema, pgPool, pgSchemaBytes } from "../store-util.js";

const silent = new Logger(() => () => {});

/** The worker preset of a variant at concurrency `c`. */
function workerPreset(variant: Variant, c: number): GraphileConfig.WorkerOptions {
  const common = { concurrentJobs: c, maxPoolSize: Math.max(10, c + 2) };
  if (variant === "defaults") return common;
  return { ...common, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };
}

export async function graphileWorkerLibrary(url: string, variant: Variant): Promise<Library> {
  const settings =
    variant === "best"
      ? "`preset.worker`: `concurrentJobs` = c, `maxPoolSize` = max(10, c + 2), `localQueue.size` 500, `completeJobBatchDelay` 0, `failJobBatchDelay` 0 (https://worker.graphile.org/docs/performance#batching)"
      : "`preset.worker`: `concurrentJobs` = c, `maxPoolSize` = max(10, c + 2) (the docs' advice: it holds a connection per running job); everything else default (no local queue, unbatched completions, `pollInterval` 2 s with LISTEN/NOTIFY)";
  return {
    name: variantName("graphile-worker", variant),
    store: "postgres",
    version: await installedVersion("graphile-worker"),
    settings: `one \`run()\`, ${settings}; bulk add with \`addJobs()\`; silent logger (its per-job info log to the console would dominate); completed jobs are deleted (its only mode)`,
    async open(runId): Promise<Session> {
      const schema = `gwb_${runId}`;
      const admin = pgPool(url);
      const utils: WorkerUtils = await makeWorkerUtils({
        connectionString: url,
        schema,
        logger: silent,
      });
      await utils.migrate();
      const runners: Runner[] = [];
      let added = 0;
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await utils.addJobs(
              Array.from({ length: n }, () => ({ identifier: "noop", payload: PAYLOAD_200B })),
            );
            added += n;
          });
        },
        async addOne(count) {
          for (let i = 0; i < count; i++) await utils.addJob("noop", PAYLOAD_200B);
          added += count;
        },
        async addPayload(payload) {
          await utils.addJob("noop", payload);
          added++;
        },
        async work(concurrency, onStart): Promise<WorkerHandle> {
          let succeeded = 0;
          const runner = await run({
            connectionString: url,
            schema,
            preset: { worker: workerPreset(variant, concurrency) },
            noHandleSignals: true,
            logger: silent,
            taskList: {
              noop: async (payload) => {
                onStart?.(payload);
              },
            },
          });
          runner.events.on("job:success", () => {
            succeeded++;
          });
          runners.push(runner);
          return {
            // job:success fires before the job row is deleted: count what is stored.
            settled: async (target) => {
              if (succeeded === 0 || succeeded < target) return 0;
              const { rows } = await admin.query<{ n: string }>(
                `select count(*) as n from "${schema}"._private_jobs`,
              );
              return Math.max(0, added - Number(rows[0]?.n ?? 0));
            },
            close: () => runner.stop(),
          };
        },
        // Completed jobs are deleted: done = added by this session − rows left.
        async completed() {
          const { rows } = await admin.query<{ n: string }>(
            `select count(*) as n from "${schema}"._private_jobs`,
          );
          return Math.max(0, added - Number(rows[0]?.n ?? 0));
        },
        afterFill: () => pgAnalyzeSchema(admin, schema),
        footprint: () => pgSchemaBytes(admin, schema),
        commandCalls: async () => null,
        async close() {
          for (const runner of runners) await runner.stop().catch(() => {});
          await utils.release();
          await pgDropSchema(admin, schema);
          await admin.end();
        },
      };
    },
  };
}
