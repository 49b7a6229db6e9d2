#!/usr/bin/env bash
# Usage: scripts/servers/redis-cluster.sh up|down   (the contract is in scripts/services.sh)
#   up    REDIS_CLUSTER_NODES set: start nothing, print nothing. Else start (or reuse) a Redis
#         Cluster of three masters on 127.0.0.1:7001-7003 (QF_REDIS_CLUSTER_PORT moves the
#         first port) with data under .data/redis-cluster/, wait until every node reports
#         cluster_state:ok, and print `export REDIS_CLUSTER_NODES=host:port,...`.
#   down  stop the nodes `up` started and delete their data (cluster state included), so the
#         next `up` forms a fresh cluster.
# The @queueflow/redis Cluster conformance test runs against it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="$ROOT/.data/redis-cluster"
FIRST="${QF_REDIS_CLUSTER_PORT:-7001}"
PORTS=("$FIRST" "$((FIRST + 1))" "$((FIRST + 2))")
action="${1:?usage: scripts/servers/redis-cluster.sh up|down}"

log() { printf 'redis-cluster.sh: %s\n' "$*" >&2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cli() {
  local port="$1"
  shift
  redis-cli -h 127.0.0.1 -p "$port" "$@"
}

ping_ok() { cli "$1" ping 2>/dev/null | grep -q PONG; }
node_gone() { ! ping_ok "$1"; }
state_ok() { cli "$1" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }
nodes_list() {
  local out="" port
  for port in "${PORTS[@]}"; do out+="${out:+,}127.0.0.1:$port"; done
  echo "$out"
}

# A node is ours when it answers and serves from our data directory (a pidfile can lag behind
# a daemonizing or exiting server; the directory cannot).
is_ours() {
  [[ "$(cli "$1" config get dir 2>/dev/null | sed -n 2p)" == "$DATA/$1" ]]
}

ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    log "redis-server is not installed. Install it (e.g. 'apt-get install redis-server'), or set REDIS_CLUSTER_NODES."
    exit 1
  fi
  log "installing redis-server with apt-get"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
}

wait_for() {
  local what="$1" check="$2" port="$3"
  if ! wait_until 200 0.1 "$check" "$port"; then
    log "node $port: $what not reached within 20 s; see $DATA/$port/redis.log"
    exit 1
  fi
}

up() {
  if [[ -n ${REDIS_CLUSTER_NODES:-} ]]; then return 0; fi
  ensure_installed
  local port
  for port in "${PORTS[@]}"; do
    if ping_ok "$port"; then
      if is_ours "$port"; then continue; fi
      log "port $port answers PING but is not ours; set QF_REDIS_CLUSTER_PORT or REDIS_CLUSTER_NODES"
      exit 1
    fi
    mkdir -p "$DATA/$port"
    # Loopback only. appendonly as in redis.sh; nodes.conf keeps the cluster's shape.
    redis-server --bind 127.0.0.1 --port "$port" --daemonize yes \
      --dir "$DATA/$port" --pidfile "$DATA/$port/redis.pid" --logfile "$DATA/$port/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --appendonly yes --appendfsync everysec --save '' >&2
    wait_for PING ping_ok "$port"
  done
  if ! state_ok "${PORTS[0]}"; then
    local known
    known="$(cli "${PORTS[0]}" cluster info | grep -o 'cluster_known_nodes:[0-9]*' | cut -d: -f2)"
    if [[ ${known:-1} == 1 ]]; then
      log "creating the cluster on $(nodes_list)"
      redis-cli --cluster create "${PORTS[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >&2
    fi
  fi
  for port in "${PORTS[@]}"; do wait_for cluster_state:ok state_ok "$port"; done
  log "cluster ready on $(nodes_list)"
  echo "export REDIS_CLUSTER_NODES=$(nodes_list)"
}

down() {
  local port stopped=false
  for port in "${PORTS[@]}"; do
    ping_ok "$port" && is_ours "$port" || continue
    cli "$port" shutdown nosave >/dev/null 2>&1 || true
    if ! wait_until 100 0.1 node_gone "$port"; then
      log "node $port did not stop within 10 s"
      exit 1
    fi
    stopped=true
  done
  rm -rf "$DATA"
  if [[ $stopped == true ]]; then log "stopped the cluster on $(nodes_list)"; fi
}

case "$action" in
  up) up ;;
  down) down ;;
  *)
    log "unknown action '$action' (use up or down)"
    exit 2
    ;;
esac
