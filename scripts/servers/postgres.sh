#!/usr/bin/env bash
# Usage: scripts/servers/postgres.sh up|down   (see scripts/services.sh for the contract)
#
# up    DATABASE_URL set: use that server, start nothing, print nothing. Otherwise run a
#       throwaway PostgreSQL cluster on 127.0.0.1:5433 (5432 is left to a system server)
#       with its files in .data/postgres/, and print `export DATABASE_URL=...`.
#       QUEUEFLOW_PG_PORT picks another port.
#       Reuses the cluster when it already runs.
# down  stop that cluster, if it runs.
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged
# system user (`queueflow`, created when missing). Auth is `trust`, for 127.0.0.1 and the
# cluster's own socket directory only: it is a test server. Durability keeps PostgreSQL's
# defaults (fsync on, synchronous_commit on), the settings the adapters' guarantees are
# stated for: with synchronous_commit=off a crash of the server alone (kill -9, OOM, `pg_ctl
# stop -m immediate`) loses acknowledged adds, which the fault tests would then report.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
action="${1:?usage: scripts/servers/postgres.sh up|down}"

PORT="${QUEUEFLOW_PG_PORT:-5433}"
DB=queueflow
PG_USER=queueflow
DATA="$ROOT/.data/postgres"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fail() {
  log "$*"
  exit 1
}

# Newest installed major version, e.g. /usr/lib/postgresql/15/bin.
find_bin() {
  local dir best="" best_major=0 major
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] || continue
    major="$(basename "$(dirname "$dir")")"
    major="${major%%.*}"
    [[ $major =~ ^[0-9]+$ ]] || continue
    if ((major > best_major)); then
      best_major=$major
      best=$dir
    fi
  done
  printf '%s' "$best"
}

# Run a command as the cluster's owner: ourselves, unless we are root.
as_owner() {
  if [[ $(id -u) == 0 ]]; then
    # From /, since the owner may not be allowed into the caller's working directory.
    (cd / && runuser -u "$PG_USER" -- "$@")
  else
    "$@"
  fi
}

pg_running() {
  [[ -f $DATA/cluster/PG_VERSION ]] && as_owner "$BIN/pg_ctl" -D "$DATA/cluster" status >/dev/null 2>&1
}

ensure_user() {
  [[ $(id -u) == 0 ]] || {
    PG_USER="$(id -un)"
    return
  }
  if ! id -u "$PG_USER" >/dev/null 2>&1; then
    log "creating system user $PG_USER (PostgreSQL will not run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
}

# The owner must reach $DATA. A checkout under a private directory (e.g. /root/...) is not
# traversable by other users; then the cluster lives in a private temporary directory
# instead and .data/postgres links to it, so the repository's permissions stay untouched.
ensure_data_dir() {
  mkdir -p "$ROOT/.data"
  if [[ -L $DATA && ! -d $DATA/ ]]; then rm -f "$DATA"; fi
  if [[ -L $DATA ]]; then
    DATA="$(readlink -f "$DATA")"
  else
    mkdir -p "$DATA"
    if [[ $(id -u) == 0 ]]; then
      chown "$PG_USER:" "$DATA"
      if ! runuser -u "$PG_USER" -- test -w "$DATA/"; then
        local tmp
        tmp="$(mktemp -d "${TMPDIR:-/tmp}/queueflow-postgres.XXXXXX")"
        chown "$PG_USER:" "$tmp"
        chmod 700 "$tmp"
        rm -rf "$DATA"
        ln -s "$tmp" "$DATA"
        DATA="$tmp"
        log "$PG_USER cannot reach $ROOT; cluster files go to $tmp (linked from .data/postgres)"
      fi
    fi
  fi
  as_owner mkdir -p "$DATA/run"
}

up() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    log "DATABASE_URL is set: using that server"
    return
  fi
  BIN="$(find_bin)"
  if [[ -z $BIN ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      log "no PostgreSQL found: installing it with apt-get"
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      BIN="$(find_bin)"
    fi
    [[ -n $BIN ]] || fail "no PostgreSQL binaries in /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL to a server of yours."
  fi
  ensure_user
  ensure_data_dir

  if ! pg_running; then
    if [[ ! -f $DATA/cluster/PG_VERSION ]]; then
      log "initdb in $DATA/cluster ($("$BIN/postgres" --version))"
      as_owner rm -rf "$DATA/cluster"
      as_owner "$BIN/initdb" -D "$DATA/cluster" -U "$PG_USER" --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$DATA/initdb.log" 2>&1 ||
        as_owner "$BIN/initdb" -D "$DATA/cluster" -U "$PG_USER" --auth=trust \
          --encoding=UTF8 --no-locale >"$DATA/initdb.log" 2>&1 ||
        fail "initdb failed; see $DATA/initdb.log"
      # Only the socket directory and 127.0.0.1 may connect, without a password.
      as_owner tee "$DATA/cluster/pg_hba.conf" >/dev/null <<'HBA'
local all all trust
host  all all 127.0.0.1/32 trust
HBA
      as_owner tee -a "$DATA/cluster/postgresql.conf" >/dev/null <<CONF
# scripts/servers/postgres.sh: a local test server
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA/run'
max_connections = 300
CONF
    fi
    log "starting PostgreSQL on 127.0.0.1:$PORT"
    # On the command line, to win over a postgresql.conf made earlier: the port (a cluster
    # keeps the one it was made with, and QUEUEFLOW_PG_PORT must win) and durability (clusters
    # made before had synchronous_commit = off).
    as_owner "$BIN/pg_ctl" -D "$DATA/cluster" -l "$DATA/server.log" \
      -o "-p $PORT -c synchronous_commit=on" -w -t 60 start >&2 ||
      fail "pg_ctl start failed; see $DATA/server.log (is port $PORT taken?)"
  else
    log "reusing the running cluster in $DATA/cluster"
  fi

  wait_until 120 0.5 "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" ||
    fail "PostgreSQL did not answer on 127.0.0.1:$PORT within 60 s; see $DATA/server.log"

  if [[ -z "$("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -d postgres -Atqc \
    "select 1 from pg_database where datname = '$DB'")" ]]; then
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U "$PG_USER" "$DB"
  fi
  echo "export DATABASE_URL=postgres://$PG_USER@127.0.0.1:$PORT/$DB"
}

down() {
  BIN="$(find_bin)"
  if [[ -L $DATA ]]; then DATA="$(readlink -f "$DATA")"; fi
  [[ -n $BIN && -f $DATA/cluster/PG_VERSION ]] || return 0
  if [[ $(id -u) == 0 ]]; then
    id -u "$PG_USER" >/dev/null 2>&1 || return 0
  else
    PG_USER="$(id -un)"
  fi
  if pg_running; then
    log "stopping PostgreSQL in $DATA/cluster"
    as_owner "$BIN/pg_ctl" -D "$DATA/cluster" -m fast -w stop >&2
  fi
}

case "$action" in
  up) up ;;
  down) down ;;
  *) fail "unknown action $action: use up or down" ;;
esac
