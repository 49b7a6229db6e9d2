import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const builds = ["../dist/index.js", "../dist/index.cjs"].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);

// One process loads both builds by the package's own name, as an app does when it imports
// @queueflow/core while a CommonJS dependency of it requires the package: Node resolves the
// `import` and `require` conditions to two files, two module instances with two of every
// class. Run from the package directory, the name resolves to this package (self-reference).
const script = `
  import { createRequire } from "node:module";
  import { join } from "node:path";
  const cjs = createRequire(join(process.cwd(), "app.cjs"))("@queueflow/core");
  const esm = await import("@queueflow/core");
  console.log(cjs.Queue === esm.Queue ? "one build" : "two builds");
  console.log(cjs.defaultAdapter() === esm.defaultAdapter() ? "one store" : "two stores");
  const ran = [];
  const workers = [];
  let finished = false;
  const giveUp = setTimeout(() => {
    console.log("ran only: " + ran.join(", "));
    process.exit(2);
  }, 5000);
  const done = async () => {
    if (ran.length < 2 || finished) return;
    finished = true;
    clearTimeout(giveUp);
    await Promise.all(workers.map((w) => w.close()));
    console.log(ran.sort().join("\\n"));
  };
  await new cjs.Queue("added-by-cjs").add("job", {});
  await new esm.Queue("added-by-esm").add("job", {});
  workers.push(
    new esm.Worker("added-by-cjs", {
      job: () => { ran.push("esm worker ran the job require() added"); setImmediate(done); },
    }),
    new cjs.Worker("added-by-esm", {
      job: () => { ran.push("cjs worker ran the job import added"); setImmediate(done); },
    }),
  );
`;

it("the ESM and CommonJS builds share one default in-memory store", async () => {
  for (const build of builds) {
    expect(existsSync(build), `build the package first (pnpm build): ${build} is missing`).toBe(
      true,
    );
  }
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", script],
    { cwd: packageDir, timeout: 15_000 },
  ).catch((err: { stdout?: string; stderr?: string; code?: unknown }) => {
    throw new Error(`the script failed (${String(err.code)}):\n${err.stdout}${err.stderr}`);
  });
  expect(stdout.trim().split("\n")).toEqual([
    "two builds",
    "one store",
    "cjs worker ran the job import added",
    "esm worker ran the job require() added",
  ]);
});
