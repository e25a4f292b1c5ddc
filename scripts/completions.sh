#!/usr/bin/env bash
# Generates shell completions and man pages for release packages. The man
# pages are dated by the last commit (SOURCE_DATE_EPOCH, unless set) and
# carry the version GoReleaser builds (VERSION, else git describe), so
# that generating them twice gives the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
rm -rf completions && mkdir -p completions docs/man
# arsctl with the hidden gen-docs command (which arsctl itself leaves out).
go build -ldflags "-X main.version=${version}" -o /tmp/arsctl-gen ./internal/cli/gendocs/cmd/arsctl-docs
for sh in bash zsh fish powershell; do
  /tmp/arsctl-gen completion "$sh" > "completions/arsctl.$sh"
done
rm -f docs/man/*.1
/tmp/arsctl-gen gen-docs --man docs/man
rm -f /tmp/arsctl-gen
