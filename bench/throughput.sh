#!/usr/bin/env bash
# Messages/s through a private Postfix on tmpfs, smtp-source -> Postfix -> smtp-sink, alternating in
# one run: (a) no milter; (b) a C libmilter no-op that adds one header (bench/noop-milter.c: the
# floor of any libmilter milter here); (c) mailwardend with identity rule, store writes, lock checks
# and outbound log; (f) c with one message in 20 to an abuse mailbox, queued raw by the milter and
# parsed by the desk worker running beside it; and, when the scanners are installed, (d) c + rspamd
# and (e) c + spamd.
# A measurement, not a test: never part of `make test`.
#   N=1000 SESSIONS=10 ROUNDS=3 SCANNERS=1 MW_BIN=.build/release bash bench/throughput.sh
set -uo pipefail
cd "$(dirname "$0")/.."
MW_BIN=${MW_BIN:-.build/release}
N=${N:-1000}
SESSIONS=${SESSIONS:-10}
ROUNDS=${ROUNDS:-3}
source Tests/e2e/lib.sh

e2e_init "$(mktemp -d /dev/shm/mailwarden-bench.XXXXXX)" || exit 1
pf_start "$E2E_DIR/pf" || exit 1
configs=(b c f)
cc -O2 -o "$E2E_DIR/noop-milter" bench/noop-milter.c -lmilter || exit 1
# spamd with all its children forked up front: its adaptive pre-fork adds them only slowly.
if [ "${SCANNERS:-1}" = 1 ] && MW_SPAMD_CHILDREN=${MW_SPAMD_CHILDREN:-4} MW_SPAMD_MIN_CHILDREN=${MW_SPAMD_MIN_CHILDREN:-4} \
    bash Tests/scanners/start-scanners.sh "$E2E_DIR/scanners" >/dev/null 2>&1; then
    source "$E2E_DIR/scanners/scanners.env"
    trap 'bash Tests/scanners/stop-scanners.sh "$E2E_DIR/scanners" >/dev/null 2>&1; e2e_cleanup' EXIT
    configs+=(d e)
fi
stop_scanners() { [ -f "$E2E_DIR/scanners/scanners.env" ] && bash Tests/scanners/stop-scanners.sh "$E2E_DIR/scanners" >/dev/null 2>&1; }
METRICS_PORT=$(free_port)
write_config() {
    local name=$1 extra="trusted_networks = 127.0.0.1/32
limit_recipients = none
metrics_listen = 127.0.0.1:$METRICS_PORT"
    case $name in
        d) extra+=$'\n'"scanner = rspamd $MW_RSPAMD" ;;
        e) extra+=$'\n'"scanner = spamd $MW_SPAMD" ;;
        f) extra+=$'\n'"abuse_mailboxes = abuse@example.net"$'\n'"abuse_domains = example.net" ;;
    esac
    CFG_STORE=$E2E_DIR/var/$name.db CFG_RULES='ip client_address' CFG_LIMIT_MESSAGES=100000000/1h \
        CFG_LIMIT_SPAM=100000000/1h CFG_EXTRA=$extra mw_write_config "$E2E_DIR/$name.conf"
}
for c in "${configs[@]}"; do [ "$c" = b ] || write_config "$c"; done

