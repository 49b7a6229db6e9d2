/**
 * BullMQ on the same Redis: Queue.addBulk / Queue.add, one Worker with `concurrency`. Best
 * settings (https://docs.bullmq.io/guide/queues/auto-removal-of-jobs and
 * https://docs.bullmq.io/guide/events): completed jobs removed on completion and a short
 * events stream.
 */
import { Queue, Worker } from "bullmq";
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
import {
  clientCommandsSent,
  redisClient,
  redisCommandCalls,
  redisDeleteMatching,
  redisUsedMemory,
} from "../store-util.js";

function connection(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
  };
}

/** Events kept in the stream with the best settings (default 10,000). */
const EVENTS_MAX_LEN = 100;

export async function bullmqLibrary(url: string, variant: Variant): Promise<Library> {
  const best = variant === "best";
  return {
    name: variantName("BullMQ", variant),
    store: "redis",
    version: await installedVersion("bullmq"),
    settings: best
      ? `Worker \`concurrency\` = c; \`defaultJobOptions.removeOnComplete: true\` (a completed job is deleted, so the store holds no finished jobs, unlike every other row's library); \`streams.events.maxLen\` ${EVENTS_MAX_LEN}; default \`drainDelay\` and \`stalledInterval\` (docs: https://docs.bullmq.io/guide/queues/auto-removal-of-jobs, https://docs.bullmq.io/guide/events)`
      : "Worker `concurrency` = c, everything else default: completed jobs kept, events stream of 10,000, `drainDelay` 5 s, `stalledInterval` 30 s",
    async open(runId): Promise<Session> {
      const prefix = `bqb${runId}`;
      const admin = redisClient(url);
      const queue = new Queue("bench", {
        connection: connection(url),
        prefix,
        ...(best
          ? {
              defaultJobOptions: { removeOnComplete: true },
              streams: { events: { maxLen: EVENTS_MAX_LEN } },
            }
          : {}),
      });
      let added = 0;
      const workers: Worker[] = [];
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await queue.addBulk(
              Array.from({ length: n }, () => ({ name: "noop", data: PAYLOAD_200B })),
            );
            added += n;
          });
        },
        async addOne(count) {
          for (let i = 0; i < count; i++) await queue.add("noop", PAYLOAD_200B);
          added += count;
        },
        async addPayload(payload) {
          await queue.add("noop", payload);
          added++;
        },
        async work(concurrency, onStart): Promise<WorkerHandle> {
          let settled = 0;
          const worker = new Worker(
            "bench",
            async (job) => {
              onStart?.(job.data);
              return null;
            },
            { connection: connection(url), prefix, concurrency },
          );
          worker.on("completed", () => {
            settled++;
          });
          worker.on("error", (error) => process.stderr.write(`bullmq worker: ${String(error)}\n`));
          workers.push(worker);
          await worker.waitUntilReady();
          return { settled: () => settled, close: () => worker.close() };
        },
        // Removed on completion with the best settings: done = added − still in the queue.
        completed: async () => {
          if (!best) return queue.getCompletedCount();
          const left = await queue.getJobCountByTypes(
            "wait",
            "active",
            "delayed",
            "prioritized",
            "waiting-children",
            "failed",
          );
          return Math.max(0, added - left);
        },
        footprint: () => redisUsedMemory(admin),
        commandCalls: async () => ({
          server: await redisCommandCalls(admin),
          sent: clientCommandsSent(),
        }),
        async close() {
          for (const worker of workers) await worker.close().catch(() => {});
          await queue.close().catch(() => {});
          await redisDeleteMatching(admin, `${prefix}:*`);
          admin.disconnect();
        },
      };
    },
  };
}
