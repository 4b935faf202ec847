#!/usr/bin/env bash
# One PostgreSQL 15 cluster on loopback with WAL archiving, for a developer or a test:
#   deploy/postgres.sh up DIR [PORT]   initdb (first time), start, create the careid roles and
#                                      database; writes DIR/urls.env (DATABASE_URL, ...)
#   deploy/postgres.sh down DIR        stop it (the data stays in DIR)
#   deploy/postgres.sh status DIR
# Data in DIR/pgdata, archived WAL in DIR/archive (what deploy/backup.sh and restore.sh use).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command=${1:-}
dir=${2:-}
port=${3:-55432}
[ -n "$command" ] && [ -n "$dir" ] || die "usage: $0 up|down|status DIR [PORT]"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

up() {
  postgres_dir "$dir"
  if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
    postgres_dir "$dir/archive"
    as_postgres "$PG_BIN/initdb" -D "$dir/pgdata" -U postgres --auth-local=peer \
      --auth-host=scram-sha-256 --encoding=UTF8 --data-checksums >"$dir/initdb.log"
    cat >>"$dir/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $dir/archive/%f && cp %p $dir/archive/%f'
archive_timeout = 60
max_wal_senders = 4
CONF
    echo "host replication postgres 127.0.0.1/32 scram-sha-256" >>"$dir/pgdata/pg_hba.conf"
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  create_roles "host=$dir port=$port" "$port"
}

# create_roles CONNINFO PORT: the careid roles and database, their passwords kept in DIR/urls.env.
create_roles() {
  if [ ! -f "$dir/urls.env" ]; then
    local owner app superuser
    owner=$(random_secret) app=$(random_secret) superuser=$(random_secret)
    as_postgres psql -q "$1 dbname=postgres" -c "ALTER ROLE postgres PASSWORD '$superuser'"
    as_postgres psql -q -v ON_ERROR_STOP=1 -v owner_password="$owner" -v app_password="$app" \
      "$1 dbname=postgres" -f "$DEPLOY/roles.sql" >/dev/null
    (
      umask 077
      cat >"$dir/urls.env" <<URLS
DATABASE_URL=postgres://careid_app:$app@127.0.0.1:$2/careid
DATABASE_OWNER_URL=postgres://careid_owner:$owner@127.0.0.1:$2/careid
DATABASE_ADMIN_URL=postgres://postgres:$superuser@127.0.0.1:$2/postgres
URLS
    )
  fi
  cat "$dir/urls.env"
}

case "$command" in
up) up ;;
down) [ -f "$dir/pgdata/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$dir/pgdata" -m fast -w stop >/dev/null || true ;;
status) as_postgres "$PG_BIN/pg_ctl" -D "$dir/pgdata" status ;;
*) die "usage: $0 up|down|status DIR [PORT]" ;;
esac
