#!/usr/bin/env bash
#
# stop-scanners.sh [DIR]: stops the spamd and rspamd that start-scanners.sh started (the PIDs in
# DIR/scanners.env, default /tmp/mailwarden-scanners) and removes the env file. SIGTERM to each main
# process stops its children too; after 10 s it is killed. rspamd's cache in DIR is kept.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# pid_alive, wait_pid_gone, log
source "$here/../e2e/lib.sh"

dir=${1:-/tmp/mailwarden-scanners}
envfile=$dir/scanners.env
[ -f "$envfile" ] || exit 0

MW_SPAMD_PID= MW_RSPAMD_PID=
source "$envfile"
for entry in "spamd:$MW_SPAMD_PID" "rspamd:$MW_RSPAMD_PID"; do
    name=${entry%%:*} pid=${entry#*:}
    # Only a process that still is the daemon we started (a PID may have been reused since).
    pid_alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$name" || continue
    kill -TERM "$pid"
    wait_pid_gone "$pid" 10 || { log "$name (pid $pid) ignored SIGTERM for 10 s; killing it"; kill -KILL "$pid"; }
done
rm -f "$envfile"
