#!/usr/bin/env bash
#
# Tests/e2e/postgres.sh: several mail servers, one truth. Two private Postfix instances ("host A"
# and "host B"), each with its own mailwardend, share one store in a REAL PostgreSQL cluster started
# here (initdb into the work directory, a loopback port). Checks that counts add up across hosts, a
# lock made through one host refuses mail on the other without a restart, an unlock anywhere lets
# it through everywhere, and that the database stopped mid-run makes both hosts tempfail (per
# on_error) and, started again, lets mail flow with neither daemon restarted; with on_error = accept
# a host accepts during the outage and counts the message once the database is back. Starts from one
# host's SQLite store moved into the database with `mailwarden migrate`. Ends with the count:
# messages lost and duplicated.
#
# Usage: MW_BIN=.build/debug bash Tests/e2e/postgres.sh        (as root; `make e2e` runs it)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

e2e_init || { echo "0 passed, 1 failed"; exit 1; }
PG_DIR=$E2E_DIR/pg

trap 'hosts_stop A B; bash "$here/../postgres/stop-postgres.sh" "$PG_DIR"; e2e_cleanup' EXIT

# pg_ctl as the cluster's owner (root runs it as postgres, as start-postgres.sh does).
pg_ctl_run() { runuser -u postgres -- "$MW_PG_BIN/pg_ctl" -D "$MW_PG_DATA" "$@" >/dev/null 2>&1; }

if [ "$(id -u)" != 0 ]; then
    _fail "preflight: root" "run as root (private Postfix instances, the cluster as user postgres)"
    e2e_finish
fi
if ! bash "$here/../postgres/start-postgres.sh" "$PG_DIR"; then
    _fail "postgresql: private cluster starts" "see $PG_DIR"
    e2e_finish
fi
. "$PG_DIR/postgres.env"
psql "$MW_POSTGRES" -qc "CREATE DATABASE mailwarden" >/dev/null
STORE="postgresql://mw@127.0.0.1:$MW_PG_PORT/mailwarden"
_pass "postgresql: private cluster on 127.0.0.1:$MW_PG_PORT"

ALICE=sasl:alice@$REALM BOB=sasl:bob@$REALM CAROL=sasl:carol@$REALM DAVE=sasl:dave@$REALM

echo "## (0) one host's SQLite store (a lock, a case with evidence) moved into the database: mailwarden migrate"
OLD_CONF=$E2E_DIR/sqlite.conf
CFG_STORE=$E2E_DIR/var/old.db mw_write_config "$OLD_CONF"
ARF=$here/../MailWardenReportsTests/Fixtures/reports/arf-rfc5965-b2-complete.eml
expect_eq "(0) an ARF report filed in the SQLite store" filed \
    "$("$MW_BIN/mailwarden" ingest --wait --json --config "$OLD_CONF" <"$ARF" | jq -r .status)"
check "(0) dave locked in the SQLite store" "$MW_BIN/mailwarden" lock "$DAVE" --reason "before the move" --config "$OLD_CONF"
old_cases=$("$MW_BIN/mailwarden" cases --json --config "$OLD_CONF")
old_case=$(jq -r '.[0].id' <<<"$old_cases")
old_evidence=$("$MW_BIN/mailwarden" case show "$old_case" --json --config "$OLD_CONF" | jq -c '[.reports[].evidence[] | .sha256]')
check "(0) the case has evidence" test "$old_evidence" != "[]"
check "(0) mailwarden migrate --to the database exits 0" \
    "$MW_BIN/mailwarden" migrate --to "$STORE" --config "$OLD_CONF"

# Host A takes the ports e2e_init chose; host B gets its own.
start_host() {
    local h=$1
    mkdir -p "$E2E_DIR/$h"
    if ! pf_start "$E2E_DIR/$h/pf"; then
        _fail "host $h: private Postfix starts" "see $E2E_DIR/$h/pf/postfix.log"
        e2e_finish
    fi
    HOST[$h.METRICS]=$(free_port)
    CFG_STORE=$STORE CFG_LIMIT_SPAM=3/1h CFG_EXTRA="metrics_listen = 127.0.0.1:${HOST[$h.METRICS]}" \
        mw_write_config "$E2E_DIR/$h/mailwarden.conf"
    if ! mw_start "$E2E_DIR/$h/mailwarden.conf" "$E2E_DIR/$h/mailwardend.log"; then
        _fail "host $h: mailwardend starts on the PostgreSQL store" "see $E2E_DIR/$h/mailwardend.log"
        e2e_finish
    fi
    _pass "host $h: Postfix on 127.0.0.1:$PF_PORT, mailwardend on :$MILTER_PORT, store $STORE"
    host_save "$h"
}
start_host A
host_new_ports || e2e_finish
start_host B
PID_A=${HOST[A.MW_PID]} PID_B=${HOST[B.MW_PID]}

