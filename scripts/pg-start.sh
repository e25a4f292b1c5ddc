#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the test suite and
# prints the export line for ARS_TEST_POSTGRES. Idempotent: if the server
# is already running it only prints the line. Stop it with scripts/pg-stop.sh.
set -euo pipefail
port=${ARS_PG_PORT:-54329}
dir=${ARS_PG_DIR:-/tmp/arsctl-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "pg-start: PostgreSQL is not installed (apt-get install postgresql, or scripts/install-deps.sh)" >&2
  exit 1
fi
run() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! run "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    run "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  run "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi
echo "export ARS_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
