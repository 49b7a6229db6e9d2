import { defineConfig } from "tsup";

// One ESM file for the container: the private workspace kit (TypeScript source) is bundled in,
// published dependencies stay in node_modules.
export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  // Dependencies load from node_modules; only the private workspace kit is bundled in.
  skipNodeModulesBundle: true,
  noExternal: [/^@queueflow\/app-/],
});
