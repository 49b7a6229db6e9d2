// Runs every strategy on the built-in workloads, prints a table per workload and writes an
// SVG chart per workload to ../simulation/. Usage: tsx scripts/simulate.ts [shape|all] [--seed N]
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatTable, renderSvg, runScenario, SCENARIOS } from "../src/index.js";

const args = process.argv.slice(2);
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 42;
const which = args.find((a, i) => !a.startsWith("--") && (seedAt < 0 || i !== seedAt + 1)) ?? "all";
const names = which === "all" ? Object.keys(SCENARIOS) : [which];
const outDir = fileURLToPath(new URL("../simulation/", import.meta.url));
mkdirSync(outDir, { recursive: true });

for (const name of names) {
  const scenario = SCENARIOS[name as keyof typeof SCENARIOS];
  if (!scenario) {
    console.error(
      `Unknown shape "${name}"; use one of ${Object.keys(SCENARIOS).join(", ")} or all.`,
    );
    process.exit(2);
  }
  const results = runScenario(scenario, seed);
  console.log(`\n### ${name} (seed ${seed}, SLO wait ${scenario.sloWaitMs / 1000} s)\n`);
  console.log(formatTable(results));
  const file = `${outDir}${name}.svg`;
  writeFileSync(file, renderSvg(`${name} (seed ${seed})`, results));
  console.log(`\nchart: ${file}`);
}
