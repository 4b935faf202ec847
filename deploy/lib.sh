# Shared by the deploy/ scripts: where things are, running as the postgres user, waiting, stopping.
# shellcheck shell=bash
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY="$REPO/deploy"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# The project's pinned Node.js (the npm package node@24), not whatever node is first on PATH.
# (Not $NODE: npm sets that to the Node.js running npm itself.)
CAREID_NODE=${CAREID_NODE:-$REPO/node_modules/.bin/node}

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A directory the postgres user owns (created if missing), mode 0700 as PostgreSQL requires.
postgres_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$1"; fi
  chmod 700 "$1"
}

# wait_for SECONDS DESCRIPTION COMMAND...: runs COMMAND every half second until it succeeds;
# exit status 2 from COMMAND means it never will.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds)) status
  while :; do
    status=0
    "$@" >/dev/null 2>&1 || status=$?
    [ "$status" -ne 0 ] || return 0
    [ "$status" -ne 2 ] || die "gave up waiting for $what"
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${seconds}s waiting for $what"
    sleep 0.5
  done
}

# -k: the loopback fleet may use a certificate of its own making.
http_ok() { curl -kfsS -o /dev/null --max-time 2 "$1"; }

# stop_pid FILE: SIGTERM the process named in FILE, SIGKILL after 15 s, and remove FILE.
stop_pid() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(head -n 1 "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# render TEMPLATE OUTPUT: substitutes only the ${NAMES} exported by the caller.
render() {
  local names
  names=$(grep -o '\${[A-Z_][A-Z0-9_]*}' "$1" | sort -u | tr -d '\n')
  envsubst "$names" <"$1" >"$2"
}

random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32; }
