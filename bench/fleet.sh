#!/usr/bin/env bash
# Fleet enrollment benchmark: COUNT (1,000) simulated Canon printers
# (cmd/printersim fleet mode, one IPP server per port on 127.0.0.1) are
# enrolled into a local arsd (SQLite) with
#   arsctl register --from fleet.csv --agree-terms --provider canon
# reading each printer over IPP and enrolling it through ARS API v1. Prints
# the wall time of the run (target: <= 10 s on a 2-core machine), checks
# that every printer is enrolled exactly once, then times a re-run (every
# printer is already enrolled and skipped).
#
# Environment: COUNT (1000), CONCURRENCY (arsctl --concurrency, 8),
# BASE_PORT (first printer port, 21000).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000}
CONCURRENCY=${CONCURRENCY:-8}
BASE_PORT=${BASE_PORT:-21000}

work=$(mktemp -d /tmp/fleet-bench.XXXXXX)
arsd_pid=
sim_pid=
cleanup() {
  for p in $sim_pid $arsd_pid; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building arsd, arsctl, printersim..." >&2
go build -o "$work/arsd" ./cmd/arsd
go build -o "$work/arsctl" ./cmd/arsctl
go build -o "$work/printersim" ./cmd/printersim
go build -o "$work/fleetsignin" ./bench/fleetsignin

# shellcheck source=bench/lib.sh
. bench/lib.sh
start_arsd "$work/arsd.db"

"$work/printersim" --count "$COUNT" --base-port "$BASE_PORT" --serial KNMB --ready-file "$work/ready" \
  >/dev/null 2>"$work/printersim.log" &
sim_pid=$!
wait_file "$work/ready" "$sim_pid" "$work/printersim.log" printersim || exit 1

{
  echo "host,provider,label"
  sed -n 's#^ready ipps\{0,1\}://\([^/]*\)/.*#\1,canon,bench#p' "$work/ready"
} >"$work/fleet.csv"
rows=$(($(wc -l <"$work/fleet.csv") - 1))
[ "$rows" -eq "$COUNT" ] || { echo "expected $COUNT printers, got $rows" >&2; exit 1; }

export ARS_SERVER=$url
export ARS_TOKEN
ARS_TOKEN=$("$work/fleetsignin" -server "$url")
export HOME=$work ARS_STATE_DIR=$work/state ARS_KEYRING=off

echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3); $COUNT printers on 127.0.0.1:$BASE_PORT..; arsd on SQLite; --concurrency $CONCURRENCY"

run() {
  local start end
  start=$(date +%s.%N)
  "$work/arsctl" register --from "$work/fleet.csv" --agree-terms --concurrency "$CONCURRENCY" >"$work/out.txt" 2>"$work/err.txt" || {
    echo "arsctl register --from failed:" >&2; tail -5 "$work/err.txt" >&2; grep -v '^enrolled\|^already' "$work/out.txt" | head >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}

t1=$(run)
enrolled=$(grep -c '^enrolled' "$work/out.txt" || true)
t2=$(run)
skipped=$(grep -c '^already-enrolled' "$work/out.txt" || true)
total=$("$work/arsctl" status --jq 'length')

echo "first run:  $enrolled printers enrolled in ${t1} s"
echo "re-run:     $skipped printers already enrolled, skipped in ${t2} s"
echo "arsd holds $total active enrollments"
[ "$enrolled" -eq "$COUNT" ] && [ "$skipped" -eq "$COUNT" ] && [ "$total" -eq "$COUNT" ] || { echo "FAIL: counts do not match $COUNT" >&2; exit 1; }
