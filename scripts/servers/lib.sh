# shellcheck shell=bash
# Helpers the server scripts share (sourced, never run). Each script defines log() first.

# wait_until <tries> <interval s> <command> [args...]: run the command every interval until
# it succeeds; return 1 after <tries> failures. Callers say what timed out, and where to look.
wait_until() {
  local tries="$1" interval="$2" i
  shift 2
  for ((i = 0; i < tries; i++)); do
    "$@" && return 0
    sleep "$interval"
  done
  return 1
}

# stop_pid <pid> <name>: wait up to 10 s for a process already asked to stop, then SIGKILL.
stop_pid() {
  local pid="$1" name="$2"
  if ! wait_until 100 0.1 pid_gone "$pid"; then
    log "$name (pid $pid) did not stop within 10 s; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }
