import { defineConfig } from "tsup";

// ESM files for the container: the private workspace kit (TypeScript source) is bundled in,
// published dependencies stay in node_modules.
export default defineConfig({
  // pool-child.js is what the process pool forks (AUTOSCALE_MODE=processes), next to main.js.
  entry: ["src/main.ts", "src/pool-child.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  // Dependencies load from node_modules; only the private workspace kit is bundled in.
  skipNodeModulesBundle: true,
  noExternal: [/^@queueflow\/app-/],
});
