#!/usr/bin/env bash
# How long a lock made on one host takes to reach another host's mailwardend, both on one
# PostgreSQL store: `mailwarden lock` with host A's config (here: the CLI), then host B's metrics
# endpoint polled (about every 2 ms) until its lock cache holds the lock (mailwarden_lock_cache_locks);
# the same for the unlock. Timed from the command's return (the change committed). R rounds; p50,
# p99, max. The CLI's own time (process start, connect, commit) is printed beside it.
# A measurement, not a test: never part of `make test`.
#   R=100 MW_BIN=.build/release bash bench/propagation.sh
set -uo pipefail
cd "$(dirname "$0")/.."
MW_BIN=${MW_BIN:-.build/release}
R=${R:-100}
source Tests/e2e/lib.sh

e2e_init "$(mktemp -d /dev/shm/mailwarden-propagation.XXXXXX)" >/dev/null || exit 1
bash Tests/postgres/start-postgres.sh "$E2E_DIR/pg" >/dev/null || exit 1
source "$E2E_DIR/pg/postgres.env"
trap 'mw_stop_quiet; bash Tests/postgres/stop-postgres.sh "$E2E_DIR/pg" >/dev/null 2>&1; E2E_FINISHED=1; e2e_cleanup' EXIT
psql "$MW_POSTGRES" -qc "CREATE DATABASE propagation" || exit 1
METRICS_PORT=$(free_port)
CFG_STORE="postgresql://mw@127.0.0.1:$MW_PG_PORT/propagation" CFG_EXTRA="metrics_listen = 127.0.0.1:$METRICS_PORT" \
    mw_write_config "$E2E_DIR/b.conf"
mw_start "$E2E_DIR/b.conf" >/dev/null || exit 1
# Host A: another process on the same database (the CLI needs no socket of its own).
cli() { "$MW_BIN/mailwarden" "$@" --config "$E2E_DIR/b.conf" >/dev/null; }

cache_locks() { curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | awk '$1 == "mailwarden_lock_cache_locks" { print $2 + 0 }'; }
# until_cache_holds N: microseconds until host B's cache holds N locks (bounded: 5 s).
until_cache_holds() {
    local want=$1 t0=${EPOCHREALTIME/./} now
    while [ "$(cache_locks)" != "$want" ]; do
        now=${EPOCHREALTIME/./}
        ((now - t0 > 5000000)) && { echo timeout; return 1; }
        sleep 0.002
    done
    echo $((${EPOCHREALTIME/./} - t0))
}
stats() { sort -n | awk '{ v[NR] = $1 } END { p = int(NR * 0.99 + 0.999); printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d rounds)", v[int((NR + 1) / 2)] / 1000, v[p] / 1000, v[NR] / 1000, NR }'; }

: >"$E2E_DIR/lock.us"; : >"$E2E_DIR/unlock.us"; : >"$E2E_DIR/cli.us"
for i in $(seq "$R"); do
    t=${EPOCHREALTIME/./}
    cli lock "sasl:user$i@example.net" --reason "bench round $i" || exit 1
    echo $((${EPOCHREALTIME/./} - t)) >>"$E2E_DIR/cli.us"
    until_cache_holds 1 >>"$E2E_DIR/lock.us" || exit 1
    cli unlock "sasl:user$i@example.net" --reason "bench round $i" || exit 1
    until_cache_holds 0 >>"$E2E_DIR/unlock.us" || exit 1
done
echo "## lock propagation between two hosts on one PostgreSQL store ($R rounds)"
echo "| step | time |"
echo "|---|---|"
echo "| \`mailwarden lock\` on host A (start, connect, commit) | $(stats <"$E2E_DIR/cli.us") |"
echo "| lock in host B's cache, from the commit | $(stats <"$E2E_DIR/lock.us") |"
echo "| unlock in host B's cache, from the commit | $(stats <"$E2E_DIR/unlock.us") |"
