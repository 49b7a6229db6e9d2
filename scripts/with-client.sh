#!/usr/bin/env bash
# Usage: scripts/with-client.sh PACKAGE-DIR CLIENT ALIAS COMMAND...
# Runs COMMAND with another major of a package's store client: meanwhile the package's
# node_modules/CLIENT link points where its alias devDependency ALIAS (e.g. `ioredis6`:
# `npm:ioredis@^6.1.0`) points, so whatever resolves CLIENT from the package loads that major:
# its source under vitest, its built dist, the processes its tests fork. Plain Node resolution
# all the way, which a vitest alias would not give the forked processes. The link is put back
# when COMMAND ends or the script is interrupted; `pnpm install` puts it back too.
set -euo pipefail
usage="usage: scripts/with-client.sh PACKAGE-DIR CLIENT ALIAS COMMAND..."
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/${1:?$usage}"
client="${2:?$usage}"
alias="${3:?$usage}"
shift 3
[[ $# -gt 0 ]] || { echo "$usage" >&2; exit 2; }

link="$dir/node_modules/$client"
original="$(readlink "$link")"
stand_in="$(readlink "$dir/node_modules/$alias")"
trap 'ln -sfn "$original" "$link"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ln -sfn "$stand_in" "$link"

# What the package now resolves, not what the link says: the check that the swap took.
resolved="$(cd "$dir" && node -p "require('$client/package.json').version")"
echo "with-client.sh: $client resolves to $resolved in ${dir#"$root/"}" >&2
"$@"
