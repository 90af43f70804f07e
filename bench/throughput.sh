#!/usr/bin/env bash
# Messages/s through a private Postfix (queue on tmpfs), smtp-source -> Postfix -> smtp-sink, one
# message per SMTP session unless a row says otherwise, alternating in one run:
#   a  no milter
#   b  a C libmilter no-op that answers every event and adds one header (bench/noop-milter.c: the
#      floor of a milter that negotiates nothing)
#   c  mailwardend with every feature but the scanners: identity rule, token header, abuse
#      mailboxes, store writes, lock checks, outbound log, metrics; store on tmpfs
#   g  c with the store on disk (production), 10^3 identities in it before the run
#   h  g with 10^6 identities in the store before the run
#   m  g with an hour of history for the sending identity: a second's buckets for each of the last
#      3,600 seconds, as a sender of a message a second leaves them (every count reads its windows)
#   i  c, and j  b, with 10 messages per SMTP session (a submission client on one connection)
#   f  c with one message in 20 to an abuse mailbox, queued raw by the milter and parsed by the
#      desk worker running beside it
#   k  g with the store in PostgreSQL instead (a private cluster, data on disk, fsync on), and
#   l  k with 10^6 identities in it
#   w  g, and x  k, with count_commit = write_behind (the sender is far from its limits: every count
#      after its first is committed after the answer), and y  w with 10^6 identities in the store
#   p  w with no abuse mailbox in the milter (reports through the pipe transport, as the package
#      ships it): no body to read, and over a unix socket (SOCKET=unix) no DATA event either
#   v  w with every message from another sender, named by an envelope_from rule (a hosting server's
#      many accounts, each sending now and then: no count of the identity in the last second), and
#   o  b with the same client: one smtp-source per message, each with its own envelope sender (the
#      client's cost is the same in both; compare v with o, not with a)
#   (g, h, k, l, w, p, x, y: one identity in 100 of those loaded is locked, so the milter's lock cache holds
#   10 or 10,000 locks)
#   d, e  c + rspamd, c + spamd (when the scanners are installed; SCANNERS=0 leaves them out)
# ROWS="b g k" runs only those rows (a is always run: every ratio needs it).
# For the milters it prints CPU per message (user + system from /proc, over the timed runs) and
# their per-message time in the callbacks (p50/p99: mailwardend's histogram, and the C no-op's own
# timing in the same buckets), and for mailwardend the time of its lock checks.
# SOCKET=unix puts every milter (the C no-op and mailwardend) on a unix-domain socket, as the
# packaged config does, instead of TCP on loopback.
# A measurement, not a test: never part of `make test`.
#   N=1000 SESSIONS=10 ROUNDS=3 SCANNERS=1 IDENTITIES=1000000 MW_BIN=.build/release bash bench/throughput.sh
set -uo pipefail
cd "$(dirname "$0")/.."
MW_BIN=${MW_BIN:-.build/release}
N=${N:-1000}
SESSIONS=${SESSIONS:-10}
ROUNDS=${ROUNDS:-3}
IDENTITIES=${IDENTITIES:-1000000}
source Tests/e2e/lib.sh

e2e_init "$(mktemp -d /dev/shm/mailwarden-bench.XXXXXX)" || exit 1
# Stores on disk for g and h (not tmpfs: /var/tmp).
DISK_DIR=$(mktemp -d /var/tmp/mailwarden-bench.XXXXXX)
pf_start "$E2E_DIR/pf" || exit 1
# Where Postfix reaches the milters (SOCKET=unix: a unix-domain socket; Postfix runs unchrooted here).
MILTER_SOCKET=inet:$MILTER_PORT@127.0.0.1
if [ "${SOCKET:-inet}" = unix ]; then
    MILTER_SOCKET=unix:$E2E_DIR/var/milter.sock   # var/: a directory smtpd (user postfix) reaches
    pf_postconf -e "smtpd_milters = $MILTER_SOCKET" "non_smtpd_milters = $MILTER_SOCKET" && pf_reload || exit 1
