import { fileURLToPath } from "node:url";
import { type FaultServer, freePort, runFaultScenario } from "@queueflow/adapter-tests";
import { OwnRedis } from "./own-redis.js";

/**
 * A server of the scenario's own, since it is crashed: with `appendfsync always` every write
 * is on disk before Redis answers, so a job acknowledged before the kill -9 is there after.
 */
function crashableRedis(): FaultServer {
  let redis: OwnRedis | undefined;
  const started = (): OwnRedis => {
    if (redis === undefined) throw new Error("the fault scenario's redis-server was not started");
    return redis;
  };
  return {
    start: async () => {
      redis = new OwnRedis(await freePort(), "always");
      await redis.start();
      return { host: "127.0.0.1", port: redis.port };
    },
    crash: () => started().stop("SIGKILL"),
    restart: () => started().start(),
    stop: async () => {
      await redis?.destroy();
    },
  };
}

runFaultScenario({
  name: "redis",
  adapterModule: fileURLToPath(new URL("./fixtures/fault-adapter.mjs", import.meta.url)),
  server: crashableRedis(),
});
