/**
 * QueueFlow adapters per store for the feature benchmarks: each run gets its own key prefix,
 * schema or collection prefix, dropped at the end.
 */
import { MemoryAdapter, type StorageAdapter } from "@queueflow/core";
import { MongoAdapter } from "@queueflow/mongo";
import { PostgresAdapter } from "@queueflow/postgres";
import { RedisAdapter } from "@queueflow/redis";
import { mongoClient, mongoDropPrefix } from "./mongo-util.js";
import { ensureMongo, ensurePostgres, ensureRedis } from "./servers.js";
import { pgDropSchema, pgPool, redisClient, redisDeleteMatching } from "./store-util.js";

export type FeatureStore = "memory" | "redis" | "postgres" | "mongo";

export interface AdapterSet {
  /** A new adapter on this run's data; the memory store hands out one shared adapter. */
  create(): StorageAdapter;
  drop(): Promise<void>;
}

let runs = 0;

/** Adapters on a fresh, private namespace of `store`, starting the server if needed. */
export async function openAdapters(store: FeatureStore): Promise<AdapterSet> {
  const id = `${process.pid}_${++runs}_${Date.now().toString(36)}`;
  if (store === "memory") {
    const shared = new MemoryAdapter();
    return { create: () => shared, drop: async () => {} };
  }
  if (store === "redis") {
    const url = await ensureRedis();
    const prefix = `qff${id}`;
    return {
      create: () => new RedisAdapter({ url, prefix }),
      async drop() {
        const admin = redisClient(url);
        await redisDeleteMatching(admin, `${prefix}:*`);
        admin.disconnect();
      },
    };
  }
  if (store === "postgres") {
    const url = await ensurePostgres();
    const schema = `qff_${id}`;
    return {
      create: () => new PostgresAdapter({ connection: url, schema }),
      async drop() {
        const admin = pgPool(url);
        await pgDropSchema(admin, schema);
        await admin.end();
      },
    };
  }
  const url = await ensureMongo();
  const prefix = `qff${id}_`;
  return {
    create: () => new MongoAdapter({ connection: url, prefix }),
    async drop() {
      const admin = mongoClient(url);
      await mongoDropPrefix(admin.db(), prefix);
      await admin.close();
    },
  };
}
