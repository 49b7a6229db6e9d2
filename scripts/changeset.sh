#!/usr/bin/env bash
# Runs the changesets CLI (`changeset add|version|publish|status`, its arguments) on Node 24.
# Changesets 3 needs Node 22.11 or later. Changesets 2 gave every package a major bump when a
# sibling it peers on left its `^0.x` range: a core minor made each adapter 1.0.0.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$(bash "$root/scripts/node.sh" 24)" "$root/node_modules/@changesets/cli/bin.js" "$@"
