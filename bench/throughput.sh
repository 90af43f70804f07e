#!/usr/bin/env bash
# Messages/s through a private Postfix on tmpfs, smtp-source -> Postfix -> smtp-sink, without and
# with mailwardend (identity rule, store writes, lock checks and the outbound log on), alternating
# in one run. A measurement, not a test: never part of `make test`.
#   N=2000 SESSIONS=10 ROUNDS=3 MW_BIN=.build/release bash bench/throughput.sh
set -uo pipefail
cd "$(dirname "$0")/.."
MW_BIN=${MW_BIN:-.build/release}
N=${N:-2000}
SESSIONS=${SESSIONS:-10}
ROUNDS=${ROUNDS:-3}
source Tests/e2e/lib.sh

e2e_init "$(mktemp -d /dev/shm/mailwarden-bench.XXXXXX)" || exit 1
pf_start "$E2E_DIR/pf" || exit 1
CFG_RULES='ip client_address' CFG_LIMIT_MESSAGES=100000000/1h CFG_LIMIT_SPAM=100000000/1h \
    CFG_EXTRA=$'trusted_networks = 127.0.0.1/32\nlimit_recipients = none' mw_write_config "$E2E_DIR/mw.conf"
mw_start "$E2E_DIR/mw.conf" || exit 1

# run PORT: inject N messages (one per session, 4 KiB) and time until the sink holds them all.
run() {
    local port=$1 base start end
    base=$(sink_count)
    start=$(date +%s.%N)
    /usr/sbin/smtp-source -d -s "$SESSIONS" -m "$N" -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$port" || return 1
    wait_until 600 test_sink_has $((base + N)) || return 1
    end=$(date +%s.%N)
    echo "$N / ($end - $start)" | bc -l
}
test_sink_has() { [ "$(sink_count)" -ge "$1" ]; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run "$PF_PLAIN_PORT" >/dev/null && run "$PF_PORT" >/dev/null   # warm-up
plain=() milter=()
for r in $(seq "$ROUNDS"); do
    plain+=("$(run "$PF_PLAIN_PORT")")
    milter+=("$(run "$PF_PORT")")
    log "round $r: no milter ${plain[-1]%.*} msg/s, mailwardend ${milter[-1]%.*} msg/s"
done
a=$(printf '%s\n' "${plain[@]}" | median)
c=$(printf '%s\n' "${milter[@]}" | median)
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$MW_PID/status")
printf '| config | msg/s (median of %s) |\n|---|---|\n| a: no milter | %.0f |\n| c: mailwardend | %.0f |\n' "$ROUNDS" "$a" "$c"
printf 'c/a = %.2f; N=%s per run, %s sessions, one message per session; mailwardend peak RSS %s kB\n' \
    "$(echo "$c / $a" | bc -l)" "$N" "$SESSIONS" "$rss"
grep -c 'action=accept' "$MW_LOG" | xargs echo "messages the daemon logged as counted and accepted:"
E2E_KEEP=0 e2e_finish >/dev/null
