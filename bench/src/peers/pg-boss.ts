/**
 * pg-boss on the same PostgreSQL: `insert` (bulk) / `send`, one `work()` with `batchSize` = c
 * that skips the polling pause (`notifyWorker`) while batches come back full.
 */
import PgBoss from "pg-boss";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
  type WorkerHandle,
} from "../common.js";
import { pgAnalyzeSchema, pgDropSchema, pgPool, pgSchemaBytes } from "../store-util.js";

const QUEUE = "bench";
const POLL_SECONDS = 0.5; // pg-boss 10's documented minimum pollingIntervalSeconds

export async function pgBossLibrary(url: string): Promise<Library> {
  return {
    name: "pg-boss",
    store: "postgres",
    version: await installedVersion("pg-boss"),
    settings: `one \`work()\` with \`batchSize\` = c (v10 has no teamSize/teamConcurrency; the handler runs the batch's c jobs at once), \`pollingIntervalSeconds: ${POLL_SECONDS}\` (the minimum), and \`notifyWorker(id)\` from the handler when its batch came back full, so a busy worker fetches again at once instead of pausing for the poll (pg-boss 10 waits out the interval after every fetch: without this, c jobs per 0.5 s at most); c separate \`work()\` calls with \`batchSize\` 1 (or 2–10 calls sharing c) were slower here (c=10: 191 jobs/s against 1,163; c=100: 2,119–5,380 against 5,537); \`supervise: false\`, \`schedule: false\`, pool \`max\` 10; queue created with \`createQueue\` (standard policy); completed jobs kept (default)`,
    async open(runId): Promise<Session> {
      const schema = `pgbb_${runId}`;
      const admin = pgPool(url);
      const boss = new PgBoss({
        connectionString: url,
        schema,
        max: 10,
        supervise: false,
        schedule: false,
      });
      boss.on("error", (error) => process.stderr.write(`pg-boss: ${String(error)}\n`));
      await boss.start();
      await boss.createQueue(QUEUE);
      const workIds: string[] = [];
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await boss.insert(
              Array.from({ length: n }, () => ({ name: QUEUE, data: PAYLOAD_200B })),
            );
          });
        },
        async addOne(count) {
          for (let i = 0; i < count; i++) await boss.send(QUEUE, PAYLOAD_200B);
        },
        async addPayload(payload) {
          await boss.send(QUEUE, payload);
        },
        async work(concurrency, onStart): Promise<WorkerHandle> {
          let started = 0;
          // One polling loop fetching c jobs; its handler runs them at once (c in flight).
          let id = "";
          id = await boss.work<object>(
            QUEUE,
            { batchSize: concurrency, pollingIntervalSeconds: POLL_SECONDS },
            async (jobs) => {
              await Promise.all(
                jobs.map(async (job) => {
                  started++;
                  onStart?.(job.data);
                }),
              );
              // A full batch: more may be waiting, fetch again without the polling pause.
              if (jobs.length === concurrency) boss.notifyWorker(id);
            },
          );
          workIds.push(id);
          return {
            // Completion is sent after the handler without being awaited: count what is stored.
            // A job counts once the store holds it completed; `started` bounds that from above.
            settled: async (target) => {
              if (started === 0 || started < target) return 0;
              const { rows } = await admin.query<{ n: string }>(
                `select count(*) as n from "${schema}".job where name = $1 and state = 'completed'`,
                [QUEUE],
              );
              return Number(rows[0]?.n ?? 0);
            },
            close: () => boss.offWork({ id }),
          };
        },
        async completed() {
          const { rows } = await admin.query<{ n: string }>(
            `select count(*) as n from "${schema}".job where name = $1 and state = 'completed'`,
            [QUEUE],
          );
          return Number(rows[0]?.n ?? 0);
        },
        afterFill: () => pgAnalyzeSchema(admin, schema),
        footprint: () => pgSchemaBytes(admin, schema),
        commandCalls: async () => null,
        async close() {
          for (const id of workIds) await boss.offWork({ id }).catch(() => {});
          await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => {});
          await pgDropSchema(admin, schema);
          await admin.end();
        },
      };
    },
  };
}
