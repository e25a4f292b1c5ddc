#!/usr/bin/env bash
# Benchmarks arsd's level-report intake over loopback, on SQLite and on
# PostgreSQL: builds arsd and bench/loadgen, starts arsd on 127.0.0.1 with a
# fresh database, signs in with the real OAuth device flow, enrolls
# printers, then measures latency at a fixed rate (open loop) and the
# sustained maximum (closed loop), and checks that no order was placed twice.
# "postgres-3" runs three arsd replicas on one PostgreSQL database behind
# haproxy (skipped when haproxy is not installed), which sends a printer's
# reports to one replica as deploy/haproxy.cfg does, and measures through it.
#
# Environment: PRINTERS (300), RATE (500), OPEN (20s), CLOSED (20s),
# CONCURRENCY (32), DBS ("sqlite postgres postgres-3"), ARSD_BIN (an arsd
# binary to measure instead of building this tree's, e.g. an older build
# to compare with in the same run).
set -euo pipefail
cd "$(dirname "$0")/.."

PRINTERS=${PRINTERS:-300}
RATE=${RATE:-500}
OPEN=${OPEN:-20s}
CLOSED=${CLOSED:-20s}
CONCURRENCY=${CONCURRENCY:-32}
DBS=${DBS:-sqlite postgres postgres-3}

work=$(mktemp -d /tmp/arsd-bench.XXXXXX)
arsd_pid=
replica_pids=()
haproxy_pid=
pgdb=
cleanup() {
  if [ -n "$arsd_pid" ]; then kill -TERM "$arsd_pid" 2>/dev/null || true; wait "$arsd_pid" 2>/dev/null || true; fi
  for p in "${replica_pids[@]}" $haproxy_pid; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$pgdb" ]; then psql -q "$ARS_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "building arsd and loadgen..." >&2
if [ -n "${ARSD_BIN:-}" ]; then cp "$ARSD_BIN" "$work/arsd"; else go build -o "$work/arsd" ./cmd/arsd; fi
go build -o "$work/loadgen" ./bench/loadgen

# shellcheck source=bench/lib.sh
. bench/lib.sh

stop_arsd() {
  kill -TERM "$arsd_pid"
  wait "$arsd_pid" || true
  arsd_pid=
}

# start_replicas DATABASE: starts three arsd replicas on DATABASE behind
# haproxy on a free loopback port; sets $url to haproxy's address.
start_replicas() {
  local lb backends="" i u
  lb=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  for i in 1 2 3; do
    "$work/arsd" --listen 127.0.0.1:0 --database "$1" --public-url "http://127.0.0.1:$lb" \
      --log-level warn --access-token-ttl 1h --drain-delay 0s >"$work/arsd$i.log" 2>&1 &
    replica_pids+=($!)
  done
  for i in 1 2 3; do
    u=
    for _ in $(seq 1 300); do
      u=$(sed -n 's/^arsd listening on http:\/\/\([^ ]*\).*/\1/p' "$work/arsd$i.log" | head -1)
      [ -n "$u" ] && break
      sleep 0.1
    done
    [ -n "$u" ] || { echo "replica $i did not start" >&2; cat "$work/arsd$i.log" >&2; return 1; }
    backends+="  server arsd$i $u check inter 1s"$'\n'
  done
  printf '%s\n' "global" "  maxconn 4096" "defaults" "  mode http" "  timeout connect 1s" \
    "  timeout client 30s" "  timeout server 30s" "  timeout http-keep-alive 30s" "  retries 3" \
    "  option redispatch 1" "frontend ars" "  bind 127.0.0.1:$lb" "  default_backend arsd" \
    "backend arsd" "  balance uri" "  hash-type consistent" "  option httpchk GET /readyz" >"$work/haproxy.cfg"
  printf '%s' "$backends" >>"$work/haproxy.cfg"
  haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  haproxy_pid=$!
  url="http://127.0.0.1:$lb"
  for _ in $(seq 1 100); do
    curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "haproxy did not start" >&2; cat "$work/haproxy.log" >&2; return 1
}

stop_replicas() {
  for p in "${replica_pids[@]}" $haproxy_pid; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  replica_pids=()
  haproxy_pid=
}

echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3), loopback, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for db in $DBS; do
  case $db in
  sqlite)
    dsn="$work/arsd.db"
    ;;
  postgres|postgres-3)
    if [ "$db" = postgres-3 ] && ! command -v haproxy >/dev/null; then
      echo "[postgres-3] skipped: haproxy is not installed" >&2
      continue
    fi
    if [ -z "${ARS_TEST_POSTGRES:-}" ]; then
      eval "$(scripts/pg-start.sh)" || { echo "[postgres] skipped: PostgreSQL is not installed" >&2; continue; }
    fi
    pgdb="ars_bench_$$"
    psql -q "$ARS_TEST_POSTGRES" -c "CREATE DATABASE $pgdb" >/dev/null
    dsn=$(echo "$ARS_TEST_POSTGRES" | sed "s#/postgres?#/$pgdb?#")
    ;;
  *) echo "unknown database $db" >&2; exit 2 ;;
  esac
  if [ "$db" = postgres-3 ]; then start_replicas "$dsn"; else start_arsd "$dsn"; fi
  "$work/loadgen" -server "$url" -label "$db" -printers "$PRINTERS" -rate "$RATE" \
    -open "$OPEN" -closed "$CLOSED" -concurrency "$CONCURRENCY" || status=1
  if [ "$db" = postgres-3 ]; then stop_replicas; else stop_arsd; fi
  if [ -n "$pgdb" ]; then
    psql -q "$ARS_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null
    pgdb=
  fi
done
exit $status
