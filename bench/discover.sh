#!/usr/bin/env bash
# bench/discover.sh: how fast and how completely `arsctl discover` finds
# 20 printers, against CUPS's ippfind, in network namespaces (never on the
# machine's own network). Needs root, hyperfine, ippfind (cups-ipp-utils),
# avahi-daemon, jq and Go; scripts/install-deps.sh installs them.
#
# Prints, from one run:
#   - the median wall time of `arsctl discover --json` and of
#     `ippfind _ipp._tcp` (its default timing), and their ratio;
#   - how many of 10 back-to-back runs returned all printers complete
#     (model, serial, at least one supply level);
#   - the median of `arsctl discover --host` on one printer.
# Targets: 10/10 complete, discover median <= 1.2 s and <= half of
# ippfind's, --host median <= 100 ms.
#
# Environment: PRINTERS (default 20), RUNS (default 10), and BENCH_NICE,
# a niceness (e.g. -10) for the lab's printers and every measured command
# alike, to measure on a machine busy with other work.
set -euo pipefail

N=${PRINTERS:-20}
RUNS=${RUNS:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "$(id -u)" != 0 ]; then
	echo "bench/discover.sh: needs root (it creates network namespaces)" >&2
	exit 1
fi
for p in hyperfine ippfind avahi-daemon jq go ip; do
	if ! command -v "$p" >/dev/null && [ ! -x "/usr/sbin/$p" ]; then
		echo "bench/discover.sh: $p is not installed (see scripts/install-deps.sh)" >&2
		exit 1
	fi
done

# shellcheck source=bench/lib.sh
. bench/lib.sh

nice=
if [ -n "${BENCH_NICE:-}" ]; then
	nice="nice -n $BENCH_NICE"
fi

tmp=$(mktemp -d)
lab_pid=
cleanup() {
	if [ -n "$lab_pid" ]; then
		kill "$lab_pid" 2>/dev/null || true
		wait "$lab_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building..." >&2
go build -o "$tmp/arsctl" ./cmd/arsctl
go build -o "$tmp/printersim" ./cmd/printersim
go build -o "$tmp/netnslab" ./internal/netns/cmd/netnslab

echo "starting $N printers in namespaces..." >&2
$nice "$tmp/netnslab" --printers "$N" --printersim "$tmp/printersim" --env "$tmp/lab.env" 2>"$tmp/lab.log" &
lab_pid=$!
wait_file "$tmp/lab.env" "$lab_pid" "$tmp/lab.log" lab || exit 1
# shellcheck disable=SC1091
. "$tmp/lab.env"

in_client() { ip netns exec "$CLIENT_NS" "$@"; }
complete_filter='[.[] | select(.model != null and .model != "" and .serial != null and .serial != "" and ([.supplies[]? | select(.level >= 0 and .level <= 100)] | length) > 0)] | length'

# Completeness: RUNS back-to-back runs, each must find all N complete.
ok=0
for i in $(seq 1 "$RUNS"); do
	got=$(in_client $nice "$tmp/arsctl" discover --json --timeout 10s 2>>"$tmp/discover.err" | jq "$complete_filter" || echo 0)
	if [ "$got" = "$N" ]; then
		ok=$((ok + 1))
	else
		echo "run $i: $got of $N complete" >&2
	fi
done

hf() { $nice hyperfine -N --style none --export-json "$1" "${@:2}" >/dev/null 2>>"$tmp/hyperfine.err"; }
hf "$tmp/discover.json" --warmup 1 --runs "$RUNS" \
	"ip netns exec $CLIENT_NS $tmp/arsctl discover --json"
hf "$tmp/ippfind.json" --runs "$RUNS" \
	"ip netns exec $CLIENT_NS env DBUS_SYSTEM_BUS_ADDRESS=$CLIENT_DBUS ippfind _ipp._tcp"
hf "$tmp/host.json" --warmup 2 --runs 30 \
	"ip netns exec $CLIENT_NS $tmp/arsctl discover --host $PRINTER_IP --json"

median() { jq '.results[0].median' "$1"; }
d=$(median "$tmp/discover.json")
f=$(median "$tmp/ippfind.json")
h=$(median "$tmp/host.json")
found=$(in_client env DBUS_SYSTEM_BUS_ADDRESS="$CLIENT_DBUS" ippfind _ipp._tcp | wc -l)

awk -v d="$d" -v f="$f" -v h="$h" -v ok="$ok" -v runs="$RUNS" -v n="$N" -v found="$found" 'BEGIN {
	printf "printers in namespaces:                 %d\n", n
	printf "arsctl discover --json, median:         %.3f s   (target <= 1.2 s)\n", d
	printf "ippfind _ipp._tcp, median:              %.3f s   (found %d)\n", f, found
	printf "ratio discover/ippfind:                 %.2f      (target <= 0.50)\n", d / f
	printf "back-to-back runs all %d complete:      %d/%d     (target %d/%d)\n", n, ok, runs, runs, runs
	printf "arsctl discover --host, median:         %.1f ms  (target <= 100 ms)\n", h * 1000
}'
echo "(times include 'ip netns exec', about 2 ms; load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs${BENCH_NICE:+; niceness $BENCH_NICE})"
