#!/usr/bin/env node
// Sums the vitest JSON reports that scripts/test.sh has each workspace package write to
// <package>/.vitest/results.json, and closes with the one line CI reads: `N passed, N failed`.
//
//   node scripts/test-summary.mjs --clean            delete the reports of an earlier run
//   node scripts/test-summary.mjs [runner-status]    print the totals; exit 1 if anything
//                                                    failed or no test ran
//
// What counts as a failure, so that nothing broken can pass unseen:
// - each failed test;
// - each test file that failed without a failed test (it did not load, or a hook threw);
// - a report that says the run failed with none of the above (e.g. no test files found);
// - a package with a `test` script and no report (its tests did not run, or vitest crashed);
// - a non-zero runner-status (turbo's exit code) when nothing else was counted as failed
//   (e.g. an unhandled error, which vitest's JSON report does not record).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { join, relative } from "node:path";

const root = realpathSync(join(import.meta.dirname, ".."));
const reportPath = (dir) => join(dir, ".vitest", "results.json");

// Every workspace package except the root, as pnpm itself resolves pnpm-workspace.yaml.
const packages = JSON.parse(
  execFileSync("pnpm", ["ls", "--recursive", "--depth", "-1", "--json"], {
    cwd: root,
    encoding: "utf8",
  }),
).filter((p) => p.path !== root);

if (process.argv[2] === "--clean") {
  for (const p of packages) rmSync(join(p.path, ".vitest"), { recursive: true, force: true });
  process.exit(0);
}

const firstLine = (text) => (text ? `: ${String(text).split("\n")[0].slice(0, 300)}` : "");

const runnerStatus = Number(process.argv[2] ?? 0);
let passed = 0;
let failed = 0;

for (const p of packages) {
  const manifest = JSON.parse(readFileSync(join(p.path, "package.json"), "utf8"));
  if (!manifest.scripts?.test) continue;
  const where = relative(root, p.path);
  const file = reportPath(p.path);
  if (!existsSync(file)) {
    failed += 1;
    console.log(`${p.name} (${where}): no test report, counted as 1 failed`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  const brokenFiles = report.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  );
  const notes = [];
  let pkgFailed = report.numFailedTests + brokenFiles.length;
  if (!report.success && pkgFailed === 0) {
    pkgFailed = 1;
    notes.push("vitest reported a failure outside any test, e.g. no test files");
  }
  passed += report.numPassedTests;
  failed += pkgFailed;
  if (report.numPendingTests + report.numTodoTests > 0) {
    notes.push(`${report.numPendingTests + report.numTodoTests} skipped`);
  }
  for (const f of brokenFiles) notes.push(`${relative(p.path, f.name)} failed to run`);
  console.log(
    `${p.name} (${where}): ${report.numPassedTests} passed, ${pkgFailed} failed` +
      (notes.length ? ` (${notes.join("; ")})` : ""),
  );
  // CI keeps only the tail of the log: name each failure here, with the first line of its error.
  for (const f of report.testResults) {
    for (const a of f.assertionResults.filter((r) => r.status === "failed")) {
      const reason = firstLine(a.failureMessages?.[0]);
      console.log(`  failed: ${relative(p.path, f.name)} > ${a.fullName}${reason}`);
    }
  }
  for (const f of brokenFiles)
    console.log(`  broken: ${relative(p.path, f.name)}${firstLine(f.message)}`);
}

if (runnerStatus !== 0 && failed === 0) {
  failed = 1;
  console.log(`the test runner exited ${runnerStatus}: counted as 1 failed`);
}
if (passed + failed === 0) console.log("no test ran");
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
