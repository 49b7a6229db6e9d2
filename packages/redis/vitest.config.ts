import { defineConfig } from "vitest/config";

// Every test here runs against a real Redis at REDIS_URL (scripts/servers/redis.sh starts one;
// CI always sets it). test/global-setup.ts fails the run, loudly, when it is unset or down:
// a skipped suite would read as a green one. test/cluster-setup.ts provides a Redis Cluster
// (REDIS_CLUSTER_NODES, or one it starts) for the Cluster conformance run.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts", "test/cluster-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
