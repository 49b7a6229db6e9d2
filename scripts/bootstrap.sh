#!/usr/bin/env bash
# Brings a checkout to a built state: the pinned pnpm, the dependencies, `pnpm build`.
# Needs only Node and npm. Idempotent and quick when already done. Logs on stderr.
# Source it (as start.sh, test.sh and .ci/run do) to keep the pinned pnpm on PATH; run it
# directly to just set up.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bootstrap_log() { printf 'bootstrap: %s\n' "$*" >&2; }

# packageManager is "pnpm@X.Y.Z", possibly followed by "+sha512.…".
PNPM_VERSION="$(node -p 'require(process.argv[1]).packageManager.replace(/^pnpm@/, "").split("+")[0]' "$ROOT/package.json")"

# A pnpm installed earlier by this script wins over whatever the machine has.
if [[ -x "$ROOT/.tools/node_modules/.bin/pnpm" ]]; then
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
fi
if [[ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]]; then
  # No root needed: npm installs into the checkout's git-ignored .tools/.
  bootstrap_log "installing pnpm@$PNPM_VERSION into .tools/"
  npm install --prefix "$ROOT/.tools" --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
fi
bootstrap_log "pnpm $(pnpm --version) at $(command -v pnpm)"

cd "$ROOT"
if [[ -f pnpm-lock.yaml ]]; then
  bootstrap_log "pnpm install --frozen-lockfile"
  pnpm install --frozen-lockfile >&2
else
  bootstrap_log "pnpm install (no pnpm-lock.yaml yet)"
  pnpm install >&2
fi
bootstrap_log "pnpm build"
pnpm build --output-logs=new-only >&2
