#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages (if missing) and starts a throw-away
# cluster as the non-root user "postgres" on 127.0.0.1:${PGPORT:-55432}.
# Prints the SQLAlchemy URL of a superuser role for the tests on its last line.
set -euo pipefail
port="${PGPORT:-55432}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
id postgres >/dev/null 2>&1 || useradd --system --create-home postgres
dir="$(mktemp -d /tmp/unisupport-pg.XXXXXX)"
chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >&2
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
