#!/usr/bin/env bash
# Runs every test, from any state (a fresh clone with only Node and npm included): bootstraps
# (pinned pnpm, dependencies, build), starts the servers the tests need, runs each package's
# vitest through turbo, and closes with one line `N passed, N failed` summed over all packages
# (scripts/test-summary.mjs). Exits non-zero if anything failed or no test ran.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

stop_services() { scripts/services.sh down || echo "test.sh: stopping the servers failed" >&2; }

# If a set-up step fails, stop what was started and still close with an honest line.
tests_ran=false
finish() {
  local status=$?
  if [[ $tests_ran == false ]]; then
    stop_services
    if [[ $status != 0 ]]; then
      echo "test.sh: set-up failed (exit $status), no test ran" >&2
      echo "0 passed, 1 failed"
    fi
  fi
}
trap finish EXIT

# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

services_env="$(scripts/services.sh up)"
eval "$services_env"

# bootstrap built everything, so --only runs just the test tasks; the extra arguments go to
# each package's `vitest run`, which writes <package>/.vitest/results.json for the summary.
# Four packages at a time, not turbo's ten: on a 2-core machine ten suites of real servers
# and child processes starved each other past their deadlines under load.
node scripts/test-summary.mjs --clean
status=0
pnpm turbo run test --only --continue --concurrency=4 -- \
  --reporter=default --reporter=json --outputFile.json=.vitest/results.json || status=$?
tests_ran=true
stop_services
node scripts/test-summary.mjs "$status"