SPAM=(--header "X-Spam-Flag: YES")
# Messages a host answered 250 for, and the tags of all of them, for the final count.
ACCEPTED_TAGS=()

# on HOST USER TAG [swaks args]: one authenticated message through HOST; sets CODE to its answer.
on() {
    local h=$1 user=$2 tag=$3
    shift 3
    host_use "$h"
    send_auth "$user" --header "Subject: $tag" "$@"
    # The first refusal (a lock or a dead store may answer at MAIL FROM already), else the DATA reply.
    CODE=$(swaks_error_code)
    [ -n "$CODE" ] || CODE=$(swaks_data_code)
    [ "$CODE" = 250 ] && ACCEPTED_TAGS+=("$tag")
    return 0
}
locked() { host_use "$1"; mw_locked_identities | grep -Fxq "$2"; }

host_use B
expect_eq "(0) host B lists the migrated cases" "$(jq -c '[.[] | {id, subject, type, reports}]' <<<"$old_cases")" \
    "$(mw_json cases --json | jq -c '[.[] | {id, subject, type, reports}]')"
expect_eq "(0) the migrated case keeps its evidence (sha256)" "$old_evidence" \
    "$("$MW_BIN/mailwarden" case show "$old_case" --json --config "$MW_CONF" | jq -c '[.reports[].evidence[] | .sha256]')"
on A dave "$(new_tag)"
check "(0) dave, locked before the move, is refused through host A" test "$CODE" != 250

echo "## (1) alice sends spam alternately through A and B: locked when the SUM crosses 3/1h"
for i in 1 2 3; do
    h=$([ $((i % 2)) = 1 ] && echo A || echo B)
    on "$h" alice "$(new_tag)" "${SPAM[@]}"
    expect_eq "(1) alice spam #$i through host $h accepted (the sum is $i of 3)" 250 "$CODE"
done
check "(1) after 3 spam on two hosts, alice is not locked yet" not locked A "$ALICE"
on B alice "$(new_tag)" "${SPAM[@]}"
expect_eq "(1) alice spam #4 through host B refused (550): 2 on A + 2 on B > 3" 550 "$CODE"
check "(1) host A's CLI lists alice's lock" locked A "$ALICE"
host_use A
expect_eq "(1) the lock names the spam counter" spam "$(mw_lock_field "$ALICE" counter)"
on A alice "$(new_tag)"
check "(1) alice's next (clean) message through host A is refused" test "$CODE" != 250

# host_metric HOST NAME: the value of one metric in a scrape of HOST, as printed.
host_metric() { curl -fsS --max-time 10 "http://127.0.0.1:${HOST[$1.METRICS]}/metrics" | awk -v k="$2" '$1 == k { print $2 }'; }

echo "## (1b) count_commit = write_behind on both hosts, limit_messages = 20/1h: carol alternately through A and B is locked at the limit, every count in the store"
# reload_host HOST: SIGUSR1, and wait (bounded) until its log says the new config is in force.
reload_host() {
    host_use "$1"
    local before
    before=$(grep -c "reload: new config" "$MW_LOG")
    kill -USR1 "$MW_PID"
    _reloaded() { [ "$(grep -c "reload: new config" "$MW_LOG")" -gt "$before" ]; }
    wait_until 10 _reloaded
}
for h in A B; do
    printf '%s\n' "count_commit = write_behind" "limit_messages = 20/1h" >>"$E2E_DIR/$h/mailwarden.conf"
    check "(1b) host $h reloads with count_commit = write_behind" reload_host "$h"
done
host_use A
counted_before=$(mw_json show "$CAROL" --json | jq -r '.messages // 0')
accepted=0 first_refused=
for i in $(seq 1 30); do
    h=$([ $((i % 2)) = 1 ] && echo A || echo B)
    on "$h" carol "$(new_tag)"
    if [ "$CODE" = 250 ]; then accepted=$((accepted + 1)); elif [ -z "$first_refused" ]; then first_refused=$i; fi