test_sink_has() { [ "$(sink_count)" -ge "$1" ]; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# run PORT: inject N messages (one per session, 4 KiB) and time until the sink holds them all.
run() {
    local port=$1 base start end
    base=$(sink_count)
    start=$(date +%s.%N)
    /usr/sbin/smtp-source -d -s "$SESSIONS" -m "$N" -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$port" || return 1
    wait_until 900 test_sink_has $((base + N)) || return 1
    end=$(date +%s.%N)
    echo "$N / ($end - $start)" | bc -l
}
# run_with_reports PORT DB: N messages of which one in 20 goes to abuse@ (its own session stream);
# timed until the sink holds the others and the store DB holds (or has deduplicated) every report.
run_with_reports() {
    local port=$1 db=$2 base start end reports=$((N / 20)) stored0
    base=$(sink_count)
    stored0=$(reports_seen "$db")
    start=$(date +%s.%N)
    /usr/sbin/smtp-source -d -s $((SESSIONS - 1)) -m $((N - reports)) -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$port" &
    local others=$!
    /usr/sbin/smtp-source -d -s 1 -m "$reports" -l 4096 -f bench@$REALM -t abuse@example.net "127.0.0.1:$port" || return 1
    wait "$others" || return 1
    wait_until 900 test_sink_has $((base + N - reports)) || return 1
    _reports_in() { [ "$(reports_seen "$db")" -ge $((stored0 + reports)) ]; }
    wait_until 900 _reports_in || return 1
    end=$(date +%s.%N)
    echo "$N / ($end - $start)" | bc -l
}
# reports_seen DB: reports stored plus those refused as duplicates.
reports_seen() {
    sqlite3 "$1" "select (select count(*) from reports) + coalesce((select sum(count) from report_tallies where status = 'duplicate'), 0)"
}
# run_config NAME: one timed run of a configuration (a = no milter, b = the C no-op milter).
run_config() {
    if [ "$1" = a ]; then run "$PF_PLAIN_PORT"; return; fi
    if [ "$1" = b ]; then
        "$E2E_DIR/noop-milter" "inet:$MILTER_PORT@127.0.0.1" 2>>"$E2E_DIR/noop.log" &
        local noop=$!
        wait_port_listening "$MILTER_PORT" 10 || return 1
        run "$PF_PORT"
        kill -TERM "$noop"; wait_pid_gone "$noop" 15
        return
    fi
    mw_start "$E2E_DIR/$1.conf" >/dev/null || return 1
    if [ "$1" = f ]; then
        desk_start "$E2E_DIR/$1.conf" >/dev/null || return 1
        run_with_reports "$PF_PORT" "$E2E_DIR/var/$1.db"
        desk_stop
    else
        run "$PF_PORT"
    fi
    peak[$1]=$(awk '/VmHWM/ { print $2 }' "/proc/$MW_PID/status")
    curl -fsS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" | grep '^mailwarden_milter_message_seconds_bucket' >>"$E2E_DIR/hist-$1.txt"
    mw_stop >/dev/null
}

declare -A results peak
N_SAVED=$N; N=200
for c in a "${configs[@]}"; do run_config "$c" >/dev/null; done   # warm-up (rspamd/spamd caches too)
N=$N_SAVED
rm -f "$E2E_DIR"/hist-*.txt
# quantile Q FILE: the Q-quantile in microseconds of the daemon's per-message time histogram, summed
# over the rounds, interpolated within its bucket as Prometheus's histogram_quantile does.
quantile() {
    awk -v q="$1" '{ match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5); n[le == "+Inf" ? 1e99 : le + 0] += $NF }
        END { k = 0; for (le in n) bound[++k] = le + 0
              for (i = 2; i <= k; i++) for (j = i; j > 1 && bound[j - 1] > bound[j]; j--) { t = bound[j]; bound[j] = bound[j - 1]; bound[j - 1] = t }
              total = n[1e99]; rank = q * total; lo = 0; below = 0
              for (i = 1; i <= k; i++) { c = n[bound[i]]
                  if (c >= rank) { if (bound[i] == 1e99) { printf ">%.0f", lo * 1e6; exit }
                                   printf "%.0f", (lo + (bound[i] - lo) * (c > below ? (rank - below) / (c - below) : 1)) * 1e6; exit }
                  lo = bound[i]; below = c } }' "$2"
}
for r in $(seq "$ROUNDS"); do
    for c in a "${configs[@]}"; do
        v=$(run_config "$c")
        results[$c]+="$v "
        log "round $r: $c ${v%.*} msg/s"
    done
done
declare -A label=([a]="no milter" [b]="C no-op milter" [c]="mailwardend" [d]="mailwardend + rspamd" [e]="mailwardend + spamd"
                  [f]="mailwardend, 1 in 20 to abuse@ (desk running)")
printf '| config | msg/s (median of %s) | runs | vs a | vs b | peak RSS | time per message p50 / p99 |\n|---|---|---|---|---|---|---|\n' "$ROUNDS"
a=$(tr ' ' '\n' <<<"${results[a]}" | grep . | median)
cm=$(tr ' ' '\n' <<<"${results[b]}" | grep . | median)
for c in a "${configs[@]}"; do
    m=$(tr ' ' '\n' <<<"${results[$c]}" | grep . | median)
    runs=$(for v in ${results[$c]}; do printf '%.0f ' "$v"; done)
    pct=-
    [ -s "$E2E_DIR/hist-$c.txt" ] && pct="$(quantile 0.5 "$E2E_DIR/hist-$c.txt") / $(quantile 0.99 "$E2E_DIR/hist-$c.txt") µs"
    printf '| %s: %s | %.0f | %s| %.2f | %.2f | %s | %s |\n' "$c" "${label[$c]}" "$m" "$runs" "$(echo "$m / $a" | bc -l)" \
        "$(echo "$m / $cm" | bc -l)" "${peak[$c]:--}${peak[$c]:+ kB}" "$pct"
done
echo "N=$N per run, $SESSIONS sessions, one message per session, queue on tmpfs; release build."
echo "Time per message: mailwardend's own histogram (metrics_listen on), the sum of one message's milter callbacks, over all rounds."
stop_scanners   # e2e_finish drops the EXIT trap that would stop them
E2E_KEEP=0 e2e_finish >/dev/null