fi
# milter_listening: the milter's socket accepts (bounded; run_config removes a stale socket file
# before it starts the no-op, so the file's presence means the new one listens).
milter_listening() {
    case $MILTER_SOCKET in
        unix:*) wait_until 10 test -S "${MILTER_SOCKET#unix:}" ;;
        *) wait_port_listening "$MILTER_PORT" 10 ;;
    esac
}
configs=(${ROWS:-b c g h m j i f k l w p v o x y})
has_row() { [[ " ${configs[*]} " == *" $1 "* ]]; }
cc -O2 -o "$E2E_DIR/noop-milter" bench/noop-milter.c -lmilter || exit 1
# spamd with all its children forked up front: its adaptive pre-fork adds them only slowly.
if [ -z "${ROWS:-}" ] && [ "${SCANNERS:-1}" = 1 ] && MW_SPAMD_CHILDREN=${MW_SPAMD_CHILDREN:-4} MW_SPAMD_MIN_CHILDREN=${MW_SPAMD_MIN_CHILDREN:-4} \
    bash Tests/scanners/start-scanners.sh "$E2E_DIR/scanners" >/dev/null 2>&1; then
    source "$E2E_DIR/scanners/scanners.env"
    trap 'bash Tests/scanners/stop-scanners.sh "$E2E_DIR/scanners" >/dev/null 2>&1; rm -rf "$DISK_DIR"; e2e_cleanup' EXIT
    configs+=(d e)
fi
stop_scanners() { [ -f "$E2E_DIR/scanners/scanners.env" ] && bash Tests/scanners/stop-scanners.sh "$E2E_DIR/scanners" >/dev/null 2>&1; }
METRICS_PORT=$(free_port)
# k, l: a private PostgreSQL cluster with its data on disk and fsync on (as a production database).
if has_row k || has_row l || has_row x; then
    chmod 755 "$DISK_DIR"   # the cluster runs as user postgres, which must reach its data directory
    bash Tests/postgres/start-postgres.sh "$DISK_DIR/pg" --durable || exit 1
    source "$DISK_DIR/pg/postgres.env"
    trap 'bash Tests/postgres/stop-postgres.sh "$DISK_DIR/pg"; stop_scanners; rm -rf "$DISK_DIR"; e2e_cleanup' EXIT
    for db in k l x; do psql "$MW_POSTGRES" -qc "CREATE DATABASE $db" || exit 1; done
