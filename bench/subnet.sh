#!/usr/bin/env bash
# bench/subnet.sh: finding printers on another subnet. 20 simulated printers
# (N) sit on a /24 behind a router, in network namespaces (never on the
# machine's own network), where the client's mDNS does not reach. In the
# same run it times, from the client:
#   - `arsctl discover --subnet PREFIX --json`: complete records (model,
#     serial, levels) of every printer, at the default rate and concurrency;
#   - `nmap -p 631 PREFIX` (Debian package nmap, installed here when
#     missing): which addresses have 631 open, and nothing more;
# and prints both medians, their ratio, how many printers each found (and
# how many of arsctl's are complete), and the machine's load.
# Target: every printer complete, in no more than nmap's time (ratio <= 1).
#
# Environment: PRINTERS (default 20), RUNS (default 5), SUBNET (default
# 10.67.0.0/24; a private /24 that must not be in use on this machine).
set -euo pipefail

N=${PRINTERS:-20}
RUNS=${RUNS:-5}
SUBNET=${SUBNET:-10.67.0.0/24}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "$(id -u)" != 0 ]; then
	echo "bench/subnet.sh: needs root (it creates network namespaces)" >&2
	exit 1
fi
if ! command -v nmap >/dev/null; then
	echo "installing nmap (Debian package)..." >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null
fi
for p in hyperfine nmap jq go ip; do
	if ! command -v "$p" >/dev/null; then
		echo "bench/subnet.sh: $p is not installed (see scripts/install-deps.sh)" >&2
		exit 1
	fi
done

# shellcheck source=bench/lib.sh
. bench/lib.sh

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

echo "starting $N printers on $SUBNET behind a router..." >&2
"$tmp/netnslab" --printers "$N" --printersim "$tmp/printersim" --subnet "$SUBNET" --env "$tmp/lab.env" 2>"$tmp/lab.log" &
lab_pid=$!
wait_file "$tmp/lab.env" "$lab_pid" "$tmp/lab.log" lab || exit 1
# shellcheck disable=SC1091
. "$tmp/lab.env"

in_client() { ip netns exec "$CLIENT_NS" "$@"; }
complete_filter='[.[] | select(.model != null and .model != "" and .serial != null and .serial != "" and ([.supplies[]? | select(.level >= 0 and .level <= 100)] | length) > 0)] | length'

# What each finds (one run each, outside the timing).
in_client "$tmp/arsctl" discover --json --subnet "$SUBNET" >"$tmp/found.json" 2>"$tmp/discover.err" || true
found=$(jq length "$tmp/found.json")
complete=$(jq "$complete_filter" "$tmp/found.json")
open=$(in_client nmap -p 631 -n --open -oG - "$SUBNET" | grep -c '631/open' || true)

hf() { hyperfine -N --style none --export-json "$1" "${@:2}" >/dev/null 2>>"$tmp/hyperfine.err"; }
hf "$tmp/discover.json" --warmup 1 --runs "$RUNS" \
	"ip netns exec $CLIENT_NS $tmp/arsctl discover --json --subnet $SUBNET"
hf "$tmp/nmap.json" --warmup 1 --runs "$RUNS" \
	"ip netns exec $CLIENT_NS nmap -p 631 -n $SUBNET"

median() { jq '.results[0].median' "$1"; }
d=$(median "$tmp/discover.json")
m=$(median "$tmp/nmap.json")

awk -v d="$d" -v m="$m" -v n="$N" -v found="$found" -v complete="$complete" -v open="$open" -v runs="$RUNS" -v subnet="$SUBNET" 'BEGIN {
	printf "printers on %s behind a router:     %d\n", subnet, n
	printf "arsctl discover --subnet, median of %d:  %.3f s   (found %d, complete %d: model, serial, levels)\n", runs, d, found, complete
	printf "nmap -p 631, median of %d:               %.3f s   (631 open on %d; no model, serial or levels)\n", runs, m, open
	printf "ratio discover/nmap:                     %.2f      (target <= 1.00)\n", d / m
}'
defaults=$("$tmp/arsctl" discover --help | sed -n 's/.*--\(sweep-[a-z]*\|probe-timeout\) .*(default \([^)]*\)).*/\1 \2/p' | paste -sd, -)
echo "(arsctl at its defaults: $defaults; times include 'ip netns exec'; load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs)"
