import { defineConfig } from "vitest/config";

// Tests import @queueflow/core's build (as users do), so build core first (turbo's ^build).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
