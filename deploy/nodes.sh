#!/usr/bin/env bash
# N careid nodes on one PostgreSQL behind HAProxy, on loopback:
#   deploy/nodes.sh up DIR [--nodes 2] [--port 8080] [--demo] [--tls-pem FILE]
#   deploy/nodes.sh down DIR          SIGTERM each node (they drain) and HAProxy
#   deploy/nodes.sh status DIR
#   deploy/nodes.sh start-node DIR K  start node K again (after a crash or an upgrade)
#   deploy/nodes.sh stop-node DIR K
# Reads DATABASE_URL (the runtime role) and, if set, DATABASE_OWNER_URL: migrations are then
# applied once as the owner before any node starts, and deploy/grants.sql after them.
# CAREID_MASTER_KEY is the same on every node; unset, one is made and kept in DIR/master-key.
# Node K listens on PORT+K (HTTP) and PORT+10+K (LDAP); HAProxy on PORT, with TLS if --tls-pem
# names a PEM holding the certificate chain and key. CAREID_ISSUER is the load balancer's URL.
# Each node's log is DIR/node-K.log; the settings are in DIR/nodes.env.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: $0 up|down|status DIR [--nodes N] [--port P] [--demo] [--tls-pem FILE] | start-node|stop-node DIR K"
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || die "$usage"
shift 2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

node_up() {
  local k=$1
  # shellcheck disable=SC1091
  source "$dir/nodes.env"
  (
    cd "$REPO"
    PORT=$((LB_PORT + k)) CAREID_LDAP_PORT=$((LB_PORT + 10 + k)) HOST=127.0.0.1 \
      DATABASE_URL="$DATABASE_URL" CAREID_MASTER_KEY="$CAREID_MASTER_KEY" CAREID_ISSUER="$CAREID_ISSUER" \
      CAREID_TRUST_PROXY=true LOG_LEVEL="${LOG_LEVEL:-warn}" \
      setsid "$CAREID_NODE" src/main.ts serve $SERVE_FLAGS >>"$dir/node-$k.log" 2>&1 </dev/null &
    echo $! >"$dir/node-$k.pid"
  )
}

# Ready; or, if the node has exited, never (exit status 2 stops wait_for at once).
node_ready() {
  kill -0 "$(cat "$dir/node-$1.pid")" 2>/dev/null || return 2
  http_ok "http://127.0.0.1:$((LB_PORT + $1))/health/ready"
}

wait_for_node() {
  (wait_for 120 "node $1" node_ready "$1") || true
  node_ready "$1" || {
    tail -n 20 "$dir/node-$1.log" >&2
    die "node $1 did not start; the end of $dir/node-$1.log is above"
  }
}

up() {
  local nodes=2 port=8080 demo="" pem=""
  while [ $# -gt 0 ]; do
    case "$1" in
    --nodes) nodes=$2 && shift 2 ;;
    --port) port=$2 && shift 2 ;;
    --demo) demo=--demo && shift ;;
    --tls-pem) pem=$2 && shift 2 ;;
    *) die "$usage" ;;
    esac
  done
  [ -n "${DATABASE_URL:-}" ] || die "set DATABASE_URL (PostgreSQL: the nodes share it)"
  local key=${CAREID_MASTER_KEY:-}
  if [ -z "$key" ]; then
    [ -f "$dir/master-key" ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/master-key")
    key=$(cat "$dir/master-key")
  fi
  local scheme=http
  [ -z "$pem" ] || scheme=https
  (
    umask 077
    cat >"$dir/nodes.env" <<ENV
NODES=$nodes
LB_PORT=$port
SERVE_FLAGS=$demo
DATABASE_URL='$DATABASE_URL'
CAREID_MASTER_KEY=$key
CAREID_ISSUER=$scheme://127.0.0.1:$port/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare
ENV
  )
  if [ -n "${DATABASE_OWNER_URL:-}" ]; then
    (cd "$REPO" && DATABASE_URL="$DATABASE_OWNER_URL" CAREID_MASTER_KEY="$key" "$CAREID_NODE" src/main.ts migrate)
    psql -q -v ON_ERROR_STOP=1 "$DATABASE_OWNER_URL" -f "$DEPLOY/grants.sql"
  fi
  local servers="" k
  for k in $(seq 1 "$nodes"); do
    node_up "$k"
    servers+="    server node$k 127.0.0.1:$((port + k)) check"$'\n'
  done
  for k in $(seq 1 "$nodes"); do
    LB_PORT=$port wait_for_node "$k"
  done
  export LB_SERVERS=$servers LB_BIND="127.0.0.1:$port${pem:+ ssl crt $pem}"
  render "$DEPLOY/haproxy.cfg" "$dir/haproxy.cfg"
  haproxy -q -c -f "$dir/haproxy.cfg" || die "HAProxy refused $dir/haproxy.cfg"
  # Its own output goes nowhere: a daemon holding the caller's stdout open would keep it waiting.
  haproxy -D -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" </dev/null >/dev/null 2>&1
  wait_for 30 "HAProxy on port $port" http_ok "$scheme://127.0.0.1:$port/health/ready"
  status
}

status() {
  # shellcheck disable=SC1091
  source "$dir/nodes.env"
  local k
  for k in $(seq 1 "$NODES"); do
    if [ -f "$dir/node-$k.pid" ] && kill -0 "$(cat "$dir/node-$k.pid")" 2>/dev/null; then
      echo "node $k: pid $(cat "$dir/node-$k.pid"), http://127.0.0.1:$((LB_PORT + k))/"
    else
      echo "node $k: stopped"
    fi
  done
  echo "load balancer: ${CAREID_ISSUER%%/openam*}/ (issuer $CAREID_ISSUER)"
}

down() {
  [ -f "$dir/nodes.env" ] || return 0
  # shellcheck disable=SC1091
  source "$dir/nodes.env"
  local k
  for k in $(seq 1 "$NODES"); do stop_pid "$dir/node-$k.pid"; done
  stop_pid "$dir/haproxy.pid"
}

case "$command" in
up) up "$@" ;;
down) down ;;
status) status ;;
start-node)
  node_up "${1:?$usage}"
  # shellcheck disable=SC1091
  source "$dir/nodes.env"
  wait_for_node "$1"
  ;;
stop-node) stop_pid "$dir/node-${1:?$usage}.pid" ;;
*) die "$usage" ;;
esac
