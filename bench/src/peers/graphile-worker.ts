/** graphile-worker on the same PostgreSQL: bulk `add_jobs` SQL / `addJob`, one runner. */
import { Logger, makeWorkerUtils, type Runner, run, type WorkerUtils } from "graphile-worker";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
  type WorkerHandle,
} from "../common.js";
import { pgAnalyzeSchema, pgDropSchema, pgPool, pgSchemaBytes } from "../store-util.js";

const POLL_MS = 2000; // default; new jobs arrive by LISTEN/NOTIFY, polling is the fallback
const silent = new Logger(() => () => {});

export async function graphileWorkerLibrary(url: string): Promise<Library> {
  return {
    name: "graphile-worker",
    store: "postgres",
    version: await installedVersion("graphile-worker"),
    settings: `one \`run()\` with \`concurrency\` = c, \`maxPoolSize\` = max(10, c + 2) (it holds a connection per running job), \`pollInterval\` ${POLL_MS} ms (default; LISTEN/NOTIFY wakes it), silent logger (its per-job info log to the console would dominate), no local queue/batching presets; completed jobs are deleted (its only mode)`,
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
      const addJobsSql = `select count(*) from "${schema}".add_jobs(array(
          select r from json_populate_recordset(null::"${schema}".job_spec, $1::json) r))`;
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            const specs = JSON.stringify(
              Array.from({ length: n }, () => ({ identifier: "noop", payload: PAYLOAD_200B })),
            );
            await utils.withPgClient((client) => client.query(addJobsSql, [specs]));
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
            concurrency,
            maxPoolSize: Math.max(10, concurrency + 2),
            pollInterval: POLL_MS,
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
