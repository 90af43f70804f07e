#!/usr/bin/env bash
#
# run.sh: mailwardend at the milter protocol level, for what negotiation changes (`make milter`,
# part of `make test`). No MTA: a real mailwardend on a loopback port, spoken to by
#   - negotiate.py: offers the negotiation as Postfix (protocol 6, every step) and as an older MTA
#     (protocol 2 steps only) and checks what mailwardend asks for;
#   - miltertest (Debian's, with suite.lua): a locked identity refused at MAIL FROM and at end of
#     message, chgheader by index, delrcpt, quarantine, abort mid-message; its -vv trace shows which
#     events got no reply.
# Postfix and Sendmail themselves negotiate with mailwardend in the e2e and recipes suites.
#   MW_BIN=.build/debug bash Tests/milter/run.sh
set -u
MILTER_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/lib.sh
. "$MILTER_TEST_DIR/../e2e/lib.sh"
MILTER_START=$SECONDS
E2E_DIR=$(mktemp -d /tmp/mailwarden-milter.XXXXXX)
mkdir -p "$E2E_DIR/checks"
DAEMON_PID=

daemon_stop() {
    stop_pid "$DAEMON_PID"
    DAEMON_PID=
}
milter_finish() {
    daemon_stop
    trap - EXIT INT TERM
    log "elapsed $((SECONDS - MILTER_START)) s"
    e2e_summary MILTER_KEEP
}
trap milter_finish EXIT INT TERM

# daemon_start NAME CONFIG_LINES [unix]: mailwardend on a fresh loopback port (or unix socket) and store.
daemon_start() {
    if [ "${3:-}" = unix ]; then
        SOCKET=unix:$E2E_DIR/$1.sock
    else
        PORT=$(free_port)
        SOCKET=inet:$PORT@127.0.0.1
    fi
    printf 'socket = %s\nstore = %s/%s.db\n%s\n' "$SOCKET" "$E2E_DIR" "$1" "$2" >"$E2E_DIR/$1.conf"
    "$MW_BIN/mailwardend" --config "$E2E_DIR/$1.conf" >"$E2E_DIR/$1.log" 2>&1 &
    DAEMON_PID=$!
    if [ "${3:-}" = unix ]; then
        wait_until 10 test -S "${SOCKET#unix:}"
    else
        wait_port_listening "$PORT" 10
    fi || { _fail "mailwardend starts ($1)" "see $E2E_DIR/$1.log"; return 1; }
}

# negotiated OFFERED_VERSION OFFERED_ACTIONS OFFERED_STEPS: "actions steps" mailwardend asked for.
negotiated() { timeout 10 python3 "$MILTER_TEST_DIR/negotiate.py" "$SOCKET" "$@" | awk 'NR == 1 { print $2, $3 }'; }
# macros_asked OFFERED_VERSION OFFERED_ACTIONS OFFERED_STEPS: the macro lists it asked for, "STAGE: NAMES;" each.
macros_asked() { timeout 10 python3 "$MILTER_TEST_DIR/negotiate.py" "$SOCKET" "$@" | awk '$1 == "macros" { $1 = ""; printf "%s;", $0 }'; }

# No reply to connect, RCPT and headers; no HELO, end-of-headers or unknown commands; SMFIS_SKIP;
# header values with their leading space.
SMFIP_NOHELO=0x2 SMFIP_NOBODY=0x10 SMFIP_NOEOH=0x40 SMFIP_NR_HDR=0x80 SMFIP_NOUNKNOWN=0x100 SMFIP_NODATA=0x200
SMFIP_SKIP=0x400 SMFIP_NR_CONN=0x1000 SMFIP_NR_RCPT=0x8000 SMFIP_HDR_LEADSPC=0x100000
STEPS=$((SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_SKIP | SMFIP_NR_CONN | SMFIP_NR_RCPT | SMFIP_HDR_LEADSPC))
# add headers, change headers, delete recipients, quarantine; SMFIF_SETSYMLIST where offered
ACTIONS=$((0x1 | 0x10 | 0x8 | 0x20)) SMFIF_SETSYMLIST=0x100
ALL_STEPS=0x1fffff ALL_ACTIONS=0x1ff

# run_suite PHASE: suite.lua's PHASE against the running daemon; the -vv trace is kept.
run_suite() {
    timeout 60 miltertest -vv -s "$MILTER_TEST_DIR/suite.lua" -D "socket=$SOCKET" -D "phase=$1" >"$E2E_DIR/$1.trace" 2>&1
    local rc=$?
    grep '^ok: ' "$E2E_DIR/$1.trace" | sed "s/^ok: /ok   - ($1) /"
    E2E_PASS=$((E2E_PASS + $(grep -c '^ok: ' "$E2E_DIR/$1.trace")))
    [ $rc -eq 0 ] || _fail "($1) miltertest suite.lua exits 0" "status $rc; last line: $(grep -v '^miltertest: ' "$E2E_DIR/$1.trace" | tail -1)"
}

