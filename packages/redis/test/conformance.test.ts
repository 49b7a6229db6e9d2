import { runAdapterConformance } from "@queueflow/adapter-tests";
import type { StorageAdapter } from "@queueflow/core";
import { RedisAdapter } from "../src/index.js";
import { deletePrefix, redisUrl, testPrefix, withClient } from "./helpers.js";

// Each adapter the suite creates gets its own prefix, so cleaning one up never touches keys
// another area is still using.
runAdapterConformance({
  name: "redis",
  capabilities: { wakeUp: true, transactions: false, groups: true, handoff: true },
  create: () => new RedisAdapter({ url: redisUrl(), prefix: testPrefix("conf") }),
  cleanup: async (adapter: StorageAdapter) => {
    await withClient((client) => deletePrefix(client, (adapter as RedisAdapter).prefix));
  },
});
