/** BullMQ on the same Redis: Queue.addBulk / Queue.add, one Worker with `concurrency`. */
import { Queue, Worker } from "bullmq";
import {
  inBatches,
  installedVersion,
  type Library,
  PAYLOAD_200B,
  type Session,
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

export async function bullmqLibrary(url: string): Promise<Library> {
  return {
    name: "BullMQ",
    store: "redis",
    version: await installedVersion("bullmq"),
    settings:
      "Worker `concurrency` = c, default `drainDelay` (5 s blocking wait) and `stalledInterval`; `removeOnComplete`/`removeOnFail` off (default: completed jobs kept, as QueueFlow does); default events stream",
    async open(runId): Promise<Session> {
      const prefix = `bqb${runId}`;
      const admin = redisClient(url);
      const queue = new Queue("bench", { connection: connection(url), prefix });
      const workers: Worker[] = [];
      return {
        async addBulk(count) {
          await inBatches(count, 1000, async (n) => {
            await queue.addBulk(
              Array.from({ length: n }, () => ({ name: "noop", data: PAYLOAD_200B })),
            );
          });
        },
        async addOne(count) {
          for (let i = 0; i < count; i++) await queue.add("noop", PAYLOAD_200B);
        },
        async addPayload(payload) {
          await queue.add("noop", payload);
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
        completed: () => queue.getCompletedCount(),
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
