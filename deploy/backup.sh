#!/usr/bin/env bash
# A base backup of a running cluster, to restore with deploy/restore.sh:
#   deploy/backup.sh CONNINFO DEST
# CONNINFO reaches the cluster as a role with REPLICATION (e.g. "host=/run/pg port=5432
# user=postgres" on its socket, or a postgres:// URL). DEST/base.tar.gz and DEST/pg_wal.tar.gz
# hold the files and the WAL written during the backup, so DEST restores on its own; the cluster's
# WAL archive (archive_command, see postgres.sh and patroni/patroni.yml) carries it forward to any
# later moment. Schedule it (e.g. nightly) and keep the WAL archive since the oldest base backup.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conninfo=${1:-}
dest=${2:-}
[ -n "$conninfo" ] && [ -n "$dest" ] || die "usage: $0 CONNINFO DEST"
[ ! -e "$dest" ] || [ -z "$(ls -A "$dest")" ] || die "$dest is not empty"
postgres_dir "$dest"
as_postgres "$PG_BIN/pg_basebackup" --dbname="$conninfo" --pgdata="$dest" --format=tar --gzip \
  --wal-method=stream --checkpoint=fast --label="careid $(date -u +%FT%TZ)" --no-password
# pg_verifybackup reads only plain-format backups in PostgreSQL 15: check the archives whole.
gzip -t "$dest/base.tar.gz" "$dest/pg_wal.tar.gz"
echo "base backup in $dest ($(du -sh "$dest" | cut -f1))"
