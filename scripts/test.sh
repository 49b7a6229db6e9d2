#!/usr/bin/env bash
# Runs every test, from any state (a fresh clone with only Node and npm included): bootstraps
# (pinned pnpm, dependencies, build) and runs each package's vitest through turbo, with the
# servers the tests need, once per tested Node.js major (20, 22 and 24; scripts/node.sh
# installs the ones the machine lacks into .tools/). Then, on Node 24, the Redis adapter's suite
# again on ioredis 6 and the MongoDB adapter's on mongodb 7, the majors its devDependencies
# (ioredis 5, mongodb 6) leave out (scripts/with-client.sh). Closes with one line
# `N passed, N failed` summed over all these runs (scripts/test-summary.mjs). Exits non-zero if
# anything failed or no test ran.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

stop_services() { scripts/services.sh down || echo "test.sh: stopping the servers failed" >&2; }

# If a step fails before the total (set-up, or a tally that could not be written), stop what
# was started and still close with an honest line.
totalled=false
finish() {
  local status=$?
  if [[ $totalled == false ]]; then
    stop_services
    if [[ $status != 0 ]]; then
      echo "test.sh: failed before the closing total (exit $status)" >&2
      echo "0 passed, 1 failed"
    fi
  fi
}
trap finish EXIT

# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

# Node 20 left maintenance in April 2026 but `engines` still admits it, so it stays tested
# beside the maintained LTS lines. Fetched before the servers start: a failed download is a
# set-up failure, not a run that silently did not happen.
node_majors=(20 22 24)
declare -A node_bin
for major in "${node_majors[@]}"; do node_bin[$major]="$(scripts/node.sh "$major")"; done

# Runs a command with Node $1 as the `node` on PATH: vitest's bin starts on it, and its workers
# and the processes the tests fork (process.execPath) follow. The machine's node is already
# first on PATH, and putting its directory (e.g. /usr/bin) in front would shadow the pinned pnpm.
with_node() {
  local bin="${node_bin[$1]}"
  shift
  if [[ $bin == "$(command -v node)" ]]; then
    "$@"
  else
    PATH="$(dirname "$bin"):$PATH" "$@"
  fi
}

# Usage: run_tests LABEL NODE-MAJOR PACKAGE|"" [WRAPPER...]
# One run of the test tasks (of PACKAGE, or of every package), through WRAPPER when given
# (a command that runs its arguments), then its tally under LABEL. Each run gets servers of
# its own (those services.sh starts; a URL set by the caller is used by every run): the Mongo
# test server keeps every job in memory and scans them all in a sorted claim, so the jobs of
# earlier runs slowed the later ones until the fault scenario missed its deadlines. Its URLs
# are set in a subshell, so that the next `up` starts servers again instead of reusing them.
# bootstrap built everything, so --only runs just the test tasks; the extra arguments go to
# each package's `vitest run`, which writes <package>/.vitest/results.json for the summary.
# Four packages at a time, not turbo's ten: on a 2-core machine ten suites of real servers and
# child processes starved each other past their deadlines under load.
run_tests() {
  local label="$1" major="$2" package="$3" status=0 services_env
  shift 3
  services_env="$(scripts/services.sh up)"
  (
    eval "$services_env"
    with_node "$major" "$@" pnpm turbo run test --only --continue --concurrency=4 \
      ${package:+"--filter=$package"} -- \
      --reporter=default --reporter=json --outputFile.json=.vitest/results.json
  ) || status=$?
  stop_services
  with_node "$major" node scripts/test-summary.mjs --run "$label" "$status" ${package:+"$package"}
}

# The version of a package's dependency $2 as installed, e.g. an alias devDependency.
installed_version() { node -p 'require(require("node:path").resolve(process.argv[1])).version' "$1/node_modules/$2/package.json"; }

node scripts/test-summary.mjs --clean
for major in "${node_majors[@]}"; do
  run_tests "Node $(with_node "$major" node --version)" "$major" ""
done
clients_node="Node $(with_node 24 node --version)"
run_tests "$clients_node, ioredis $(installed_version packages/redis ioredis6)" 24 \
  @queueflow/redis scripts/with-client.sh packages/redis ioredis ioredis6
run_tests "$clients_node, mongodb $(installed_version packages/mongo mongodb7)" 24 \
  @queueflow/mongo scripts/with-client.sh packages/mongo mongodb mongodb7
totalled=true
node scripts/test-summary.mjs --total
