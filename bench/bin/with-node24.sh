#!/usr/bin/env bash
# Runs its arguments with Node 24 (scripts/node.sh: the machine's, or installed on first use
# into .tools/node24/). pg-boss 12 and graphile-worker 0.18 need Node 22 or later, Sidequest
# 1.16 Node 22.6, and every library of a run must run on the same Node.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
node24="$(bash "$root/scripts/node.sh" 24)"
exec "$node24" "$@"
