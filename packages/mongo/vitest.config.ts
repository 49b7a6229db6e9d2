import { defineConfig } from "vitest/config";

// Every test here runs against a real server at MONGO_URL (scripts/servers/mongo.sh starts
// mongo-java-server; CI always sets it). test/global-setup.ts fails the run, loudly, when it
// is unset or down: a skipped suite would read as a green one.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
