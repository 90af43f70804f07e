#!/usr/bin/env bash
#
# stop-postgres.sh DIR: stops the cluster start-postgres.sh started in DIR (fast shutdown: open
# sessions are ended) and removes DIR.
set -euo pipefail

dir=${1:?usage: stop-postgres.sh DIR}
[ -f "$dir/postgres.env" ] || exit 0
MW_PG_DATA= MW_PG_BIN=
source "$dir/postgres.env"
as_owner() { "$@"; }
[ "$(id -u)" -eq 0 ] && as_owner() { runuser -u postgres -- "$@"; }
as_owner "$MW_PG_BIN/pg_ctl" -D "$MW_PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
rm -rf "$dir"
