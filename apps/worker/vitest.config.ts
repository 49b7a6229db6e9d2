import { defineConfig } from "vitest/config";

// Handlers run through a real Worker on the memory store, against local servers the tests
// start (SMTP, HTTP) and temp directories. shutdown.test.ts runs the worker as its own
// process against the real Redis at REDIS_URL (scripts/test.sh provides it; the test fails
// with a clear message when it is unset).
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