fi
store_of() {
    case $1 in
        g | h | m | w | p | v | y) echo "$DISK_DIR/$1.db" ;;
        k | l | x) echo "postgresql://mw@127.0.0.1:$MW_PG_PORT/$1" ;;
        *) echo "$E2E_DIR/var/$1.db" ;;
    esac
}
write_config() {
    local name=$1 extra="trusted_networks = 127.0.0.1/32
limit_recipients = none
identity_header = token
metrics_listen = 127.0.0.1:$METRICS_PORT"
    [ "$name" = p ] || extra+=$'\n'"abuse_mailboxes = abuse@example.net"$'\n'"abuse_domains = example.net"
    case $name in
        d) extra+=$'\n'"scanner = rspamd $MW_RSPAMD" ;;
        e) extra+=$'\n'"scanner = spamd $MW_SPAMD" ;;
        w | p | v | x | y) extra+=$'\n'"count_commit = write_behind" ;;
    esac
    local rules='ip client_address'
    [ "$name" = v ] && rules='sender envelope_from /^(?<id>[^@]+)@/ lowercase'
    CFG_STORE=$(store_of "$name") CFG_RULES=$rules CFG_LIMIT_MESSAGES=100000000/1h \
        CFG_LIMIT_SPAM=100000000/1h CFG_EXTRA=$extra mw_write_config "$E2E_DIR/$name.conf"
    local socket="socket = $MILTER_SOCKET"
    [[ $MILTER_SOCKET == unix:* ]] && socket+='\nsocket_group = postfix'
    sed -i "s|^socket = .*|$socket|" "$E2E_DIR/$name.conf"
}
for c in "${configs[@]}"; do case $c in b | j | o) ;; *) write_config "$c" ;; esac; done
# load_identities ROW COUNT: the store made by mailwardend once, then COUNT identities with their
# windows' rows, as a big host's store holds them, one in 100 of them locked.
load_identities() {
    local row=$1 count=$2 name="'ip:10.' || (i >> 16) || '.' || ((i >> 8) & 255) || '.' || (i & 255)"
    mw_start "$E2E_DIR/$row.conf" >/dev/null && mw_stop >/dev/null
    case $row in
        g | h | m | w | p | y) sqlite3 "$(store_of "$row")" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
                   INSERT INTO identities(name, first_seen, last_seen, messages) SELECT $name, 1, 1, 1 FROM n;
                   INSERT INTO window_events(identity_id, counter, at, amount) SELECT id, 'messages', strftime('%s', 'now') - 60, 1 FROM identities;
                   INSERT INTO locks(identity_id, locked_at, locked_by, automatic, reason) SELECT id, 1, 'bench', 0, 'bench' FROM identities WHERE id % 100 = 0;" ;;
        k | l | x) psql -q "$(store_of "$row")" -c "INSERT INTO identities(name, first_seen, last_seen, messages) SELECT $name, 1, 1, 1 FROM generate_series(1, $count) i" \
                   -c "INSERT INTO window_events(identity_id, counter, at, amount) SELECT id, 'messages', extract(epoch FROM now())::bigint - 60, 1 FROM identities" \
                   -c "INSERT INTO locks(identity_id, locked_at, locked_by, automatic, reason) SELECT id, 1, 'bench', 0, 'bench' FROM identities WHERE id % 100 = 0" \
                   -c "VACUUM ANALYZE" ;;
    esac || { echo "cannot load $count identities into $row's store" >&2; exit 1; }
    log "$row: $count identities loaded"
}
# load_history ROW: the sending identity (every message comes from 127.0.0.1) with a bucket of each
# counter for each of the last 3,600 seconds, and their running totals where the store keeps them.
load_history() {
    sqlite3 "$(store_of "$1")" "INSERT OR IGNORE INTO identities(name, first_seen, last_seen) VALUES('ip:127.0.0.1', 1, 1);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3600)
        INSERT INTO window_events(identity_id, counter, at, amount)
        SELECT id, c.counter, strftime('%s', 'now') - n.i, 1 FROM identities, n, (SELECT 'messages' AS counter UNION ALL SELECT 'recipients') c
        WHERE name = 'ip:127.0.0.1';" || { echo "cannot load the history into $1's store" >&2; exit 1; }
    if sqlite3 "$(store_of "$1")" "SELECT name FROM pragma_table_info('window_events')" | grep -qx running; then
        sqlite3 "$(store_of "$1")" "UPDATE window_events SET running = r.running FROM (SELECT identity_id, counter, at,
            SUM(amount) OVER (PARTITION BY identity_id, counter ORDER BY at) AS running FROM window_events) AS r
            WHERE window_events.identity_id = r.identity_id AND window_events.counter = r.counter AND window_events.at = r.at" || exit 1
    fi
    log "$1: an hour of history loaded for ip:127.0.0.1"
}
SMALL_IDENTITIES=1000
for c in g k m w p v x; do has_row "$c" && load_identities "$c" "$SMALL_IDENTITIES"; done
has_row m && load_history m
for c in h l y; do has_row "$c" && load_identities "$c" "$IDENTITIES"; done

