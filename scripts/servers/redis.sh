#!/usr/bin/env bash
# Usage: scripts/servers/redis.sh up|down   (the contract is in scripts/services.sh)
#   up    REDIS_URL set: start nothing, print nothing. Else start (or reuse) a redis-server on
#         127.0.0.1:$QF_REDIS_PORT (default 6390) with its data under .data/redis/, wait until
#         it answers PING, and print `export REDIS_URL=...` on stdout. Logs go to stderr.
#   down  stop the server `up` started, if any.
# Persistence: appendonly yes (the fsync-per-second AOF the README recommends) and no RDB
# snapshots, so a test run never forks for BGSAVE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="$ROOT/.data/redis"
PORT="${QF_REDIS_PORT:-6390}"
PIDFILE="$DATA/redis.pid"
URL="redis://127.0.0.1:$PORT"
action="${1:?usage: scripts/servers/redis.sh up|down}"

log() { printf 'redis.sh: %s\n' "$*" >&2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ping_ok() { redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; }

running_pid() {
  [[ -f $PIDFILE ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    log "redis-server is not installed. Install it (e.g. 'apt-get install redis-server'), or set REDIS_URL to a Redis 7 server."
    exit 1
  fi
  log "installing redis-server with apt-get"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
}

up() {
  if [[ -n ${REDIS_URL:-} ]]; then return 0; fi
  ensure_installed
  mkdir -p "$DATA"
  if running_pid >/dev/null && ping_ok; then
    log "reusing redis-server (pid $(cat "$PIDFILE")) on $URL"
  else
    if ping_ok; then
      log "port $PORT answers PING but is not ours (no live $PIDFILE); set QF_REDIS_PORT or REDIS_URL"
      exit 1
    fi
    # Loopback only, protected mode on: the test server is never reachable from outside.
    redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes \
      --dir "$DATA" --pidfile "$PIDFILE" --logfile "$DATA/redis.log" \
      --appendonly yes --appendfsync everysec --save '' >&2
    if ! wait_until 100 0.1 ping_ok; then
      log "redis-server did not answer PING within 10 s; see $DATA/redis.log"
      exit 1
    fi
    log "started redis-server $(redis-server --version | awk '{print $3}' | sed 's/^v=//') on $URL"
  fi
  echo "export REDIS_URL=$URL"
}

down() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    return 0
  fi
  # nosave: the AOF already holds the data; this only stops the process.
  redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  stop_pid "$pid" redis-server
  rm -f "$PIDFILE"
  log "stopped redis-server (pid $pid)"
}

case "$action" in
  up) up ;;
  down) down ;;
  *)
    log "unknown action '$action' (use up or down)"
    exit 2
    ;;
esac
