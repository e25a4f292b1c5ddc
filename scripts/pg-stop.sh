#!/usr/bin/env bash
# Stops the test PostgreSQL server started by scripts/pg-start.sh.
set -euo pipefail
dir=${ARS_PG_DIR:-/tmp/arsctl-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -f "$dir/postmaster.pid" ] || exit 0
if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast stop; else "$bin/pg_ctl" -D "$dir" -m fast stop; fi
