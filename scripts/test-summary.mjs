#!/usr/bin/env node
// Sums the vitest JSON reports that scripts/test.sh has each workspace package write to
// <package>/.vitest/results.json, run by run (the suite on each Node version, a store
// client's other major), and closes with the one line CI reads: `N passed, N failed`.
//
//   node scripts/test-summary.mjs --clean        delete the reports and tallies of an earlier run
//   node scripts/test-summary.mjs --run LABEL RUNNER-STATUS [PACKAGE...]
//                                                count one run: the reports of PACKAGE... (by
//                                                name; default every package with a `test`
//                                                script), printed under LABEL, then deleted so
//                                                that the next run cannot count them again
//   node scripts/test-summary.mjs --total        print each run's tally and the totals over all
//                                                runs; exit 1 if anything failed or no test ran
//
// What counts as a failure, so that nothing broken can pass unseen:
// - each failed test;
// - each test file that failed without a failed test (it did not load, or a hook threw);
// - a report that says the run failed with none of the above (e.g. no test files found);
// - a package of the run with a `test` script and no report (its tests did not run, or
//   vitest crashed);
// - a non-zero runner-status (the runner's exit code) when nothing else was counted as failed
//   in that run (e.g. an unhandled error, which vitest's JSON report does not record).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const root = realpathSync(join(import.meta.dirname, ".."));
const reportPath = (dir) => join(dir, ".vitest", "results.json");
const tallyPath = join(root, ".vitest", "runs.json");
const readTallies = () =>
  existsSync(tallyPath) ? JSON.parse(readFileSync(tallyPath, "utf8")) : [];

// Every workspace package except the root, as pnpm itself resolves pnpm-workspace.yaml.
const packages = JSON.parse(
  execFileSync("pnpm", ["ls", "--recursive", "--depth", "-1", "--json"], {
    cwd: root,
    encoding: "utf8",
  }),
).filter((p) => p.path !== root);

const [mode, ...args] = process.argv.slice(2);

if (mode === "--clean") {
  for (const p of packages) rmSync(join(p.path, ".vitest"), { recursive: true, force: true });
  rmSync(tallyPath, { force: true });
  process.exit(0);
}

if (mode === "--total") {
  let passed = 0;
  let failed = 0;
  // Each run's failures again: CI keeps only the tail of the log, after the last run's output.
  for (const run of readTallies()) {
    console.log(`${run.label}: ${run.passed} passed, ${run.failed} failed`);
    for (const line of run.failures) console.log(line);
    passed += run.passed;
    failed += run.failed;
  }
  if (passed + failed === 0) console.log("no test ran");
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

if (mode !== "--run" || args.length < 2) {
  console.error(
    "usage: test-summary.mjs --clean | --run LABEL RUNNER-STATUS [PACKAGE...] | --total",
  );
  process.exit(2);
}
const [label, status, ...only] = args;
const unknown = only.filter((name) => !packages.some((p) => p.name === name));
if (unknown.length > 0) {
  console.error(`test-summary.mjs: no workspace package ${unknown.join(", ")}`);
  process.exit(2);
}

const firstLine = (text) => (text ? `: ${String(text).split("\n")[0].slice(0, 300)}` : "");

const runnerStatus = Number(status);
let passed = 0;
let failed = 0;
const failures = [];
const fail = (line) => {
  failures.push(line);
  console.log(line);
};

console.log(`${label}:`);
for (const p of packages.filter((p) => only.length === 0 || only.includes(p.name))) {
  const manifest = JSON.parse(readFileSync(join(p.path, "package.json"), "utf8"));
  if (!manifest.scripts?.test) continue;
  const where = relative(root, p.path);
  const file = reportPath(p.path);
  if (!existsSync(file)) {
    failed += 1;
    fail(`  ${p.name} (${where}): no test report, counted as 1 failed`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  rmSync(file);
  const brokenFiles = report.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  );
  const notes = [];
  const outsideTests = !report.success && report.numFailedTests + brokenFiles.length === 0;
  const pkgFailed = report.numFailedTests + brokenFiles.length + (outsideTests ? 1 : 0);
  passed += report.numPassedTests;
  failed += pkgFailed;
  if (report.numPendingTests + report.numTodoTests > 0) {
    notes.push(`${report.numPendingTests + report.numTodoTests} skipped`);
  }
  console.log(
    `  ${p.name} (${where}): ${report.numPassedTests} passed, ${pkgFailed} failed` +
      (notes.length ? ` (${notes.join("; ")})` : ""),
  );
  // CI keeps only the tail of the log: name each failure, with the first line of its error.
  for (const f of report.testResults) {
    for (const a of f.assertionResults.filter((r) => r.status === "failed")) {
      const reason = firstLine(a.failureMessages?.[0]);
      fail(`    failed: ${where}/${relative(p.path, f.name)} > ${a.fullName}${reason}`);
    }
  }
  for (const f of brokenFiles)
    fail(`    broken: ${where}/${relative(p.path, f.name)}${firstLine(f.message)}`);
  if (outsideTests)
    fail(`    ${where}: vitest reported a failure outside any test, e.g. no test files`);
}

if (runnerStatus !== 0 && failed === 0) {
  failed = 1;
  fail(`  the test runner exited ${runnerStatus}: counted as 1 failed`);
}
console.log(`${label}: ${passed} passed, ${failed} failed`);
mkdirSync(dirname(tallyPath), { recursive: true });
writeFileSync(tallyPath, JSON.stringify([...readTallies(), { label, passed, failed, failures }]));
