import { runAdapterConformance } from "@queueflow/adapter-tests";
import type { StorageAdapter } from "@queueflow/core";
import { MongoAdapter } from "../src/index.js";
import { dropPrefix, pollingTarget, testPrefix } from "./helpers.js";

const target = pollingTarget();

// The polling path: a server without an oplog, detected at connect (wakeUp "auto" finds no
// change streams, so capabilities.wakeUp is false and the core polls). Against a real
// MongoDB replica set (no MONGO_URL_NO_OPLOG) polling is forced instead.
runAdapterConformance({
  name: target.forced ? "mongo (polling, forced)" : "mongo (polling, no oplog)",
  capabilities: { wakeUp: false, transactions: false, groups: true },
  create: () =>
    new MongoAdapter({
      connection: target.url,
      prefix: testPrefix("poll"),
      wakeUp: target.forced ? "poll" : "auto",
    }),
  cleanup: (adapter: StorageAdapter) => dropPrefix(target.url, (adapter as MongoAdapter).prefix),
});