# replies_after CMD TRACE: how many of the commands CMD that miltertest wrote were answered.
replies_after() {
    awk -v cmd="cmd $1," '/mt_milter_write/ { w = index($0, cmd) > 0; next }
        /mt_milter_read/ { if (w) n++; w = 0; next } END { print n + 0 }' "$2"
}
writes_of() { grep -c "mt_milter_write.*cmd $1," "$2"; }

for c in miltertest python3 timeout; do
    command -v "$c" >/dev/null || { _fail "preflight: $c" "not installed (make deps)"; milter_finish; }
done

echo "## negotiation: reports and abuse mailboxes on, lock_action = reject"
daemon_start reject "limit_messages = 1/1h
trusted_networks = 198.51.100.0/24
identity_rule = sasl macro {auth_authen} lowercase
identity_rule = user header X-Auth-User /^\\s*(?<id>\\S+)/ lowercase
identity_rule = cert macro {cert_subject}
identity_header = remove
abuse_mailboxes = abuse@example.com" || milter_finish
expect_eq "as Postfix offers it: no reply to connect, RCPT, headers; no HELO, EOH, unknown; SKIP; leading spaces; the body (for reports); its own macro lists" \
    "$(printf '%#x %#x' $((ACTIONS | SMFIF_SETSYMLIST)) $STEPS)" "$(negotiated 6 $ALL_ACTIONS $ALL_STEPS)"
expect_eq "the macros it reads, by event; MAIL FROM's with the one an identity rule names" \
    " 0: {daemon_name}; 2: {auth_authen} i {cert_subject}; 3: {rcpt_mailer}; 4: i; 5: i;" \
    "$(macros_asked 6 $ALL_ACTIONS $ALL_STEPS)"
expect_eq "an MTA offering only protocol 2's steps and two actions gets what it offers of them" \
    "$(printf '%#x %#x' $((ACTIONS & 0x3)) $((STEPS & 0x7f)))" "$(negotiated 2 0x3 0x7f)"
expect_eq "an MTA not offering SMFIF_SETSYMLIST is sent no macro lists" "" "$(macros_asked 6 $((ALL_ACTIONS & ~SMFIF_SETSYMLIST)) $ALL_STEPS)"
run_suite reject
T=$E2E_DIR/reject.trace
expect_eq "headers: $(writes_of L "$T") sent, none answered (SMFIP_NR_HDR)" 0 "$(replies_after L "$T")"
expect_eq "RCPT: $(writes_of R "$T") sent, none answered (SMFIP_NR_RCPT)" 0 "$(replies_after R "$T")"
expect_eq "connect: $(writes_of C "$T") sent, none answered (SMFIP_NR_CONN)" 0 "$(replies_after C "$T")"
expect_eq "MAIL FROM: every one answered (a locked identity is refused there)" "$(writes_of M "$T")" "$(replies_after M "$T")"
check "no HELO or end-of-headers was sent (SMFIP_NOHELO, SMFIP_NOEOH)" not grep -q 'cmd [HN],' "$T"
run_suite fewer
check "the MTA's missing SMFIF_CHGHDRS is named in the log" grep -q 'did not grant SMFIF_CHGHDRS at negotiation' "$E2E_DIR/reject.log"
daemon_stop

HOLD="limit_messages = 1/1h
lock_action = hold"
echo "## negotiation: no reports, no scanners, lock_action = hold, on a unix socket"
daemon_start hold "$HOLD" unix || milter_finish
expect_eq "neither the body nor DATA is asked for (SMFIP_NOBODY, SMFIP_NODATA: a stranger's mail was accepted at MAIL FROM)" \
    "$(printf '%#x %#x' $((ACTIONS | SMFIF_SETSYMLIST)) $((STEPS | SMFIP_NOBODY | SMFIP_NODATA)))" "$(negotiated 6 $ALL_ACTIONS $ALL_STEPS)"
run_suite hold
check "no body chunk was sent" not grep -q 'cmd B,' "$E2E_DIR/hold.trace"
check "no DATA was sent" not grep -q 'cmd T,' "$E2E_DIR/hold.trace"
daemon_stop
echo "## the same over TCP"
daemon_start hold-tcp "$HOLD" || milter_finish
expect_eq "DATA is asked for (answered, its answer spares Postfix a 40 ms wait on Nagle); the body is not" \
    "$(printf '%#x %#x' $((ACTIONS | SMFIF_SETSYMLIST)) $((STEPS | SMFIP_NOBODY)))" "$(negotiated 6 $ALL_ACTIONS $ALL_STEPS)"
daemon_stop

milter_finish
