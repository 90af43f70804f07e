#!/usr/bin/env bash
#
# start-postgres.sh DIR [--durable]: starts a REAL, private PostgreSQL cluster for MailWarden's tests:
# initdb into DIR/data, listening on a free loopback port only (and a socket in DIR), trust
# authentication for the role `mw` (a throwaway test cluster; the README shows a production role).
# Writes DIR/postgres.env:
#
#   MW_POSTGRES=postgresql://mw@127.0.0.1:PORT/postgres   (a database the tests may create others from)
#   MW_PG_PORT=PORT   MW_PG_DATA=DIR/data   MW_PG_BIN=/usr/lib/postgresql/N/bin
#   MW_PG_OPTIONS="…"  (the server options, for a test that stops the cluster and starts it again)
#
# Without --durable the cluster runs with fsync off: the tests kill it and restart it, they never
# pull the power. Benchmarks pass --durable. Stop it with stop-postgres.sh DIR.
# initdb refuses to run as root: as root, the cluster runs as the `postgres` user (Debian's
# postgresql package creates it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# free_port, wait_until, log
source "$here/../e2e/lib.sh"

dir=${1:?usage: start-postgres.sh DIR [--durable]}
durable=${2:-}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "start-postgres: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

[ -f "$dir/postgres.env" ] && bash "$here/stop-postgres.sh" "$dir"
rm -rf "$dir"
mkdir -p "$dir"
as_owner() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    as_owner() { runuser -u postgres -- "$@"; }
fi

as_owner "$bin/initdb" -D "$dir/data" -A trust -U mw -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
port=$(free_port)
options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
[ "$durable" = --durable ] || options="$options -c fsync=off -c full_page_writes=off"
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start -o "$options" >/dev/null \
    || { cat "$dir/postgres.log" >&2; exit 1; }
cat > "$dir/postgres.env" <<ENV
MW_POSTGRES=postgresql://mw@127.0.0.1:$port/postgres
MW_PG_PORT=$port
MW_PG_DATA=$dir/data
MW_PG_BIN=$bin
MW_PG_OPTIONS="$options"
ENV
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $dir/data)"
