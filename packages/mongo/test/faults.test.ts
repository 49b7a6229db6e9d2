import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { runFaultScenario } from "@queueflow/adapter-tests";
import { MongoClient } from "mongodb";
import { mongoUrl } from "./helpers.js";

// The shared test server keeps everything in memory, so a crash would lose every job, acked
// or not: the scenario runs its partition and process faults against it, not the crash.
const url = new URL(mongoUrl());
const dbName = `qf_faults_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
// The adapter module reads it, in this process and in the scenario's children.
process.env.QF_FAULTS_MONGO_DB = dbName;

runFaultScenario(
  {
    name: "mongo",
    adapterModule: fileURLToPath(new URL("./fixtures/fault-adapter.mjs", import.meta.url)),
    target: { host: url.hostname, port: Number(url.port || 27017) },
    cleanup: async () => {
      const client = new MongoClient(mongoUrl(), { serverSelectionTimeoutMS: 5_000 });
      try {
        await client.db(dbName).dropDatabase();
      } finally {
        await client.close();
      }
    },
  },
  // A quarter of the default load and 5 s leases: the Java test server completed about 60
  // jobs/s here on an idle machine and 20/s with the other core busy, where live workers' 2 s
  // leases ran out (141 stalls against about 100 jobs in flight at the kills and the stop) and
  // 300 adds/s outlasted the drain time. The checks are the same.
  { jobs: 1500, rate: 60, leaseMs: 5000, stalledIntervalMs: 1000 },
);
