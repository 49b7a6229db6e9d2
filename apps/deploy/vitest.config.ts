import { defineConfig } from "vitest/config";

// No container engine is needed: the tests parse the Compose file, the Kubernetes manifests
// and the Dockerfiles, and check them against what the apps really read and serve.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000 },
});
