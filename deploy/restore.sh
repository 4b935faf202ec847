#!/usr/bin/env bash
# Restores a base backup (deploy/backup.sh) into a new cluster and replays the WAL archive:
#   deploy/restore.sh BACKUP ARCHIVE DIR PORT [TARGET_TIME]
# The new cluster's data is DIR/pgdata, listening on 127.0.0.1:PORT; it replays every archived
# WAL segment (or stops at TARGET_TIME, e.g. "2026-01-31 09:00:00+00", for a point in time), then
# becomes a primary of its own. It does not archive into ARCHIVE: that is the old cluster's history.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

backup=${1:-}
archive=${2:-}
dir=${3:-}
port=${4:-}
target=${5:-}
[ -n "$backup" ] && [ -n "$archive" ] && [ -n "$dir" ] && [ -n "$port" ] ||
  die "usage: $0 BACKUP ARCHIVE DIR PORT [TARGET_TIME]"
[ -f "$backup/base.tar.gz" ] || die "$backup holds no base.tar.gz"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ ! -e "$dir/pgdata" ] || die "$dir/pgdata exists: restore into a new directory"
postgres_dir "$dir"
postgres_dir "$dir/pgdata"
as_postgres tar -xzf "$backup/base.tar.gz" -C "$dir/pgdata"
as_postgres tar -xzf "$backup/pg_wal.tar.gz" -C "$dir/pgdata/pg_wal"
cat >>"$dir/pgdata/postgresql.conf" <<CONF

# Restored from $backup by deploy/restore.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
archive_mode = off
restore_command = 'cp $archive/%f %p'
recovery_target_action = promote
${target:+recovery_target_time = '$target'}
CONF
# Patroni writes its settings to postgresql.base.conf and postgresql.conf includes it: a backup of a
# Patroni member is restored as a plain cluster, so its member settings are left out.
if [ -f "$dir/pgdata/postgresql.base.conf" ]; then
  sed -i "s|^include 'postgresql.base.conf'|#&|" "$dir/pgdata/postgresql.conf"
fi
as_postgres touch "$dir/pgdata/recovery.signal"
as_postgres "$PG_BIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 300 start >/dev/null
in_production() {
  [ "$(as_postgres psql -Atq "host=$dir port=$port dbname=postgres" -c 'SELECT pg_is_in_recovery()')" = f ]
}
wait_for 300 "recovery to finish (see $dir/postgres.log)" in_production
echo "restored into $dir/pgdata, serving on 127.0.0.1:$port"
