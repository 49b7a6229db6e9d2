import { defineConfig } from "tsup";

export default defineConfig({
  // bin.ts is the queueflow-postgres-migrate command (package.json "bin").
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  external: ["pg", "@queueflow/core"],
});