test_sink_has() { [ "$(sink_count)" -ge "$1" ]; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# run PORT [PER_SESSION]: inject N messages of 4 KiB over SESSIONS parallel streams of SMTP sessions
# of PER_SESSION messages each (default 1), and time until the sink holds them all.
run() {
    local port=$1 per=${2:-1} base start end w
    base=$(sink_count)
    start=$(date +%s.%N)
    if [ "$per" = each ]; then
        # One smtp-source per message, each from a sender never seen before.
        local tag
        tag=$(date +%s%N)
        for w in $(seq "$SESSIONS"); do
            for i in $(seq $((N / SESSIONS))); do
                /usr/sbin/smtp-source -s 1 -m 1 -l 4096 -f "s$tag-$w-$i@$REALM" -t rcpt@example.net "127.0.0.1:$port" || exit 1
            done &
        done
        wait || return 1
    elif [ "$per" = 1 ]; then
        /usr/sbin/smtp-source -s "$SESSIONS" -m "$N" -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$port" || return 1
    else
        # smtp-source -d sends all its messages on one connection: N / SESSIONS / per of them per stream.
        for w in $(seq "$SESSIONS"); do
            for _ in $(seq $((N / SESSIONS / per))); do
                /usr/sbin/smtp-source -d -s 1 -m "$per" -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$port" || exit 1
            done &
        done
        wait || return 1
    fi
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
    /usr/sbin/smtp-source -s $((SESSIONS - 1)) -m $((N - reports)) -l 4096 -f bench@$REALM -t rcpt@example.net "127.0.0.1:$port" &
    local others=$!
    /usr/sbin/smtp-source -s 1 -m "$reports" -l 4096 -f bench@$REALM -t abuse@example.net "127.0.0.1:$port" || return 1
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
# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# thread_ticks PID: `name ticks` for each of the process's threads alive now, summed by name.
thread_ticks() {
    for t in /proc/"$1"/task/*; do
        # The name (comm) is in parentheses and may hold spaces: the fields after it are counted from its end.
        sed -E 's/^[0-9]+ \((.*)\) /\1\t/' "$t/stat" 2>/dev/null
    done | awk -F '\t' '{ split($2, f, " "); ticks[$1] += f[12] + f[13] } END { for (n in ticks) print n, ticks[n] }'
}
# per_session NAME: messages per SMTP session of a row.
per_session() { case $1 in i | j) echo 10 ;; v | o) echo each ;; *) echo 1 ;; esac; }
# run_config NAME: one timed run of a configuration (a = no milter, b and j = the C no-op milter);
# adds the milter's CPU ticks to cpu[NAME] and its message count to msgs[NAME].
run_config() {
    local v pid t0
    if [ "$1" = a ]; then run "$PF_PLAIN_PORT"; return; fi
    if [ "$1" = b ] || [ "$1" = j ] || [ "$1" = o ]; then
        [[ $MILTER_SOCKET == unix:* ]] && rm -f "${MILTER_SOCKET#unix:}"
        # umask 0: libmilter leaves its socket as the umask makes it, and smtpd (user postfix) must write to it.
        (umask 0; NOOP_HISTOGRAM="$E2E_DIR/noop-hist.txt" exec "$E2E_DIR/noop-milter" "$MILTER_SOCKET" 2>>"$E2E_DIR/noop.log") &
        pid=$!
        milter_listening || return 1
        t0=$(cpu_ticks "$pid")
        v=$(run "$PF_PORT" "$(per_session "$1")")
        cpu[$1]=$(( ${cpu[$1]:-0} + $(cpu_ticks "$pid") - t0 )); msgs[$1]=$(( ${msgs[$1]:-0} + N ))
        kill -TERM "$pid"; wait_pid_gone "$pid" 15
        cat "$E2E_DIR/noop-hist.txt" >>"$E2E_DIR/hist-$1.txt"
        echo "$v"
        return
    fi
    mw_start "$E2E_DIR/$1.conf" >/dev/null || return 1
    t0=$(cpu_ticks "$MW_PID")
    thread_ticks "$MW_PID" >"$E2E_DIR/threads-before.txt"
    if [ "$1" = f ]; then
        desk_start "$E2E_DIR/$1.conf" >/dev/null || return 1
        v=$(run_with_reports "$PF_PORT" "$(store_of f)")
        desk_stop
    else
        v=$(run "$PF_PORT" "$(per_session "$1")")
    fi
    cpu[$1]=$(( ${cpu[$1]:-0} + $(cpu_ticks "$MW_PID") - t0 )); msgs[$1]=$(( ${msgs[$1]:-0} + N ))
    # The long-lived named threads' share; a thread started during the run counts from zero.
    thread_ticks "$MW_PID" | awk 'NR == FNR { before[$1] = $2; next } $1 !~ /^mailwardend$/ { print $1, $2 - before[$1] }' \
        "$E2E_DIR/threads-before.txt" - >>"$E2E_DIR/threads-$1.txt"
    echo "$v"
    peak[$1]=$(awk '/VmHWM/ { print $2 }' "/proc/$MW_PID/status")
    curl -fsS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" >"$E2E_DIR/scrape.txt"
    grep '^mailwarden_milter_message_seconds_bucket' "$E2E_DIR/scrape.txt" >>"$E2E_DIR/hist-$1.txt"
    grep '^mailwarden_lock_check_seconds_bucket' "$E2E_DIR/scrape.txt" >>"$E2E_DIR/hist-lock-$1.txt"
    mw_stop >/dev/null
}

declare -A results peak cpu msgs
N_SAVED=$N; N=200
for c in a "${configs[@]}"; do run_config "$c" >/dev/null; done   # warm-up (rspamd/spamd caches too)
N=$N_SAVED
rm -f "$E2E_DIR"/hist-*.txt "$E2E_DIR"/hist-lock-*.txt "$E2E_DIR"/threads-*.txt
cpu=() msgs=()
# quantile Q FILE [FORMAT]: the Q-quantile in microseconds of one of the daemon's histograms, summed
# over the rounds, interpolated within its bucket as Prometheus's histogram_quantile does.
quantile() {
    awk -v q="$1" -v f="${3:-%.0f}" '{ match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5); n[le == "+Inf" ? 1e99 : le + 0] += $NF }
        END { k = 0; for (le in n) bound[++k] = le + 0
              for (i = 2; i <= k; i++) for (j = i; j > 1 && bound[j - 1] > bound[j]; j--) { t = bound[j]; bound[j] = bound[j - 1]; bound[j - 1] = t }
              total = n[1e99]; rank = q * total; lo = 0; below = 0
              for (i = 1; i <= k; i++) { c = n[bound[i]]
                  if (c >= rank) { if (bound[i] == 1e99) { printf ">" f, lo * 1e6; exit }
                                   printf f, (lo + (bound[i] - lo) * (c > below ? (rank - below) / (c - below) : 1)) * 1e6; exit }
                  lo = bound[i]; below = c } }' "$2"
}
for r in $(seq "$ROUNDS"); do
    for c in a "${configs[@]}"; do
        # Not in a subshell: run_config adds to cpu[] and msgs[].
        run_config "$c" >"$E2E_DIR/run.out"
        v=$(cat "$E2E_DIR/run.out")
        results[$c]+="$v "
        log "round $r: $c ${v%.*} msg/s"
    done
done
declare -A label=([a]="no milter" [b]="C no-op milter" [c]="mailwardend" [d]="mailwardend + rspamd" [e]="mailwardend + spamd"
                  [f]="mailwardend, 1 in 20 to abuse@ (desk running)" [g]="mailwardend, store on disk, $SMALL_IDENTITIES identities"
                  [m]="mailwardend, store on disk, the sender with an hour of history"
                  [h]="mailwardend, store on disk, $IDENTITIES identities" [i]="mailwardend, 10 messages per session"
                  [j]="C no-op milter, 10 messages per session" [k]="mailwardend, PostgreSQL store on disk, $SMALL_IDENTITIES identities"
                  [l]="mailwardend, PostgreSQL store on disk, $IDENTITIES identities"
                  [w]="mailwardend, store on disk, $SMALL_IDENTITIES identities, counts written behind"
                  [p]="w, reports through the pipe transport (no abuse mailbox in the milter)"
                  [x]="mailwardend, PostgreSQL store on disk, $SMALL_IDENTITIES identities, counts written behind"
                  [y]="mailwardend, store on disk, $IDENTITIES identities, counts written behind"
                  [v]="w, every message from another sender (one smtp-source each)" [o]="C no-op milter, one smtp-source per message")
printf '| config | msg/s (median of %s) | runs | vs a | vs no-op | milter CPU per message | peak RSS | time in callbacks p50 / p99 | lock check p50 / p99 |\n|---|---|---|---|---|---|---|---|---|\n' "$ROUNDS"
median_of() { tr ' ' '\n' <<<"${results[$1]:-}" | grep . | median; }
# ratio X Y: X / Y to two decimals, or - when either was not run.
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then printf '%.2f' "$(echo "$1 / $2" | bc -l)"; else echo -; fi; }
a=$(median_of a)
ticks=$(getconf CLK_TCK)
for c in a "${configs[@]}"; do
    m=$(median_of "$c")
    # A row's no-op is the C milter with the same messages per session.
    noop=$(median_of "$(case $(per_session "$c") in 10) echo j ;; each) echo o ;; *) echo b ;; esac)")
    runs=$(for v in ${results[$c]}; do printf '%.0f ' "$v"; done)
    pct=-
    [ -s "$E2E_DIR/hist-$c.txt" ] && pct="$(quantile 0.5 "$E2E_DIR/hist-$c.txt") / $(quantile 0.99 "$E2E_DIR/hist-$c.txt") µs"
    lock=-
    [ -s "$E2E_DIR/hist-lock-$c.txt" ] && lock="$(quantile 0.5 "$E2E_DIR/hist-lock-$c.txt" %.1f) / $(quantile 0.99 "$E2E_DIR/hist-lock-$c.txt" %.1f) µs"
    per=-
    [ -n "${msgs[$c]:-}" ] && per=$(echo "${cpu[$c]} * 1000000 / $ticks / ${msgs[$c]}" | bc -l | xargs printf '%.0f µs')
    printf '| %s: %s | %.0f | %s| %s | %s | %s | %s | %s | %s |\n' "$c" "${label[$c]}" "$m" "$runs" "$(ratio "$m" "$a")" \
        "$(ratio "$m" "$noop")" "$per" "${peak[$c]:--}${peak[$c]:+ kB}" "$pct" "$lock"
done
# Where mailwardend's CPU went: its named threads per message; the rest is libmilter's threads (its
# controller and workers, running our callbacks) and the main thread.
for c in "${configs[@]}"; do
    [ -s "$E2E_DIR/threads-$c.txt" ] || continue
    echo "$c, CPU per message by thread: $(awk -v n="${msgs[$c]}" -v t="$ticks" -v all="${cpu[$c]}" '
        { ticks[$1] += $2; named += $2 } END { for (k in ticks) if (ticks[k] > 0) printf "%s %.0f µs, ", k, ticks[k] * 1e6 / t / n
                                               printf "the others %.0f µs", (all - named) * 1e6 / t / n }' "$E2E_DIR/threads-$c.txt")"
done
has_row g && has_row k && echo "PostgreSQL against SQLite, both on disk: k / g = $(ratio "$(median_of k)" "$(median_of g)")"
has_row w && has_row y && echo "$IDENTITIES against $SMALL_IDENTITIES identities, counts written behind: y / w = $(ratio "$(median_of y)" "$(median_of w)")"
echo "N=$N per run, $SESSIONS parallel SMTP sessions of one message each (i, j: of 10), 4 KiB messages, queue on tmpfs,"
echo "store on tmpfs except g, h, m, w, p, v and y (/var/tmp) and k, l and x (PostgreSQL $(psql -At "${MW_POSTGRES:-}" -c 'show server_version' 2>/dev/null || echo -), data in /var/tmp, fsync on); release build."
echo "vs no-op: against b, or j for 10 messages per session. Every milter on $([[ $MILTER_SOCKET == unix:* ]] && echo "a unix-domain socket" || echo "TCP on loopback")."
echo "Milter CPU: user + system time of the milter process (/proc) over the timed runs, per message."
echo "Time in callbacks: the sum of one message's milter callbacks (MAIL FROM to end of message), over all rounds: mailwardend's"
echo "histogram (metrics_listen on); the C no-op times its own callbacks on the same clock into the same buckets."
echo "Lock check: mailwardend's mailwarden_lock_check_seconds (at MAIL FROM and at end of message), over all rounds."
stop_scanners   # e2e_finish drops the EXIT trap that would stop them (and the cluster)
bash Tests/postgres/stop-postgres.sh "$DISK_DIR/pg"
rm -rf "$DISK_DIR"   # the stores on disk (e2e_finish removes only the tmpfs work directory)
E2E_KEEP=0 e2e_finish >/dev/null
