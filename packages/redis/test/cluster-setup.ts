import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** host:port of each master of the Redis Cluster the cluster tests run against. */
    redisClusterNodes: string;
  }
}

const script = fileURLToPath(new URL("../../../scripts/servers/redis-cluster.sh", import.meta.url));

/**
 * The Cluster conformance test needs a Redis Cluster: REDIS_CLUSTER_NODES when set (CI's
 * services.sh starts one), else this starts the repository's three-node test cluster with
 * scripts/servers/redis-cluster.sh and stops it afterwards. A failure fails the run.
 */
export default function setup(project: TestProject): (() => void) | undefined {
  const given = process.env.REDIS_CLUSTER_NODES;
  if (given) {
    project.provide("redisClusterNodes", given);
    return undefined;
  }
  const out = execFileSync("bash", [script, "up"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const nodes = /export REDIS_CLUSTER_NODES=(\S+)/.exec(out)?.[1];
  if (!nodes) throw new Error(`redis-cluster.sh up printed no REDIS_CLUSTER_NODES:\n${out}`);
  project.provide("redisClusterNodes", nodes);
  return () => {
    execFileSync("bash", [script, "down"], { stdio: ["ignore", "ignore", "inherit"] });
  };
}
