import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The conformance suite lives in @queueflow/adapter-tests, which depends on core; aliasing
// both to source lets core run it without a package-graph cycle or a prior build.
export default defineConfig({
  resolve: {
    alias: {
      "@queueflow/core": fileURLToPath(new URL("./src/index.ts", import.meta.url)),
      "@queueflow/adapter-tests": fileURLToPath(
        new URL("../adapter-tests/src/index.ts", import.meta.url),
      ),
    },
  },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
