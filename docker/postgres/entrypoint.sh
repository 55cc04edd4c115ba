#!/bin/sh
# First start on an empty volume: initdb with the password from POSTGRES_PASSWORD and a database
# named POSTGRES_DB (default mosaic). Then (every start) the server, on every interface of the
# compose network, password-checked (scram-sha-256).
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
DB="${POSTGRES_DB:-mosaic}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
DATA=/var/lib/postgresql/data
if [ ! -s "$DATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo 'host all all 0.0.0.0/0 scram-sha-256' >> "$DATA/pg_hba.conf"
  echo 'host all all ::/0 scram-sha-256' >> "$DATA/pg_hba.conf"
  "$BIN/pg_ctl" -D "$DATA" -w start -o "-c listen_addresses=''"
  "$BIN/psql" -h /var/run/postgresql -U postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB\""
  "$BIN/pg_ctl" -D "$DATA" -w stop
fi
# Three Mosaic processes with a pool of 10 each, plus migrate and psql: 100 is plenty.
exec "$BIN/postgres" -D "$DATA" -c listen_addresses='*' -c max_connections=100
