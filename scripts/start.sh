#!/usr/bin/env bash
# Runs QueueFlow's main job, from any state (a fresh clone with only Node and npm included):
# bootstraps (pinned pnpm, dependencies, build), then `pnpm start`, which runs the sample apps
# (apps/stack): the API and a worker in one process on the memory store, or as two processes
# sharing the store that QUEUEFLOW_STORE and its URL name. Extra arguments go to it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

exec pnpm start "$@"
