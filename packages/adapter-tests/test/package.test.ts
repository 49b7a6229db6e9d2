import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const manifestPath = fileURLToPath(new URL("../package.json", import.meta.url));
const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
  main?: string;
  exports: unknown;
};

/** Every condition name and target path in an exports map, at any depth. */
function walk(node: unknown, conditions: string[] = [], targets: string[] = []) {
  if (typeof node === "string") targets.push(node);
  else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (!key.startsWith(".")) conditions.push(key);
      walk(value, conditions, targets);
    }
  }
  return { conditions, targets };
}

// Vitest is ESM-only: a CommonJS build of the suite died on its first require("vitest"), so
// the package ships ESM alone, which require() loads on Node 20.19+ (require(esm)).
describe("the package is ESM-only", () => {
  it("has no require condition and no CommonJS file in its exports or main", () => {
    const { conditions, targets } = walk(manifest.exports);
    expect(conditions).not.toContain("require");
    expect(targets.filter((t) => /\.c[jt]s$/.test(t))).toEqual([]);
    expect(manifest.main ?? "").not.toMatch(/\.cjs$/);
  });

  it("loads through require() by its name", () => {
    const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    expect(existsSync(built), "build the package first (pnpm build): dist/ is missing").toBe(true);
    const required = createRequire(import.meta.url)("@queueflow/adapter-tests") as Record<
      string,
      unknown
    >;
    expect(typeof required.runAdapterConformance).toBe("function");
  });
});

// groupTests and deadLetterOpsTests ran inside runAdapterConformance but were neither exported
// nor documented, so an adapter author could not run those areas alone or learn what they check.
describe("every contract area is exported and documented", () => {
  const run = readFileSync(fileURLToPath(new URL("../src/run.ts", import.meta.url)), "utf8");
  const areas = [...run.matchAll(/import \{([^}]*)\} from "\.\/[^"]+";/g)]
    .flatMap((m) => (m[1] ?? "").split(","))
    .map((name) => name.trim())
    .filter((name) => name.endsWith("Tests"));
  const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

  it("finds the areas runAdapterConformance runs (the checks below are not vacuous)", () => {
    expect(areas).toContain("claimTests");
  });

  it.each(areas)("exports %s from the package", async (name) => {
    const index = (await import("../src/index.js")) as Record<string, unknown>;
    expect(typeof index[name]).toBe("function");
  });

  it.each(areas)("documents %s in the README's area table", (name) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\|`, "m"));
  });
});
