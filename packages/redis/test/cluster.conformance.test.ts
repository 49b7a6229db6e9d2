import { runAdapterConformance } from "@queueflow/adapter-tests";
import type { StorageAdapter } from "@queueflow/core";
import { Cluster } from "ioredis";
import { inject } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { testPrefix } from "./helpers.js";

const nodes = inject("redisClusterNodes")
  .split(",")
  .map((node) => {
    const [host, port] = node.split(":");
    return { host: host as string, port: Number(port) };
  });

/** Delete every key under `prefix` on every master (SCAN is per node on a Cluster). */
async function deleteClusterPrefix(cluster: Cluster, prefix: string): Promise<void> {
  for (const node of cluster.nodes("master")) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      for (const key of keys) await cluster.unlink(key);
      cursor = next;
    } while (cursor !== "0");
  }
}

// The suite on a three-master Redis Cluster, with the Cluster client passed in as `client`:
// every script must touch only keys of its queue's slot, or Redis refuses it here.
runAdapterConformance({
  name: "redis cluster",
  capabilities: { wakeUp: true, transactions: false, groups: true, handoff: true },
  create: () => new RedisAdapter({ client: new Cluster(nodes), prefix: testPrefix("cluster") }),
  cleanup: async (adapter: StorageAdapter) => {
    const redis = adapter as RedisAdapter;
    const cluster = redis.client as Cluster;
    try {
      await deleteClusterPrefix(cluster, redis.prefix);
    } finally {
      cluster.disconnect();
    }
  },
});
