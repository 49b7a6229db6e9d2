import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/adapter.ts"],
  format: ["esm", "cjs"],
  // One copy of shared code in each format, so `@queueflow/core` and `@queueflow/core/adapter`
  // hand out the same classes under require() as under import.
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
