#!/usr/bin/env bash
# Simulates a year of 200 printers and prints, for the forecast and the
# threshold order policies on the same traces, the printer-days with an
# empty supply, the median ink left when the new cartridge arrives, and the
# orders placed and skipped, with the same for the oracle, a reference no
# real policy can reach (it knows the true level and the expected use
# ahead). Arguments go to bench/forecast (-printers, -days, -seed, -seeds,
# -lead, -causes, -policies, -oracle-buffer, -oracle-extra).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/forecast "$@"
