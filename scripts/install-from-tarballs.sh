#!/usr/bin/env bash
# What a user meets first, tested as they meet it: every published package packed with
# `pnpm pack` and installed with npm into a fresh project outside the workspace, beside the
# store clients' current majors, then
#   - `npm ls` must be clean (no invalid or missing peers);
#   - the packed READMEs must not link relatively outside their package (404s on npmjs.com);
#   - every README example (fenced blocks tagged `example=<file>`, extracted from the READMEs
#     npm unpacked, so docs and test cannot drift) runs as written: .mjs and .cjs with node,
#     .ts with tsx, and each .ts type-checks under moduleResolution node16 and bundler;
#   - a job added through require() runs on a Worker from import (the two builds share one
#     default store);
#   - the same adapter examples with the previous client majors (ioredis 5, mongodb 6);
#   - examples/custom-adapter, a third-party adapter, passes the packed conformance suite,
#     and a planted fault fails it at the suite's source lines (its map ships its sources).
# Starts Redis, PostgreSQL and the MongoDB test server (scripts/servers/) unless their URL
# variables are set. Logs on stderr; exits non-zero naming what failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'install-test: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

work="$(mktemp -d)"
started=()
cleanup() {
  for server in "${started[@]}"; do bash "$ROOT/scripts/servers/$server.sh" down >&2 || log "stopping $server failed"; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

npm_install() { npm install --no-audit --no-fund --loglevel=error "$@" >&2; }

# npm ls exits non-zero on an invalid, missing or extraneous package; optional peers nobody
# installed are listed as UNMET OPTIONAL and are fine.
npm_ls_clean() {
  local out
  if ! out="$(npm ls --all 2>&1)" || grep -Eq 'invalid|ELSPROBLEMS|UNMET (PEER )?DEPENDENCY' <<<"$out"; then
    printf '%s\n' "$out" | grep -E 'invalid|ELSPROBLEMS|UNMET|missing|npm error' >&2 || true
    fail "npm ls in $1"
  fi
  log "npm ls clean ($1)"
}

started_at=$SECONDS
published=()
for manifest in packages/*/package.json; do
  if [[ "$(node -p 'require(process.argv[1]).private === true' "$ROOT/$manifest")" == false ]]; then
    published+=("$(basename "$(dirname "$manifest")")")
  fi
done
for dir in "${published[@]}"; do
  (cd "packages/$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
tarballs=("$work"/tarballs/*.tgz)
log "packed ${#tarballs[@]} packages: ${published[*]}"
[[ ${#tarballs[@]} == "${#published[@]}" ]] || fail "pnpm pack wrote ${#tarballs[@]} tarballs"

# A server whose URL is already set is the caller's: used, and not stopped here.
for entry in redis:REDIS_URL postgres:DATABASE_URL mongo:MONGO_URL; do
  server="${entry%%:*}" url_var="${entry#*:}"
  if [[ -z ${!url_var:-} ]]; then started+=("$server"); fi
  eval "$(bash "scripts/servers/$server.sh" up)"
done

# The project a user starts from: `npm init -y`, made an ES module so that the TypeScript
# examples' top-level await type-checks under node16 (the .mjs and .cjs files say their kind
# themselves). skipLibCheck, as `tsc --init` writes it: attw and publint check our
# declarations, and ioredis's own (which name untyped `redis-errors`) fail without it.
app="$work/app"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
npm pkg set type=module
cp "$ROOT"/scripts/install-test/tsconfig.*.json .
log "npm install: the tarballs, ioredis 6, pg 8, mongodb 7"
npm_install "${tarballs[@]}" ioredis@6 pg@8 mongodb@7 @opentelemetry/api@1 \
  @opentelemetry/sdk-trace-base@2 @opentelemetry/sdk-metrics@2 \
  typescript@5 tsx@4 @types/node@20 @types/pg@8
npm_ls_clean "current majors"

packages=()
for dir in "${published[@]}"; do packages+=("node_modules/@queueflow/$dir"); done
node "$ROOT/scripts/install-test/readme-links.mjs" "${packages[@]}" ||
  fail "a packed README links outside its package; use an absolute GitHub URL"
log "packed READMEs link only inside their packages"

# adapter-tests documents its suite through examples/custom-adapter, run below.
sources=("root=$ROOT/README.md")
for dir in "${published[@]}"; do
  if [[ $dir != adapter-tests ]]; then sources+=("$dir=node_modules/@queueflow/$dir/README.md"); fi
done
mapfile -t examples < <(node "$ROOT/scripts/readme-examples.mjs" . "${sources[@]}")
log "extracted ${#examples[@]} README examples"

failed=()
# Runs one example; it must exit 0 by itself (a worker left open would hang until timeout).
run_example() {
  local file="$1" started_ms=$SECONDS
  local runner=(node)
  if [[ $file == *.ts ]]; then runner=(node_modules/.bin/tsx); fi
  if timeout 60 "${runner[@]}" "$file" >"$work/out.txt" 2>&1; then
    log "ran $(basename "$file") ($((SECONDS - started_ms)) s)"
  else
    sed 's/^/    /' "$work/out.txt" | tail -20 >&2
    failed+=("$(basename "$file")")
    log "example $(basename "$file") failed"
  fi
}

# The MongoDB test server speaks wire version 8 (MongoDB 4.2), below mongodb 7's minimum
# (9, MongoDB 4.4): its examples run with mongodb 6 below, and type-check here against 7.
for file in "${examples[@]}"; do
  if [[ $(basename "$file") != mongo-* ]]; then run_example "$file"; fi
done
for config in node16 bundler; do
  if node_modules/.bin/tsc -p "tsconfig.$config.json" >"$work/tsc.txt" 2>&1; then
    log "the TypeScript examples type-check (moduleResolution $config)"
  else
    sed 's/^/    /' "$work/tsc.txt" >&2
    failed+=("tsc $config")
  fi
done

cp "$ROOT/scripts/install-test/dual-package.mjs" .
node dual-package.mjs >&2 || failed+=("dual-package")

log "npm install: ioredis 5, mongodb 6"
npm_install ioredis@5 mongodb@6
npm_ls_clean "previous majors"
for file in "${examples[@]}"; do
  case "$(basename "$file")" in redis-* | mongo-*) run_example "$file" ;; esac
done

if [[ ${#failed[@]} -gt 0 ]]; then fail "${failed[*]}"; fi

# A third-party adapter in its own package: the packed core and conformance suite, as its
# author would install them from npm.
adapter="$work/custom-adapter"
cp -r "$ROOT/examples/custom-adapter" "$adapter"
rm -rf "$adapter/node_modules" "$adapter/package-lock.json"
cd "$adapter"
log "examples/custom-adapter: npm install, typecheck, conformance suite"
npm_install "$work"/tarballs/queueflow-core-*.tgz "$work"/tarballs/queueflow-adapter-tests-*.tgz
npm_ls_clean "examples/custom-adapter"
node_modules/.bin/tsc --noEmit >&2 || fail "examples/custom-adapter typecheck"
node_modules/.bin/vitest run >&2 || fail "examples/custom-adapter conformance suite"

# A failing suite names the suite's own source line, not its bundle: the package ships its
# source map with the sources inside. A planted fault (claims that return one job at most)
# must fail, and each failure must point into adapter-tests/src/.
mkdir -p planted
cat >planted/one-at-a-time.test.js <<'PLANTED'
import { claimTests } from "@queueflow/adapter-tests";
import { MemoryAdapter } from "@queueflow/core";

class OneAtATime extends MemoryAdapter {
  claim(request) {
    return super.claim({ ...request, limit: Math.min(request.limit, 1) });
  }
}
claimTests({
  name: "one at a time",
  capabilities: { wakeUp: true, transactions: false },
  create: () => new OneAtATime(),
});
PLANTED
if planted="$(NO_COLOR=1 node_modules/.bin/vitest run --root planted 2>&1)"; then
  fail "the conformance suite passed an adapter whose claims return one job at most"
fi
locations="$(grep -Eo '❯ [^ ]*@queueflow/adapter-tests/[^ :]+' <<<"$planted" | sort -u || true)"
if [[ -z $locations ]] || grep -qv '/src/' <<<"$locations"; then
  printf '%s\n' "$planted" | tail -40 >&2
  fail "a failing conformance test does not point at the suite's source: ${locations:-no location}"
fi
log "a planted fault fails the suite at $(tr '\n' ' ' <<<"$locations")"

log "passed in $((SECONDS - started_at)) s"
