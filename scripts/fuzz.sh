#!/usr/bin/env bash
# Runs every fuzz target in the module for a while each (default 60s).
# `make test` already runs each target's seed corpus as a normal test;
# this explores beyond it. New crashers land in <pkg>/testdata/fuzz/.
# A second argument, a regular expression, runs only the targets whose
# names match it: scripts/fuzz.sh 60s 'ParseForms|Bearer'.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-60s}
only=${2:-.}
export PATH=/usr/local/go/bin:$PATH
status=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
  pkg=./$(dirname "$file")
  grep -Eq -- "$only" <<<"$name" || continue
  echo "== $pkg $name ($dur)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$dur" "$pkg" || status=1
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | sed 's|^\./||')
exit $status
