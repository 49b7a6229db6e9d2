import { fileURLToPath } from "node:url";
import { type FaultServer, runFaultScenario } from "@queueflow/adapter-tests";
import { startThrowawayCluster, type ThrowawayCluster } from "./cluster.js";

/**
 * A cluster of the scenario's own (the crash would break every other test on the shared one),
 * with PostgreSQL's durable defaults: fsync and synchronous_commit stay on, since the scenario
 * checks that acknowledged jobs survive `pg_ctl stop -m immediate`.
 */
function crashableCluster(): FaultServer {
  let cluster: ThrowawayCluster | undefined;
  const started = (): ThrowawayCluster => {
    if (cluster === undefined) throw new Error("the fault scenario's cluster was not started");
    return cluster;
  };
  return {
    start: async () => {
      cluster = await startThrowawayCluster({ durable: true });
      // The adapter module connects as the cluster's superuser, in every child too.
      process.env.QF_FAULTS_PG_USER = cluster.user;
      return { host: "127.0.0.1", port: cluster.port };
    },
    crash: () => started().crash(),
    restart: () => started().start(),
    stop: async () => {
      await cluster?.stop();
    },
  };
}

runFaultScenario({
  name: "postgres",
  adapterModule: fileURLToPath(new URL("./fixtures/fault-adapter.mjs", import.meta.url)),
  server: crashableCluster(),
});
