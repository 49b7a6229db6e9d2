#!/usr/bin/env bash
# Runs its arguments with Node 24, installed on first use from the npm registry's `node`
# package into the repository's git-ignored .tools/node24/. pg-boss 12 and graphile-worker
# 0.18 need Node 22 or later, Sidequest 1.16 Node 22.6, and every library of a run must run on
# the same Node.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
node24="$root/.tools/node24/node_modules/.bin/node"
if [[ ! -x $node24 ]]; then
  echo "bench: installing Node 24 into .tools/node24 (npm install node@24)" >&2
  npm install --prefix "$root/.tools/node24" --no-audit --no-fund --loglevel=error node@24 >&2
fi
exec "$node24" "$@"
