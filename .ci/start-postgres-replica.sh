#!/usr/bin/env bash
# A streaming replica of the PostgreSQL cluster .ci/start-postgres.sh started (the
# primary on 127.0.0.1:${PGPORT:-55432}), for the read-replica tests: pg_basebackup -R
# copies the primary and writes the standby's connection settings, then the copy runs
# as a hot standby, as the user "postgres", on 127.0.0.1:${PGREPLICAPORT:-55433}.
# Prints the SQLAlchemy URL of its superuser role on its last line.
set -euo pipefail
primary="${PGPORT:-55432}"
port="${PGREPLICAPORT:-55433}"
bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_basebackup | sort -V | tail -n 1)")"
dir="$(mktemp -d /tmp/unisupport-pg-replica.XXXXXX)"
chown postgres "$dir"
# initdb's default pg_hba.conf (--auth=trust) lets local replication connections in.
runuser -u postgres -- "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/data" -R -X stream -c fast >&2
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c hot_standby=on" start >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