done
host_use A
counted=$(( $(mw_json show "$CAROL" --json | jq -r '.messages') - counted_before ))
log "(1b) 30 messages: $accepted accepted, the first refused was #$first_refused, $counted counted"
# Far from the limit each host answers before its count commits; near it (over half of 20) every
# count is synchronous on the shared store, so the lock falls on the 21st as without write-behind.
expect_eq "(1b) 20 accepted, the 21st refused (550)" "20 21" "$accepted $first_refused"
expect_eq "(1b) the store counted the 20 accepted and the crossing 21st" 21 "$counted"
expect_eq "(1b) carol's lock names the messages counter" messages "$(mw_lock_field "$CAROL" counter)"
wb_a=$(host_metric A mailwarden_counts_written_behind_total) wb_b=$(host_metric B mailwarden_counts_written_behind_total)
check "(1b) both hosts answered some counts before they committed (A $wb_a, B $wb_b)" test "${wb_a:-0}" -gt 0 -a "${wb_b:-0}" -gt 0
expect_eq "(1b) host A has no count left waiting once the messages are through (mailwarden_counts_written_behind_waiting)" 0.0 \
    "$(host_metric A mailwarden_counts_written_behind_waiting)"
for h in A B; do
    sed -i '/^count_commit = write_behind$/d; /^limit_messages = 20\/1h$/d' "$E2E_DIR/$h/mailwarden.conf"
    check "(1b) host $h reloads without them" reload_host "$h"
done
check "(1b) mailwarden unlock $CAROL" mw_cli unlock "$CAROL" --reason "e2e: write-behind done"

echo "## (2) a lock made through host A refuses bob's next message on host B, no restart"
on B bob "$(new_tag)"
expect_eq "(2) bob's message through B accepted before the lock" 250 "$CODE"
host_use A
t0=${EPOCHREALTIME/./}
check "(2) mailwarden lock $BOB with host A's config" mw_cli lock "$BOB" --reason "e2e: two hosts"
on B bob "$(new_tag)"
elapsed_ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
check "(2) bob's next message through host B is refused" test "$CODE" != 250
check "(2) host B refused it within 1 s of the lock command (took $elapsed_ms ms, message included)" test "$elapsed_ms" -lt 1000
expect_eq "(2) host B's mailwardend was not restarted" "$PID_B" "${HOST[B.MW_PID]}"
expect_eq "(2) host B's lock cache holds every lock in force (as many as mailwarden locks lists)" \
    "$(mw_json locks --json | jq length)" \
    "$(curl -fsS --max-time 10 "http://127.0.0.1:${HOST[B.METRICS]}/metrics" | awk '$1 == "mailwarden_lock_cache_locks" { print $2 + 0 }')"

echo "## (3) mailwarden unlock through host B lets alice through on host A"
host_use B
check "(3) mailwarden unlock $ALICE with host B's config" mw_cli unlock "$ALICE" --reason "e2e: reviewed"
on A alice "$(new_tag)"
expect_eq "(3) alice's message through host A accepted after the unlock on B" 250 "$CODE"
check "(3) bob stays locked" locked A "$BOB"

echo "## (4) the database stops mid-run: both hosts tempfail, known locks still refuse; started again, mail flows, no restart"
messages_before=$(host_use A; mw_json show "$CAROL" --json | jq -r '.messages // 0')
pg_ctl_run -m immediate stop
for h in A B; do
    on "$h" carol "$(new_tag)"
    expect_eq "(4) carol's message through host $h tempfailed (451) while the database is down" 451 "$CODE"
    on "$h" bob "$(new_tag)"
    expect_eq "(4) locked bob through host $h still gets the lock's 550 while the database is down (lock cache)" 550 "$CODE"
done
cache_age() { host_metric A mailwarden_lock_cache_age_seconds; }
age_at_least() { awk -v a="$(cache_age)" -v m="$1" 'BEGIN { exit !(a != "" && a + 0 >= m) }'; }
age_below() { awk -v a="$(cache_age)" -v m="$1" 'BEGIN { exit !(a != "" && a + 0 < m) }'; }
check "(4) host A's lock-cache age grows past 2 s while the database is down" wait_until 10 age_at_least 2
pg_ctl_run -l "$PG_DIR/postgres.log" -w -t 30 start -o "$MW_PG_OPTIONS"
# Each host's next message opens a fresh connection: no retry loop needed beyond the first try.
for h in A B; do
    on "$h" carol "$(new_tag)"
    expect_eq "(4) carol's message through host $h accepted once the database is back" 250 "$CODE"
