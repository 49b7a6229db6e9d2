import { defineConfig } from "tsup";

export default defineConfig({
  // faults/child is the fault scenario's worker and producer process, which it spawns by path.
  entry: { index: "src/index.ts", "faults/child": "src/faults/child.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  // One file per entry: the scenario finds faults/child.js beside index.js.
  splitting: false,
  // The CommonJS build needs import.meta.url to find faults/child.js.
  shims: true,
  target: "node20",
  external: ["vitest", "@queueflow/core"],
});
