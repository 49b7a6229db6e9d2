/**
 * pg-boss 12 on the same PostgreSQL: bulk `insert()` / `send()`, `work()` handlers. Best
 * settings (https://timgit.github.io/pg-boss/, constructor, queues and workers): LISTEN/NOTIFY
 * (`useListenNotify: true` on the instance and `notify: true` on the queue; one without the
 * other does nothing), a partitioned table for the hot queue, `batchSize` with
 * `burstWhenBatchFull` so a busy worker fetches again at once, and `localConcurrency` polling
 * loops per process.
 */
import { PgBoss } from "pg-boss";
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

const QUEUE = "bench";

/** Jobs each polling loop fetches at once with the best settings. */
const BEST_BATCH = 50;

/**
 * How `work()` is called at concurrency c. Defaults: `localConcurrency` c (pg-boss 12's
 * concurrency knob), one job per fetch, the default 2 s poll. Best: min(c, 10) polling loops,
 * each fetching batches of 50 and running them c / loops at a time (so never more than c in
 * flight), fetching again at once while batches come back full (`burstWhenBatchFull`).
 */
function workShape(variant: Variant, c: number) {
  if (variant === "defaults") return { perLoop: 1, options: { localConcurrency: c } };
  const loops = Math.min(c, 10);
  return {
    perLoop: Math.ceil(c / loops),
    options: {
      localConcurrency: loops,
      batchSize: BEST_BATCH,
      burstWhenBatchFull: true,
      pollingIntervalSeconds: 0.5,
    },
  };
}

export async function pgBossLibrary(url: string, variant: Variant): Promise<Library> {
  const best = variant === "best";
  return {
    name: variantName("pg-boss", variant),
    store: "postgres",
    version: await installedVersion("pg-boss"),
    settings: best
      ? `\`new PgBoss({ useListenNotify: true, supervise: false, schedule: false })\`, queue created with \`{ notify: true, partition: true }\`; one \`work()\` with \`localConcurrency\` = min(c, 10), \`batchSize\` ${BEST_BATCH}, \`burstWhenBatchFull: true\`, \`pollingIntervalSeconds\` 0.5 (the minimum), the handler running its batch c / localConcurrency at a time; bulk \`insert()\`; completed jobs kept (default) (docs: https://timgit.github.io/pg-boss/, constructor, queues and workers)`
      : "`new PgBoss({ supervise: false, schedule: false })` (no maintenance in the measured process), queue created with `createQueue` (standard policy); one `work()` with `localConcurrency` = c and nothing else (one job per fetch, `pollingIntervalSeconds` 2); bulk `insert()`; completed jobs kept (default)",
    async open(runId): Promise<Session> {
      const schema = `pgbb_${runId}`;
      const admin = pgPool(url);
      const boss = new PgBoss({
        connectionString: url,
        schema,
        supervise: false,
        schedule: false,
        ...(best ? { useListenNotify: true } : {}),
      });
      boss.on("error", (error) => process.stderr.write(`pg-boss: ${String(error)}\n`));
      await boss.start();
      await boss.createQueue(QUEUE, best ? { notify: true, partition: true } : {});
      const workIds: string[] = [];
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await boss.insert(
              QUEUE,
              Array.from({ length: n }, () => ({ data: PAYLOAD_200B })),
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
          const shape = workShape(variant, concurrency);
          const id = await boss.work<object>(QUEUE, shape.options, async (jobs) => {
            for (let i = 0; i < jobs.length; i += shape.perLoop) {
              await Promise.all(
                jobs.slice(i, i + shape.perLoop).map(async (job) => {
                  started++;
                  onStart?.(job.data);
                }),
              );
            }
          });
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
            close: () => boss.offWork(QUEUE, { id }),
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
          for (const id of workIds) await boss.offWork(QUEUE, { id }).catch(() => {});
          await boss.stop({ graceful: true, timeout: 10_000 }).catch(() => {});
          await pgDropSchema(admin, schema);
          await admin.end();
        },
      };
    },
  };
}
