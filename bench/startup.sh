#!/usr/bin/env bash
# bench/startup.sh: how big arsctl is and how fast it starts, against gh
# (GitHub's CLI, a Go CLI of the same shape), measured side by side with
# hyperfine. Needs Go, hyperfine, jq and gh (apt-get install hyperfine jq
# gh); COMPARE names another command to compare with when gh is missing.
#
# Prints:
#   - the size of arsctl built as .goreleaser.yaml builds it (-trimpath,
#     -ldflags '-s -w', CGO_ENABLED=0) and of a plain `go build`;
#   - the median (and mean) time of `arsctl --version` and of `gh --version`,
#     each run a new process (page cache warm: --warmup), and the ratio of
#     the medians, which other work on the machine disturbs least;
#   - the time arsctl spends in package initialisation (GODEBUG=inittrace=1,
#     median of 11 runs) and the packages that take the longest;
#   - the machine's load average, since other work slows both commands.
# Targets: release and plain binaries <= 20 MB, `arsctl --version` <= 15 ms and <= 0.2x
# `gh --version`. With CHECK=1 a missed target exits 1.
#
# Environment: RUNS (default 50), COMPARE (default "gh --version").
set -euo pipefail

RUNS=${RUNS:-50}
COMPARE=${COMPARE:-gh --version}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

for p in go hyperfine jq; do
	command -v "$p" >/dev/null || { echo "bench/startup.sh: needs $p" >&2; exit 1; }
done
command -v "${COMPARE%% *}" >/dev/null || {
	echo "bench/startup.sh: needs ${COMPARE%% *} to compare with (or set COMPARE)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -X main.version=bench' -o "$tmp/arsctl" ./cmd/arsctl
go build -o "$tmp/arsctl-plain" ./cmd/arsctl
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }
release_mb=$(mb "$tmp/arsctl")
plain_mb=$(mb "$tmp/arsctl-plain")

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --style none --warmup 5 --runs "$RUNS" --export-json "$tmp/hf.json" \
	"$tmp/arsctl --version" "$COMPARE" >/dev/null
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
ms() { jq -r --argjson i "$1" --arg k "$2" '.results[$i][$k] * 1000' "$tmp/hf.json"; }
a=$(ms 0 median) g=$(ms 1 median)
ratio=$(awk -v a="$a" -v g="$g" 'BEGIN { printf "%.2f", a / g }')

# Package initialisation: the run whose total is the median of 11.
for i in $(seq 1 11); do
	GODEBUG=inittrace=1 "$tmp/arsctl" --version 2>&1 >/dev/null | grep '^init ' >"$tmp/init.$i" || true
	awk -v i="$i" '{ s += $5 } END { printf "%.3f %s\n", s, i }' "$tmp/init.$i"
done | sort -n | sed -n 6p >"$tmp/init.median"
read -r init_ms init_run <"$tmp/init.median"
slowest=$(awk '{ printf "%s %s ms\n", $2, $5 }' "$tmp/init.$init_run" | sort -k2 -rn | head -5 | paste -sd, - | sed 's/,/, /g')

printf 'arsctl binary:        %s MB as released (-trimpath -s -w), %s MB plain go build\n' "$release_mb" "$plain_mb"
printf 'arsctl --version:     median %.1f ms (mean %.1f ± %.1f)\n' "$a" "$(ms 0 mean)" "$(ms 0 stddev)"
printf '%-21s median %.1f ms (mean %.1f ± %.1f)\n' "$COMPARE:" "$g" "$(ms 1 mean)" "$(ms 1 stddev)"
printf 'ratio:                %s (medians, arsctl / %s)\n' "$ratio" "${COMPARE%% *}"
printf 'package init:         %s ms; slowest: %s\n' "$init_ms" "$slowest"
printf 'load average:         %s before, %s after (%s cores)\n' "$load_before" "$load_after" "$(nproc)"

missed=0
awk -v m="$release_mb" 'BEGIN { exit !(m > 20) }' && { echo "MISSED: release binary over 20 MB"; missed=1; }
awk -v m="$plain_mb" 'BEGIN { exit !(m > 20) }' && { echo "MISSED: plain go build over 20 MB"; missed=1; }
awk -v a="$a" 'BEGIN { exit !(a > 15) }' && { echo "MISSED: arsctl --version over 15 ms"; missed=1; }
awk -v r="$ratio" 'BEGIN { exit !(r > 0.2) }' && { echo "MISSED: over 0.2x of $COMPARE"; missed=1; }
[ "$missed" = 0 ] && echo "targets met: <= 20 MB, <= 15 ms, <= 0.2x"
if [ "${CHECK:-0}" = 1 ]; then exit "$missed"; fi
