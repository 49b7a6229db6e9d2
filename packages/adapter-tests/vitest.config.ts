import { defineConfig } from "vitest/config";

// The suite's own building blocks (the fault scenario's TCP proxy); the conformance and fault
// suites themselves run in each adapter's package, against its store.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
