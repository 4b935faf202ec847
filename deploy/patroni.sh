#!/usr/bin/env bash
# A highly available PostgreSQL 15 on loopback: etcd (one member), two Patroni-managed members
# (a primary and a synchronous streaming replica) and HAProxy routing to the leader.
#   deploy/patroni.sh up DIR [BASE_PORT]   start (and form the cluster the first time); writes
#                                          DIR/urls.env: DATABASE_URL (primary, runtime role),
#                                          DATABASE_OWNER_URL, DATABASE_READ_URL (replica), ...
#   deploy/patroni.sh down DIR             stop everything (the data stays in DIR)
#   deploy/patroni.sh status DIR           the members, their roles and lag (patronictl list)
#   deploy/patroni.sh kill-primary DIR     a failover drill: SIGKILL the leader's Patroni and
#                                          PostgreSQL, as a crashed machine would
# Ports from BASE_PORT (default 25000, below the ephemeral range whose source ports could take one): etcd +0 (peers +1), HAProxy primary +2 and replicas +3,
# member K's PostgreSQL +10+K and its Patroni REST API +20+K. Must run as root or as postgres.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: $0 up|down|status|kill-primary DIR [BASE_PORT]"
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || die "$usage"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
members="1 2"

settings() {
  if [ ! -f "$dir/cluster.env" ]; then
    local base=${1:-25000}
    (
      umask 077
      cat >"$dir/cluster.env" <<ENV
BASE_PORT=$base
SUPERUSER_PASSWORD=$(random_secret)
REPLICATION_PASSWORD=$(random_secret)
OWNER_PASSWORD=$(random_secret)
APP_PASSWORD=$(random_secret)
ENV
    )
  fi
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
  ETCD_PORT=$BASE_PORT
  PRIMARY_PORT=$((BASE_PORT + 2))
  REPLICA_PORT=$((BASE_PORT + 3))
}

pg_port() { echo $((BASE_PORT + 10 + $1)); }
rest_port() { echo $((BASE_PORT + 20 + $1)); }
rest_answers() { http_ok "http://127.0.0.1:$(rest_port "$1")/$2"; }

start_etcd() {
  postgres_dir "$dir/etcd"
  setsid etcd --name careid-etcd --data-dir "$dir/etcd/data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "careid-etcd=http://127.0.0.1:$((ETCD_PORT + 1))" --initial-cluster-state new \
    >>"$dir/etcd/etcd.log" 2>&1 </dev/null &
  echo $! >"$dir/etcd/etcd.pid"
  wait_for 30 "etcd (see $dir/etcd/etcd.log)" http_ok "http://127.0.0.1:$ETCD_PORT/health"
}

start_member() {
  local k=$1 member_dir="$dir/pg$1"
  postgres_dir "$member_dir"
  export MEMBER="pg$k" MEMBER_DIR="$member_dir" REST_PORT PG_PORT ETCD_PORT ARCHIVE_DIR="$dir/archive" \
    SUPERUSER_PASSWORD REPLICATION_PASSWORD
  REST_PORT=$(rest_port "$k") PG_PORT=$(pg_port "$k")
  (umask 077 && render "$DEPLOY/patroni/patroni.yml" "$member_dir/patroni.yml")
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$member_dir/patroni.yml"
  # The pid file names Patroni itself (setsid execs it), for kill-primary and down.
  as_postgres bash -c 'setsid patroni "$1" >>"$2" 2>&1 </dev/null & echo $! >"$3"' _ \
    "$member_dir/patroni.yml" "$member_dir/patroni.log" "$member_dir/patroni.pid"
}

up() {
  settings "${1:-}"
  postgres_dir "$dir"
  postgres_dir "$dir/archive"
  start_etcd
  start_member 1
  wait_for 90 "pg1 to lead (see $dir/pg1/patroni.log)" rest_answers 1 primary
  start_member 2
  wait_for 120 "pg2 to replicate (see $dir/pg2/patroni.log)" rest_answers 2 replica
  local leader k
  leader=$(leader_member) || die "no leader"
  local servers="" replicas=""
  for k in $members; do
    servers+="    server pg$k 127.0.0.1:$(pg_port "$k") check port $(rest_port "$k")"$'\n'
    replicas+="    server pg$k 127.0.0.1:$(pg_port "$k") check port $(rest_port "$k")"$'\n'
  done
  export PRIMARY_PORT REPLICA_PORT PRIMARY_SERVERS=$servers REPLICA_SERVERS=$replicas
  render "$DEPLOY/patroni/haproxy.cfg" "$dir/haproxy.cfg"
  haproxy -q -c -f "$dir/haproxy.cfg" || die "HAProxy refused $dir/haproxy.cfg"
  stop_pid "$dir/haproxy.pid"
  # Its own output goes nowhere: a daemon holding the caller's stdout open would keep it waiting.
  haproxy -D -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" </dev/null >/dev/null 2>&1
  wait_for 30 "the primary through HAProxy" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PRIMARY_PORT"
  # Roles and database on the leader (they replicate); peer authentication on its socket.
  as_postgres psql -q -v ON_ERROR_STOP=1 -v owner_password="$OWNER_PASSWORD" -v app_password="$APP_PASSWORD" \
    "host=$dir/$leader port=$(pg_port "${leader#pg}") dbname=postgres" -f "$DEPLOY/roles.sql" >/dev/null
  wait_for 60 "a synchronous replica" synchronous_member
  (
    umask 077
    cat >"$dir/urls.env" <<URLS
DATABASE_URL=postgres://careid_app:$APP_PASSWORD@127.0.0.1:$PRIMARY_PORT/careid
DATABASE_OWNER_URL=postgres://careid_owner:$OWNER_PASSWORD@127.0.0.1:$PRIMARY_PORT/careid
DATABASE_READ_URL=postgres://careid_app:$APP_PASSWORD@127.0.0.1:$REPLICA_PORT/careid
DATABASE_ADMIN_URL=postgres://postgres:$SUPERUSER_PASSWORD@127.0.0.1:$PRIMARY_PORT/postgres
URLS
  )
  cat "$dir/urls.env"
}

leader_member() {
  local k
  for k in $members; do
    if rest_answers "$k" primary; then
      echo "pg$k"
      return 0
    fi
  done
  return 1
}

synchronous_member() {
  local k
  for k in $members; do rest_answers "$k" sync && return 0; done
  return 1
}

status() {
  settings
  as_postgres patronictl -c "$dir/pg1/patroni.yml" list
}

kill_primary() {
  settings
  local leader
  leader=$(leader_member) || die "no member is primary now"
  local member_dir="$dir/$leader"
  kill -KILL "$(cat "$member_dir/patroni.pid")"
  kill -KILL "$(head -n 1 "$member_dir/data/postmaster.pid")"
  echo "killed $leader (Patroni and PostgreSQL)"
}

down() {
  [ -f "$dir/cluster.env" ] || return 0
  settings
  stop_pid "$dir/haproxy.pid"
  local k
  for k in $members; do stop_pid "$dir/pg$k/patroni.pid"; done
  # A member whose Patroni was killed leaves its PostgreSQL running.
  for k in $members; do
    if [ -f "$dir/pg$k/data/postmaster.pid" ]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$dir/pg$k/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  stop_pid "$dir/etcd/etcd.pid"
}

case "$command" in
up) up "${3:-}" ;;
down) down ;;
status) status ;;
kill-primary) kill_primary ;;
*) die "$usage" ;;
esac
