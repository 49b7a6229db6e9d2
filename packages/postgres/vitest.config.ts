import { defineConfig } from "vitest/config";

// Server tests against a real PostgreSQL (DATABASE_URL); see test/database.ts.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
