#!/usr/bin/env bash
# Generates shell completions and man pages for release packages.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf completions && mkdir -p completions docs/man
go build -o /tmp/arsctl-gen ./cmd/arsctl
for sh in bash zsh fish powershell; do
  /tmp/arsctl-gen completion "$sh" > "completions/arsctl.$sh"
done
/tmp/arsctl-gen gen-docs --man docs/man
rm -f /tmp/arsctl-gen
