#!/usr/bin/env bash
# Benchmarks arsd's level-report intake over loopback, on SQLite and on
# PostgreSQL: builds arsd and bench/loadgen, starts arsd on 127.0.0.1 with a
# fresh database, signs in with the real OAuth device flow, enrolls
# printers, then measures latency at a fixed rate (open loop) and the
# sustained maximum (closed loop), and checks that no order was placed twice.
#
# Environment: PRINTERS (300), RATE (500), OPEN (20s), CLOSED (20s),
# CONCURRENCY (32), DBS ("sqlite postgres").
set -euo pipefail
cd "$(dirname "$0")/.."

PRINTERS=${PRINTERS:-300}
RATE=${RATE:-500}
OPEN=${OPEN:-20s}
CLOSED=${CLOSED:-20s}
CONCURRENCY=${CONCURRENCY:-32}
DBS=${DBS:-sqlite postgres}

work=$(mktemp -d /tmp/arsd-bench.XXXXXX)
arsd_pid=
pgdb=
cleanup() {
  if [ -n "$arsd_pid" ]; then kill -TERM "$arsd_pid" 2>/dev/null || true; wait "$arsd_pid" 2>/dev/null || true; fi
  if [ -n "$pgdb" ]; then psql -q "$ARS_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "building arsd and loadgen..." >&2
go build -o "$work/arsd" ./cmd/arsd
go build -o "$work/loadgen" ./bench/loadgen

# shellcheck source=bench/lib.sh
. bench/lib.sh

stop_arsd() {
  kill -TERM "$arsd_pid"
  wait "$arsd_pid" || true
  arsd_pid=
}

echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3), loopback"
status=0
for db in $DBS; do
  case $db in
  sqlite)
    dsn="$work/arsd.db"
    ;;
  postgres)
    if [ -z "${ARS_TEST_POSTGRES:-}" ]; then
      eval "$(scripts/pg-start.sh)" || { echo "[postgres] skipped: PostgreSQL is not installed" >&2; continue; }
    fi
    pgdb="ars_bench_$$"
    psql -q "$ARS_TEST_POSTGRES" -c "CREATE DATABASE $pgdb" >/dev/null
    dsn=$(echo "$ARS_TEST_POSTGRES" | sed "s#/postgres?#/$pgdb?#")
    ;;
  *) echo "unknown database $db" >&2; exit 2 ;;
  esac
  start_arsd "$dsn"
  "$work/loadgen" -server "$url" -label "$db" -printers "$PRINTERS" -rate "$RATE" \
    -open "$OPEN" -closed "$CLOSED" -concurrency "$CONCURRENCY" || status=1
  stop_arsd
  if [ "$db" = postgres ]; then
    psql -q "$ARS_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null
    pgdb=
  fi
done
exit $status
