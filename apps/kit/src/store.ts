import { MemoryAdapter, type StorageAdapter } from "@queueflow/core";
import type { StoreConfig } from "./config.js";

/**
 * Open the configured store. Drivers are imported only for the store in use, so the memory
 * store starts without loading ioredis, pg or mongodb.
 */
export async function openStore(config: StoreConfig): Promise<StorageAdapter> {
  const adapter = await createAdapter(config);
  await adapter.connect();
  return adapter;
}

async function createAdapter(config: StoreConfig): Promise<StorageAdapter> {
  switch (config.kind) {
    case "memory":
      return new MemoryAdapter();
    case "redis": {
      const { RedisAdapter } = await import("@queueflow/redis");
      return new RedisAdapter({
        url: config.url,
        ...(config.namespace ? { prefix: config.namespace } : {}),
      });
    }
    case "postgres": {
      const { PostgresAdapter } = await import("@queueflow/postgres");
      return new PostgresAdapter({
        connection: config.url,
        ...(config.namespace ? { schema: config.namespace } : {}),
      });
    }
    case "mongo": {
      const { MongoAdapter } = await import("@queueflow/mongo");
      return new MongoAdapter({
        connection: config.url,
        // Bound how long a call waits while the server is away, so health answers promptly.
        clientOptions: { serverSelectionTimeoutMS: 5_000 },
        ...(config.namespace ? { prefix: `${config.namespace}_` } : {}),
      });
    }
  }
}
