#!/usr/bin/env bash
# Two mail hosts on one PostgreSQL store against one host on it, in one run: two private Postfix
# instances, each with its own mailwardend (every feature but the scanners, as throughput.sh's row
# k), counting into one database (data on disk, fsync on). The two-host rounds feed both at once,
# SESSIONS/2 parallel sessions each, N messages in all, timed until both sinks hold theirs; the
# one-host rounds send all N through host A. Every message comes from one identity (ip:127.0.0.1),
# so both hosts update the same rows: the worst case for contention. Both hosts share this
# machine's cores, so the aggregate shows what the shared store costs, not what more machines gain.
# A measurement, not a test: never part of `make test`.
#   N=1000 SESSIONS=10 ROUNDS=3 MW_BIN=.build/release bash bench/two-hosts.sh
set -uo pipefail
cd "$(dirname "$0")/.."
MW_BIN=${MW_BIN:-.build/release}
N=${N:-1000}
SESSIONS=${SESSIONS:-10}
ROUNDS=${ROUNDS:-3}
source Tests/e2e/lib.sh

e2e_init "$(mktemp -d /dev/shm/mailwarden-two-hosts.XXXXXX)" >/dev/null || exit 1
DISK_DIR=$(mktemp -d /var/tmp/mailwarden-two-hosts.XXXXXX)
chmod 755 "$DISK_DIR"   # the cluster runs as user postgres, which must reach its data directory
trap 'hosts_stop A B; bash Tests/postgres/stop-postgres.sh "$DISK_DIR/pg" >/dev/null 2>&1; rm -rf "$DISK_DIR"; E2E_FINISHED=1; e2e_cleanup' EXIT
bash Tests/postgres/start-postgres.sh "$DISK_DIR/pg" --durable >/dev/null || exit 1
source "$DISK_DIR/pg/postgres.env"
psql "$MW_POSTGRES" -qc "CREATE DATABASE two_hosts" || exit 1

start_host() {
    pf_start "$E2E_DIR/$1/pf" >/dev/null || exit 1
    CFG_STORE="postgresql://mw@127.0.0.1:$MW_PG_PORT/two_hosts" CFG_RULES='ip client_address' \
        CFG_LIMIT_MESSAGES=100000000/1h CFG_LIMIT_SPAM=100000000/1h CFG_EXTRA="trusted_networks = 127.0.0.1/32
limit_recipients = none
identity_header = token
abuse_mailboxes = abuse@example.net
abuse_domains = example.net" mw_write_config "$E2E_DIR/$1.conf"
    mw_start "$E2E_DIR/$1.conf" "$E2E_DIR/$1.log" >/dev/null || exit 1
    host_save "$1"
}
start_host A
host_new_ports || exit 1
start_host B

# send HOST COUNT STREAMS: smtp-source into HOST's Postfix (in the background: the caller waits).
send() {
    host_use "$1"
    /usr/sbin/smtp-source -s "$3" -m "$2" -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$PF_PORT"
}
# holds HOST COUNT: HOST's sink holds at least COUNT messages.
holds() { host_use "$1"; [ "$(sink_count)" -ge "$2" ]; }
declare -A base
# run HOSTS...: N messages spread over HOSTS; prints msg/s once every sink holds its share.
run() {
    local h start pids=() share=$((N / $#)) streams=$((SESSIONS / $#))
    for h in "$@"; do host_use "$h"; base[$h]=$(sink_count); done
    start=$(date +%s.%N)
    for h in "$@"; do send "$h" "$share" "$streams" & pids+=($!); done
    wait "${pids[@]}" || return 1
    for h in "$@"; do wait_until 900 holds "$h" $((base[$h] + share)) || return 1; done
    echo "$((share * $#)) / ($(date +%s.%N) - $start)" | bc -l
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run A >/dev/null && run A B >/dev/null || exit 1   # warm-up: connections, plans, caches
one=() two=()
for r in $(seq "$ROUNDS"); do
    one+=("$(run A)") || exit 1
    two+=("$(run A B)") || exit 1
    log "round $r: one host ${one[-1]%.*} msg/s, two hosts ${two[-1]%.*} msg/s"
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
echo "## two hosts on one PostgreSQL store"
echo "| hosts | msg/s in all (median of $ROUNDS) | runs | vs one host |"
echo "|---|---|---|---|"
printf '| one (A) | %.0f | %s| 1.00 |\n' "$m1" "$(printf '%.0f ' "${one[@]}")"
printf '| two (A and B at once) | %.0f | %s| %.2f |\n' "$m2" "$(printf '%.0f ' "${two[@]}")" "$(echo "$m2 / $m1" | bc -l)"
echo "N=$N messages per round, $SESSIONS parallel sessions in all, 4 KiB, one identity; PostgreSQL $(psql -At "$MW_POSTGRES" -c 'show server_version'), data in /var/tmp, fsync on; both hosts on this machine."
