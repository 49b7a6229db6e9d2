#!/usr/bin/env bash
# A release, rehearsed against a private registry: in a throwaway clone of HEAD (the real tree
# is untouched), `changeset version` applies the pending changesets plus a throwaway patch
# for @queueflow/core, and `pnpm release` (build, then `changeset publish`) publishes to a
# Verdaccio on loopback, storage in a temp dir, anonymous publish allowed. Then a fresh npm
# project installs every just-published version from it, `npm ls` must be clean (a
# `workspace:` range left in a manifest would not be), and core's README quickstart runs.
# Nothing can reach npmjs.com: the registry is the loopback one, checked before publishing.
# Port: QF_VERDACCIO_PORT, default 4880. Logs on stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'release-rehearsal: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

work="$(mktemp -d)"
verdaccio_pid=""
cleanup() {
  if [[ -n $verdaccio_pid ]]; then kill "$verdaccio_pid" 2>/dev/null || log "Verdaccio had already exited"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

npm_quiet() { npm --no-audit --no-fund --loglevel=error "$@" >&2; }
started_at=$SECONDS

port="${QF_VERDACCIO_PORT:-4880}"
registry="http://127.0.0.1:$port/"
log "installing Verdaccio 6"
npm_quiet install --prefix "$work/verdaccio" verdaccio@6
# No uplink for @queueflow: what the fresh project installs under that scope can only be
# what this rehearsal published. Everything else comes from the usual registry.
cat >"$work/verdaccio.yaml" <<YAML
storage: $work/storage
listen: 127.0.0.1:$port
auth:
  htpasswd:
    file: $work/htpasswd
packages:
  "@queueflow/*":
    access: \$all
    publish: \$anonymous \$authenticated
    unpublish: \$anonymous \$authenticated
log: { type: stdout, format: pretty, level: warn }
YAML
"$work/verdaccio/node_modules/.bin/verdaccio" --config "$work/verdaccio.yaml" >"$work/verdaccio.log" 2>&1 &
verdaccio_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "${registry}-/ping" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$verdaccio_pid" 2>/dev/null; then
    cat "$work/verdaccio.log" >&2
    fail "Verdaccio exited"
  fi
  sleep 0.2
done
curl -fsS "${registry}-/ping" >/dev/null || fail "Verdaccio did not answer on $registry"
log "Verdaccio $("$work/verdaccio/node_modules/.bin/verdaccio" --version) on $registry"

# scripts/changeset.sh runs changesets on Node 24: install it now, from the usual registry
# (the clone's npm will point at the rehearsal registry), and share it with the clone.
bash scripts/node.sh 24 >/dev/null

# npm refuses to publish without a credential; Verdaccio takes this one as anonymous.
printf '//127.0.0.1:%s/:_authToken=rehearsal\n' "$port" >"$work/npmrc"
export NPM_CONFIG_USERCONFIG="$work/npmrc" npm_config_registry="$registry"

git clone --quiet "$ROOT" "$work/repo"
cd "$work/repo"
if [[ -d $ROOT/.tools/node24 ]]; then mkdir -p .tools && ln -s "$ROOT/.tools/node24" .tools/node24; fi
[[ "$(npm config get registry)" == "$registry" ]] || fail "the registry is not $registry"
pnpm install --frozen-lockfile --prefer-offline >&2

published() {
  node -e '
    const { readdirSync, readFileSync } = require("node:fs");
    for (const dir of readdirSync("packages")) {
      const pkg = JSON.parse(readFileSync(`packages/${dir}/package.json`, "utf8"));
      if (pkg.private !== true) console.log(`${pkg.name}@${pkg.version}`);
    }'
}
before="$(published)"
cat >.changeset/release-rehearsal.md <<'CHANGESET'
---
"@queueflow/core": patch
---

Release rehearsal: throwaway changeset.
CHANGESET
log "changeset version"
pnpm changeset version >&2
after="$(published)"
if grep -qx "$(grep '^@queueflow/core@' <<<"$before")" <<<"$after"; then
  fail "changeset version left @queueflow/core at $(grep '^@queueflow/core@' <<<"$before")"
fi
log "versions: $(tr '\n' ' ' <<<"$after")"
# The packages version together (the fixed group), and a minor below 1.0 stays below 1.0:
# changesets 2 made every adapter 1.0.0 when core left their ^0.1.0 peer range.
versions="$(sed 's/.*@//' <<<"$after" | sort -u)"
[[ $(wc -l <<<"$versions") == 1 ]] || fail "the packages got different versions: $(tr '\n' ' ' <<<"$after")"
[[ $versions == 0.* ]] || fail "a release below 1.0 made $versions"

log "pnpm release (build, changeset publish)"
pnpm release >&2
for spec in $after; do
  npm view "$spec" version >/dev/null 2>&1 || fail "$spec is not on the rehearsal registry"
done
log "all $(wc -l <<<"$after") packages are on the rehearsal registry"

# A user's project: @queueflow from the rehearsal registry, the rest from the usual one.
unset npm_config_registry
export NPM_CONFIG_USERCONFIG="$ROOT/.npmrc-absent"
app="$work/app"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
printf '@queueflow:registry=%s\n' "$registry" >.npmrc
mapfile -t specs <<<"$after"
npm_quiet install "${specs[@]}" ioredis@6 pg@8 mongodb@7 @opentelemetry/api@1 vitest@4
if ! out="$(npm ls --all 2>&1)" || grep -Eq 'invalid|UNMET (PEER )?DEPENDENCY' <<<"$out"; then
  printf '%s\n' "$out" | grep -E 'invalid|UNMET|missing|npm error' >&2 || true
  fail "npm ls in the fresh project"
fi
log "npm ls clean in a fresh project with the published versions"

mapfile -t quickstart < <(node "$ROOT/scripts/readme-examples.mjs" . core=node_modules/@queueflow/core/README.md)
for file in "${quickstart[@]}"; do
  case "$file" in
    *.mjs | *.cjs)
      timeout 60 node "$file" >&2 || fail "core's README quickstart $(basename "$file")"
      log "ran core's README quickstart $(basename "$file") from the published package"
      ;;
  esac
done
log "passed in $((SECONDS - started_at)) s"
