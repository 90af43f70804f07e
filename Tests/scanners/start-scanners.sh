#!/usr/bin/env bash
#
# start-scanners.sh [DIR]: starts a REAL SpamAssassin spamd and a REAL rspamd on loopback ports for
# MailWarden's scanner tests, both offline, and writes DIR/scanners.env:
#
#   MW_SPAMD=127.0.0.1:PORT   MW_RSPAMD=127.0.0.1:PORT   (what the Swift tests read)
#   MW_SPAMD_PID=...          MW_RSPAMD_PID=...          (what stop-scanners.sh stops)
#
# Then:  set -a; . DIR/scanners.env; set +a; swift test --filter MailWardenScannersTests
# and:   bash Tests/scanners/stop-scanners.sh [DIR]
#
# DIR (default /tmp/mailwarden-scanners) holds the logs, spamd's home and rspamd's hyperscan cache,
# which is kept between runs: rspamd's first start compiles it for about 11 s, later ones take ~1 s.
# spamd: -L (local tests only) and dns_available no, so no DNSBL/URIBL/razor/pyzor; the rules are
# those Debian ships (GTUBE included, no sa-update). rspamd: the private rspamd-offline.conf beside
# this script, never Debian's stock config (that one reaches the internet).
# Needs: spamd spamassassin rspamd (Debian packages). Run as root, the daemons drop to their own
# users (debian-spamd, _rspamd); otherwise they run as the caller. MW_SPAMD_CHILDREN (default 2)
# sets spamd's --max-children, which bounds how many scans it runs at once; MW_SPAMD_MIN_CHILDREN
# (default 1) keeps that many children (and spares) ready: spamd forks more only slowly.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# free_port, wait_until, pid_alive, log
source "$here/../e2e/lib.sh"

dir=${1:-/tmp/mailwarden-scanners}
envfile=$dir/scanners.env

for tool in spamd rspamd; do
    command -v "$tool" >/dev/null || { echo "start-scanners: $tool is not installed (apt-get install spamd spamassassin rspamd)" >&2; exit 1; }
done
[ -f "$envfile" ] && bash "$here/stop-scanners.sh" "$dir"
mkdir -p "$dir/spamd/home" "$dir/rspamd/db" "$dir/rspamd/run"
: > "$envfile"

# Stop whatever this run started if it does not get to the end.
trap 'status=$?; [ $status -eq 0 ] || bash "$here/stop-scanners.sh" "$dir"' EXIT

spamd_users=()
rspamd_users=()
if [ "$(id -u)" -eq 0 ]; then
    chown debian-spamd:debian-spamd "$dir/spamd/home"
    chown _rspamd:_rspamd "$dir/rspamd/db" "$dir/rspamd/run"
    spamd_users=(-u debian-spamd -g debian-spamd)
    rspamd_users=(-u _rspamd -g _rspamd)
fi

# The protocols' own pings: a bare TCP connect would make spamd log a protocol error.
spamd_answers_ping() {
    local reply
    reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "PING SPAMC/1.5\r\n\r\n" >&3 && head -c 64 <&3' _ "$1" 2>/dev/null) || return 1
    [[ $reply == *PONG* ]]
}
rspamd_answers_ping() {
    local reply
    reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /ping HTTP/1.0\r\n\r\n" >&3 && head -c 512 <&3' _ "$1" 2>/dev/null) || return 1
    [[ $reply == *pong* ]]
}

# ready NAME PID LOG TIMEOUT PING PORT: wait for the ping; fail with the log's tail if the daemon dies or stays silent.
ready() {
    local name=$1 pid=$2 logfile=$3 timeout=$4 ping=$5 port=$6
    _up_or_dead() { ! pid_alive "$pid" || "$ping" "$port"; }
    if wait_until "$timeout" _up_or_dead && pid_alive "$pid"; then
        return 0
    fi
    echo "start-scanners: $name did not answer its ping on 127.0.0.1:$port within ${timeout}s; $logfile ends:" >&2
    tail -n 20 "$logfile" >&2
    return 1
}

spamd_port=$(free_port)
rspamd_port=$(free_port)

spamd -L -x -4 -i "127.0.0.1:$spamd_port" -A 127.0.0.1 "${spamd_users[@]}" -H "$dir/spamd/home" \
      --max-children "${MW_SPAMD_CHILDREN:-2}" --min-children "${MW_SPAMD_MIN_CHILDREN:-1}" \
      --min-spare "${MW_SPAMD_MIN_CHILDREN:-1}" --max-spare "${MW_SPAMD_CHILDREN:-2}" \
      --cf='dns_available no' --cf='bayes_auto_learn 0' -s stderr \
      </dev/null >"$dir/spamd/spamd.log" 2>&1 &
spamd_pid=$!
echo "MW_SPAMD_PID=$spamd_pid" >> "$envfile"

rspamd -f "${rspamd_users[@]}" -c "$here/rspamd-offline.conf" \
       --var DBDIR="$dir/rspamd/db" --var RUNDIR="$dir/rspamd/run" \
       --var NORMAL_PORT="$rspamd_port" --var LOGLEVEL=info \
       </dev/null >"$dir/rspamd/rspamd.log" 2>&1 &
rspamd_pid=$!
echo "MW_RSPAMD_PID=$rspamd_pid" >> "$envfile"

started=$EPOCHREALTIME
ready spamd "$spamd_pid" "$dir/spamd/spamd.log" 30 spamd_answers_ping "$spamd_port"
ready rspamd "$rspamd_pid" "$dir/rspamd/rspamd.log" 60 rspamd_answers_ping "$rspamd_port"
{
    echo "MW_SPAMD=127.0.0.1:$spamd_port"
    echo "MW_RSPAMD=127.0.0.1:$rspamd_port"
} >> "$envfile"
log "spamd on 127.0.0.1:$spamd_port (pid $spamd_pid), rspamd on 127.0.0.1:$rspamd_port (pid $rspamd_pid);" \
    "ready after $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s; env in $envfile"
