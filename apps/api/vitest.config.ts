import { defineConfig } from "vitest/config";

// End-to-end over real HTTP on random ports, against the memory store and against the real
// Redis (REDIS_URL) and PostgreSQL (DATABASE_URL) servers scripts/test.sh provides (and a
// smoke on MongoDB, MONGO_URL, which test/mongo.test.ts requires the same way).
// test/global-setup.ts fails the run, loudly, when either is unset or down: a skipped suite
// would read as a green one.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
