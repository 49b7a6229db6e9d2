#!/usr/bin/env bash
# Usage: scripts/services.sh up|down
# Starts (or stops) the servers the tests need. Each server has its own script,
# scripts/servers/<server>.sh (Redis, a Redis Cluster, PostgreSQL, the MongoDB-compatible
# test server), called here with the same argument. Its contract:
#   up    if its URL variable (REDIS_URL, DATABASE_URL or MONGO_URL) is already set, use that
#         server and start nothing; else start one on loopback with its data under
#         .data/<server>/, wait until it answers, and print `export VAR=url` on stdout
#         (logs go to stderr).
#   down  stop the server that `up` started, if any.
# test.sh evals what `up` prints, so the URLs reach the tests.
set -euo pipefail
shopt -s nullglob

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
action="${1:?usage: scripts/services.sh up|down}"

for server in "$ROOT"/scripts/servers/*.sh; do
  bash "$server" "$action"
done
