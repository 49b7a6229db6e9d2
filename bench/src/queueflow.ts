/** QueueFlow on Redis (RedisAdapter), PostgreSQL (PostgresAdapter) and MongoDB (MongoAdapter). */
import { type BulkJob, Queue, type StorageAdapter, Worker } from "@queueflow/core";
import { MongoAdapter } from "@queueflow/mongo";
import { PostgresAdapter } from "@queueflow/postgres";
import { RedisAdapter } from "@queueflow/redis";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
  type StoreName,
  type Variant,
  variantName,
  type WorkerHandle,
} from "./common.js";
import { mongoClient, mongoDropPrefix, mongoPrefixBytes } from "./mongo-util.js";
import {
  clientCommandsSent,
  pgAnalyzeSchema,
  pgDropSchema,
  pgPool,
  pgSchemaBytes,
  redisClient,
  redisCommandCalls,
  redisDeleteMatching,
  redisUsedMemory,
} from "./store-util.js";

type NoopJobs = { noop: { payload: object; result: null } };

/**
 * Jobs a worker holds ahead of its slots with the best settings: graphile-worker's documented
 * `localQueue.size` of 500, so both claim as deep.
 */
function bestPrefetch(concurrency: number): number {
  return Math.max(concurrency, 500);
}

function workerSettings(variant: Variant): string {
  const tuned =
    variant === "best"
      ? "`prefetch` = max(c, 500) (claims up to c + prefetch per round trip, graphile-worker's `localQueue.size`), `retention: { completedMs: 0 }` (the settle that completes a job deletes it, as BullMQ's `removeOnComplete` and graphile-worker do)"
      : 'no options: `prefetch` "auto" (the default), completed jobs kept (default retention)';
  return `Worker \`concurrency\` = c, ${tuned}, \`runSchedules: false\``;
}

function bulk(count: number): BulkJob<NoopJobs>[] {
  return Array.from({ length: count }, () => ({ name: "noop" as const, payload: PAYLOAD_200B }));
}

function session(
  variant: Variant,
  makeAdapter: () => StorageAdapter,
  measure: {
    footprint(): Promise<number>;
    calls(): Promise<{ server: number; sent: number } | null>;
    drop(): Promise<void>;
    afterFill?(): Promise<void>;
  },
): Session {
  const producer = makeAdapter();
  const queue = new Queue<NoopJobs>("bench", { adapter: producer });
  const workers: { worker: Worker<NoopJobs>; adapter: StorageAdapter }[] = [];
  let connected: Promise<void> | undefined;
  let added = 0;
  const ready = () => {
    connected ??= producer.connect();
    return connected;
  };
  return {
    async addBulk(count) {
      await ready();
      await inBatches(count, 1000, async (n) => {
        await queue.addBulk(bulk(n));
        added += n;
      });
    },
    async addOne(count) {
      await ready();
      for (let i = 0; i < count; i++) {
        await queue.add("noop", PAYLOAD_200B);
        added++;
      }
    },
    async addPayload(payload) {
      await ready();
      await queue.add("noop", payload);
      added++;
    },
    async work(concurrency, onStart): Promise<WorkerHandle> {
      await ready();
      const adapter = makeAdapter();
      await adapter.connect();
      let settled = 0;
      const worker = new Worker<NoopJobs>(
        "bench",
        {
          noop: (job) => {
            onStart?.(job.payload);
            return null;
          },
        },
        {
          adapter,
          concurrency,
          runSchedules: false,
          ...(variant === "best"
            ? { prefetch: bestPrefetch(concurrency), retention: { completedMs: 0 } }
            : {}),
        },
      );
      worker.on("completed", () => {
        settled++;
      });
      worker.on("error", (error) => process.stderr.write(`queueflow worker: ${String(error)}\n`));
      workers.push({ worker, adapter });
      return {
        settled: () => settled,
        close: async () => {
          await worker.close();
          await adapter.close();
        },
      };
    },
    // The best settings delete completed jobs: done = added by this session − jobs still live.
    async completed() {
      await ready();
      const c = await queue.counts();
      return Math.max(0, added - c.waiting - c.delayed - c.active);
    },
    afterFill: measure.afterFill,
    footprint: () => measure.footprint(),
    commandCalls: () => measure.calls(),
    async close() {
      for (const { worker, adapter } of workers) {
        await worker.close().catch(() => {});
        await adapter.close().catch(() => {});
      }
      await queue.close().catch(() => {});
      await producer.close().catch(() => {});
      await measure.drop();
    },
  };
}

export async function queueflowLibrary(
  store: StoreName,
  url: string,
  variant: Variant,
): Promise<Library> {
  const version = await installedVersion("@queueflow/core");
  const name = variantName("QueueFlow", variant);
  const SETTINGS = workerSettings(variant);
  if (store === "redis") {
    return {
      name,
      store,
      version,
      settings: `RedisAdapter (own ioredis client per Queue and per Worker), ${SETTINGS}`,
      async open(runId) {
        const prefix = `qfb${runId}`;
        const admin = redisClient(url);
        return session(variant, () => new RedisAdapter({ url, prefix }), {
          footprint: () => redisUsedMemory(admin),
          calls: async () => ({
            server: await redisCommandCalls(admin),
            sent: clientCommandsSent(),
          }),
          async drop() {
            await redisDeleteMatching(admin, `${prefix}:*`);
            admin.disconnect();
          },
        });
      },
    };
  }
  if (store === "mongo") {
    return {
      name,
      store,
      version,
      settings: `MongoAdapter (own MongoClient per Queue and per Worker, own collection prefix per run, wakeUp "auto": change streams on the test server's oplog), ${SETTINGS}`,
      async open(runId) {
        const prefix = `qfb${runId}_`;
        const admin = mongoClient(url);
        const db = admin.db();
        return session(variant, () => new MongoAdapter({ connection: url, prefix }), {
          footprint: () => mongoPrefixBytes(db, prefix),
          calls: async () => null,
          async drop() {
            await mongoDropPrefix(db, prefix);
            await admin.close();
          },
        });
      },
    };
  }
  return {
    name,
    store,
    version,
    settings: `PostgresAdapter (own pool of pg's default 10 per Queue and per Worker, fresh schema per run, LISTEN/NOTIFY wake-up), ${SETTINGS}`,
    async open(runId) {
      const schema = `qfb_${runId}`;
      const admin = pgPool(url);
      return session(variant, () => new PostgresAdapter({ connection: url, schema }), {
        footprint: () => pgSchemaBytes(admin, schema),
        afterFill: () => pgAnalyzeSchema(admin, schema),
        calls: async () => null,
        async drop() {
          await pgDropSchema(admin, schema);
          await admin.end();
        },
      });
    },
  };
}
