import { runAdapterConformance } from "@queueflow/adapter-tests";
import type { StorageAdapter } from "@queueflow/core";
import { MongoAdapter } from "../src/index.js";
import { dropPrefix, mongoUrl, testPrefix } from "./helpers.js";

const url = mongoUrl();

// The change-stream path: MONGO_URL has change streams (the test server runs with its oplog;
// a real MongoDB must be a replica set), so wake-up is required, not merely allowed. Each
// contract area gets its own collection prefix, dropped when the area is done.
runAdapterConformance({
  name: "mongo (change streams)",
  capabilities: { wakeUp: true, transactions: false, groups: true },
  create: () =>
    new MongoAdapter({ connection: url, prefix: testPrefix("conf"), wakeUp: "change-stream" }),
  cleanup: (adapter: StorageAdapter) => dropPrefix(url, (adapter as MongoAdapter).prefix),
});
