import { defineConfig } from "tsup";

export default defineConfig({
  // faults/child is the fault scenario's worker and producer process, which it spawns by path.
  entry: { index: "src/index.ts", "faults/child": "src/faults/child.ts" },
  // ESM only: vitest, which the suite imports, cannot be required, so a CommonJS build could
  // never load. Node 20.19+ loads this one through require() too (require(esm)).
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  // One file per entry: the scenario finds faults/child.js beside index.js.
  splitting: false,
  target: "node20",
  external: ["vitest", "@queueflow/core"],
});
