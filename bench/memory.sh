#!/usr/bin/env bash
# Resident memory of mailwardend after 10,000 messages from 1,000 identities (miltertest as the MTA).
# On a unix socket: over TCP, miltertest's back-to-back header packets (which get no reply) wait on
# Nagle and the daemon's delayed ACK, 40 ms at a time, and 10,000 messages took over 20 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MW_BIN:-.build/release}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
printf 'socket = unix:%s/mw.sock\nstore = %s/mw.db\nlimit_messages = 1000000/1h\nlimit_recipients = 1000000/1h\n' "$dir" "$dir" > "$dir/mw.conf"
"$bin/mailwardend" --config "$dir/mw.conf" 2> "$dir/daemon.log" &
pid=$!
for _ in $(seq 50); do [ -S "$dir/mw.sock" ] && break; sleep 0.1; done
rss() { awk '/VmRSS/ { print $2 }' /proc/$pid/status; }
echo "RSS at start: $(rss) kB"

miltertest -s bench/identities.lua -D socket="unix:$dir/mw.sock" -D messages=${MESSAGES:-10000} -D identities=${IDENTITIES:-1000}

echo "RSS after: $(rss) kB; peak: $(awk '/VmHWM/ { print $2 }' /proc/$pid/status) kB"
echo "identities in store: $(sqlite3 "$dir/mw.db" 'select count(*) from identities')"
