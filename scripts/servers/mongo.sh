#!/usr/bin/env bash
# Usage: scripts/servers/mongo.sh up|down   (the contract is in scripts/services.sh)
#   up    MONGO_URL set: use that server, start nothing, print nothing. Else build (once,
#         cached under .data/mongo/) and start two mongo-java-server processes on loopback:
#           127.0.0.1:$QF_MONGO_PORT (default 27117) with its oplog on, so change streams
#             work (the adapter's wake-up path)      -> export MONGO_URL=...
#           127.0.0.1:$((QF_MONGO_PORT + 1)) without an oplog (the polling path)
#                                                    -> export MONGO_URL_NO_OPLOG=...
#         Each is reused when already running. Waits until both answer a ping. Logs go to
#         stderr and .data/mongo/*.log.
#   down  stop every server `up` started (pidfiles under .data/mongo/).
# There is no MongoDB in Debian or npm; mongo-java-server (de.bwaldvogel, Maven Central) is
# an in-memory server that speaks the wire protocol. packages/mongo/server/ holds its pom.xml
# and a tiny Launcher.java. The first `up` needs Maven Central; later ones run offline.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/packages/mongo/server"
DATA="$ROOT/.data/mongo"
PORT="${QF_MONGO_PORT:-27117}"
PORT_NO_OPLOG="$((PORT + 1))"
DB=queueflow
action="${1:?usage: scripts/servers/mongo.sh up|down}"

log() { printf 'mongo.sh: %s\n' "$*" >&2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fail() {
  log "$*"
  exit 1
}

url_for() { echo "mongodb://127.0.0.1:$1/$DB?directConnection=true"; }

# One isMaster round trip with the driver the adapter uses (mongo-java-server has no `hello`;
# the driver falls back on its own).
ping_ok() {
  (cd "$ROOT/packages/mongo" && node -e '
    const { MongoClient } = require("mongodb");
    const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
    c.db("admin").command({ ping: 1 }).then(() => c.close().then(() => process.exit(0)), () => process.exit(1));
  ' "$(url_for "$1")") >/dev/null 2>&1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  local pidfile="$DATA/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid="$(cat "$pidfile")"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Resolve the classpath and compile the launcher when its sources changed (or on first run).
build() {
  command -v java >/dev/null && command -v javac >/dev/null || fail "java/javac not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless), or set MONGO_URL to a MongoDB server."
  mkdir -p "$DATA"
  local stamp
  stamp="$(cat "$SRC/pom.xml" "$SRC/Launcher.java" | sha256sum | cut -c1-16)"
  if [[ -f $DATA/build.stamp && $(cat "$DATA/build.stamp") == "$stamp" && -f $DATA/classes/Launcher.class ]]; then
    return 0
  fi
  command -v mvn >/dev/null || fail "mvn not found: install Maven 3 (apt-get install maven), or set MONGO_URL."
  log "building the mongo-java-server launcher (first run downloads from Maven Central)"
  local offline=()
  # Offline when the dependencies are already in ~/.m2: no network on later builds.
  if mvn -o -q -f "$SRC/pom.xml" dependency:build-classpath -Dmdep.outputFile="$DATA/classpath.txt" >&2 2>/dev/null; then
    offline=(-o)
  fi
  mvn "${offline[@]}" -q -f "$SRC/pom.xml" dependency:build-classpath -Dmdep.outputFile="$DATA/classpath.txt" >&2 ||
    fail "could not resolve mongo-java-server with Maven; check network access to Maven Central, or set MONGO_URL."
  rm -rf "$DATA/classes"
  mkdir -p "$DATA/classes"
  javac -cp "$(cat "$DATA/classpath.txt")" -d "$DATA/classes" "$SRC/Launcher.java" >&2
  echo "$stamp" >"$DATA/build.stamp"
}

# start NAME PORT [--oplog]
start() {
  local name="$1" port="$2" flag="${3:-}"
  if running_pid "$name" >/dev/null && ping_ok "$port"; then
    log "reusing $name (pid $(cat "$DATA/$name.pid")) on $(url_for "$port")"
    return 0
  fi
  if port_open "$port"; then
    fail "port $port is in use by a process that is not ours (no live $DATA/$name.pid); set QF_MONGO_PORT or MONGO_URL"
  fi
  # Detached from this shell's job control and stdin, so `eval "$(... up)"` returns.
  nohup java -Xss1m -cp "$DATA/classes:$(cat "$DATA/classpath.txt")" Launcher "$port" $flag \
    >"$DATA/$name.log" 2>&1 </dev/null &
  echo $! >"$DATA/$name.pid"
  local tries=0
  until ping_ok "$port"; do
    tries=$((tries + 1))
    if ! kill -0 "$(cat "$DATA/$name.pid")" 2>/dev/null; then
      fail "$name exited while starting; see $DATA/$name.log"
    fi
    if ((tries > 60)); then
      fail "$name did not answer a ping within 30 s; see $DATA/$name.log"
    fi
    sleep 0.5
  done
  log "started $name (pid $(cat "$DATA/$name.pid")) on $(url_for "$port")"
}

up() {
  if [[ -n ${MONGO_URL:-} ]]; then return 0; fi
  build
  start mongo-oplog "$PORT" --oplog
  start mongo-no-oplog "$PORT_NO_OPLOG"
  echo "export MONGO_URL='$(url_for "$PORT")'"
  echo "export MONGO_URL_NO_OPLOG='$(url_for "$PORT_NO_OPLOG")'"
}

stop() {
  local name="$1" pid
  if ! pid="$(running_pid "$name")"; then
    rm -f "$DATA/$name.pid"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  stop_pid "$pid" "$name"
  rm -f "$DATA/$name.pid"
  log "stopped $name (pid $pid)"
}

down() {
  stop mongo-oplog
  stop mongo-no-oplog
}

case "$action" in
  up) up ;;
  down) down ;;
  *)
    log "unknown action '$action' (use up or down)"
    exit 2
    ;;
esac