done
on A bob "$(new_tag)"
check "(4) bob is still refused after the restart of the database" test "$CODE" != 250
host_use A
expect_eq "(4) carol's count resumed on both hosts (2 more messages)" $((messages_before + 2)) \
    "$(mw_json show "$CAROL" --json | jq -r '.messages')"
for h in A B; do
    host_use "$h"
    check "(4) host $h's mailwardend is still the one started (pid $MW_PID)" pid_alive "$MW_PID"
done
check "(4) host A's lock cache is confirmed again (age below 2 s)" wait_until 10 age_below 2
expect_eq "(4) neither daemon restarted" "$PID_A $PID_B" "${HOST[A.MW_PID]} ${HOST[B.MW_PID]}"
metrics_a=$(curl -fsS --max-time 10 "http://127.0.0.1:${HOST[A.METRICS]}/metrics")
check "(4) host A's metrics count the database errors of the outage" \
    awk '$1 == "mailwarden_store_database_errors_total" && $2 >= 2 { found = 1 } END { exit !found }' <<<"$metrics_a"
check "(4) host A's metrics show its open connections" \
    awk '$1 == "mailwarden_store_connections" && $2 >= 1 { found = 1 } END { exit !found }' <<<"$metrics_a"
check "(4) host A's metrics export its pool waits" awk '$1 == "mailwarden_store_pool_waits_total" { found = 1 } END { exit !found }' <<<"$metrics_a"

echo "## (4b) on_error = accept: host B accepts while the database is down, and counts it once the database is back"
host_use B
echo "on_error = accept" >>"$E2E_DIR/B/mailwarden.conf"
kill -USR1 "$MW_PID"
check "(4b) host B reloads with on_error = accept" wait_until 10 grep -q "reload: new config" "$E2E_DIR/B/mailwardend.log"
messages_before=$(mw_json show "$CAROL" --json | jq -r '.messages')
metric_b() { host_metric B "$1"; }
pg_ctl_run -m immediate stop
on B carol "$(new_tag)"
expect_eq "(4b) carol's message through host B accepted (250) while the database is down" 250 "$CODE"
on B bob "$(new_tag)"
expect_eq "(4b) locked bob through host B still gets the lock's 550" 550 "$CODE"
expect_eq "(4b) host B holds carol's message uncounted" 1.0 "$(metric_b mailwarden_uncounted_messages)"
pg_ctl_run -l "$PG_DIR/postgres.log" -w -t 30 start -o "$MW_PG_OPTIONS"
uncounted_none() { [ "$(metric_b mailwarden_uncounted_messages)" = 0.0 ]; }
check "(4b) host B counts it once the database is back (nothing left uncounted)" wait_until 15 uncounted_none
host_use B
expect_eq "(4b) carol's count holds the message accepted during the outage" $((messages_before + 1)) \
    "$(mw_json show "$CAROL" --json | jq -r '.messages')"
expect_eq "(4b) none dropped" 0 "$(metric_b mailwarden_uncounted_messages_dropped_total)"
check "(4b) host B's mailwardend is still the one started" pid_alive "$PID_B"

echo "## (5) the count: every accepted message delivered once, nothing else"
sink_lines() { local h; for h in A B; do host_use "$h"; grep -h '^Subject: ' "$PF_DIR"/sink/msg.* 2>/dev/null; done; }
_all_delivered() { [ "$(sink_lines | wc -l)" -ge "${#ACCEPTED_TAGS[@]}" ]; }
wait_until 20 _all_delivered
lost=0 duplicated=0
for tag in "${ACCEPTED_TAGS[@]}"; do
    n=$(sink_lines | grep -cFx "Subject: $tag")
    [ "$n" = 0 ] && lost=$((lost + 1))
    [ "$n" -gt 1 ] && duplicated=$((duplicated + n - 1))
done
extra=$(( $(sink_lines | wc -l) - ${#ACCEPTED_TAGS[@]} + lost - duplicated ))
log "accepted ${#ACCEPTED_TAGS[@]}, delivered $(sink_lines | wc -l): lost $lost, duplicated $duplicated, delivered though refused $extra"
expect_eq "(5) messages lost" 0 "$lost"
expect_eq "(5) messages duplicated" 0 "$duplicated"
expect_eq "(5) refused messages delivered" 0 "$extra"

hosts_stop A B
HOST=()
e2e_finish
