#!/usr/bin/env bash
#
# run.sh: MailWarden end-to-end scenarios against a real, private Postfix on
# 127.0.0.1 (see lib.sh). Run as root from anywhere:
#
#   Tests/e2e/run.sh                 # everything; needs $MW_BIN binaries
#   E2E_POSTFIX_ONLY=1 Tests/e2e/run.sh   # only the Postfix/harness part
#
# Environment: MW_BIN (default .build/debug under the repo root), E2E_KEEP=1
# (keep the work directory), E2E_DIR (use this work directory), PF_PORT,
# PF_PLAIN_PORT, SINK_PORT, MILTER_PORT, LOCAL_USER (default nobody).
# Prints "ok"/"FAIL"/"skip" lines, then exactly one line "N passed, N failed";
# exits non-zero if anything failed. Missing binaries are a failure unless
# E2E_POSTFIX_ONLY=1.

set -u
E2E_START=$SECONDS
E2E_DIR_ARG=${E2E_DIR:-} # lib.sh resets E2E_DIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOCAL_USER=${LOCAL_USER:-nobody}

for c in ss mktemp; do
    command -v "$c" >/dev/null 2>&1 || { echo "run.sh: $c is required" >&2; echo "0 passed, 1 failed"; exit 1; }
done
e2e_init "$E2E_DIR_ARG" || { echo "0 passed, 1 failed"; exit 1; }

# ------------------------------------------------------------ preflight
missing=()
for c in postfix postconf postqueue postkick smtp-sink swaks saslpasswd2 jq cc ss runuser unshare timeout; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
    _fail "preflight: required commands" "missing: ${missing[*]}"
    e2e_finish
fi
if [ "$(id -u)" != 0 ]; then
    _fail "preflight: root" "run as root (private Postfix, smtp-sink -u postfix)"
    e2e_finish
fi

if ! pf_start "$E2E_DIR/pf"; then
    _fail "postfix: private instance starts" "see $E2E_DIR/pf/postfix.log"
    e2e_finish
fi
_pass "postfix: private instance starts (smtpd 127.0.0.1:$PF_PORT, sink :$SINK_PORT)"
# master logs its start a moment after it listens: wait (bounded) for the line.
wait_until 10 grep -q "configuration $E2E_DIR/pf/etc" "$E2E_DIR/pf/postfix.log"
check "postfix: instance uses its own config and queue" \
    grep -q "configuration $E2E_DIR/pf/etc" "$E2E_DIR/pf/postfix.log"

HAVE_LOCAL_USER=0
if [ "$LOCAL_USER" != root ] && local_user_supported; then
    HAVE_LOCAL_USER=1
    LOCAL_UID=$(user_uid "$LOCAL_USER")
else
    LOCAL_USER=root
    LOCAL_UID=0
    log "unshare -m not available: local submissions run as root"
fi

SPAM=(--header "X-Spam-Flag: YES")

# spam_from USER TAG [SMTP args]: one spam-flagged authenticated message.
spam_from() {
    local user=$1 tag=$2
    shift 2
    send_auth "$user" --header "Subject: $tag" "${SPAM[@]}" "$@"
}

# probe_conn LOG TAG: the probe-milter connection number whose Subject has TAG.
probe_conn() { awk -v t="$2" '$2 == "header" && $3 == "Subject:" && index($0, t) { print $1; exit }' "$1"; }

# ============================================================ P: Postfix only

echo "## P1: postfix without milter delivers to the sink (plain port)"
sink_base
tag=$(new_tag)
SMTP_PORT=$PF_PLAIN_PORT send_auth alice --header "Subject: $tag"
expect_eq "P1 auth submission accepted (swaks exit 0)" 0 $?
tag2=$(new_tag)
SMTP_PORT=$PF_PLAIN_PORT send_anon --header "Subject: $tag2"
expect_eq "P1 inbound to @example.net accepted from a stranger" 0 $?
SMTP_PORT=$PF_PLAIN_PORT send_anon --to victim@example.com --header "Subject: $(new_tag)"
expect_match "P1 stranger (127.0.0.2) cannot relay to other domains (554 at RCPT)" '^554' "$(swaks_first_error)"
sink_wait $((SINK_BASE + 2)) 10
check "P1 authenticated mail reached the sink" sink_has "Subject: $tag"
check "P1 inbound mail reached the sink" sink_has "Subject: $tag2"

echo "## P2: what Postfix shows a milter (probe-milter)"
if probe_start; then
    sink_base
    tag_auth=$(new_tag)
    send_auth alice --header "Subject: $tag_auth"
    expect_eq "P2 auth mail through milter accepted" 0 $?
    tag_anon=$(new_tag)
    send_anon --header "Subject: $tag_anon"
    tag_root=$(new_tag)
    send_local root someone@example.com "Subject: $tag_root"
    expect_eq "P2 sendmail as root exit 0" 0 $?
    tag_user=$(new_tag)
    send_local "$LOCAL_USER" someone@example.com "Subject: $tag_user" \
        "Received: by forged.example (Postfix, from userid 0)"
    expect_eq "P2 sendmail as $LOCAL_USER (uid $LOCAL_UID) exit 0" 0 $?
    sink_wait $((SINK_BASE + 4)) 15
    sleep 0.3 # the probe logs close after Postfix has moved on
    plog=$PROBE_LOG
    c_auth=$(probe_conn "$plog" "$tag_auth")
    c_anon=$(probe_conn "$plog" "$tag_anon")
    c_root=$(probe_conn "$plog" "$tag_root")
    c_user=$(probe_conn "$plog" "$tag_user")
    check "P2 milter saw all four messages" test -n "$c_auth" -a -n "$c_anon" -a -n "$c_root" -a -n "$c_user"
    check "P2 SMTP: {daemon_name}=smtpd at connect" \
        grep -q "^$c_auth macros@connect .*{daemon_name}=\[smtpd\]" "$plog"
    check "P2 SMTP AUTH: {auth_authen}=alice@$REALM at MAIL FROM" \
        grep -q "^$c_auth macros@mail .*{auth_authen}=\[alice@$REALM\]" "$plog"
    check "P2 SMTP anonymous: no {auth_authen}" \
        not grep -q "^$c_anon macros@mail .*{auth_authen}" "$plog"
    check "P2 stranger: the milter sees client address 127.0.0.2" \
        grep -q "^$c_anon connect host=.* addr=\[$STRANGER_ADDR\]" "$plog"
    check "P2 sendmail: {daemon_name}=mailwarden-local at connect" \
        grep -q "^$c_root macros@connect .*{daemon_name}=\[mailwarden-local\]" "$plog"
    check "P2 sendmail: emulated connect is host=localhost addr=127.0.0.1" \
        grep -q "^$c_root connect host=\[localhost\] addr=\[127.0.0.1\]" "$plog"
    check "P2 sendmail: {mail_addr} is the login name, qualified ($LOCAL_USER@$REALM)" \
        grep -q "^$c_user macros@mail .*{mail_addr}=\[$LOCAL_USER@$REALM\]" "$plog"
    check "P2 sink copy carries Postfix's 'from userid $LOCAL_UID' Received header" \
        sink_has "^Received: by $REALM \(Postfix, from userid $LOCAL_UID\)"
    check "P2 FACT: Postfix does NOT show its own Received: header to the milter (SMTP)" \
        not grep -q "^$c_auth header Received:" "$plog"
    check "P2 FACT: Postfix does NOT show its own Received: header to the milter (sendmail)" \
        not grep -q "^$c_root header Received:" "$plog"
    check "P2 FACT: a user-written Received: header IS shown to the milter (forgeable)" \
        grep -q "^$c_user header Received: by forged.example (Postfix, from userid 0)" "$plog"
    if [ "$HAVE_LOCAL_USER" = 1 ]; then
        # sendmail -f: a local user may not claim another sender.
        SENDMAIL_FROM=alice@$REALM send_local "$LOCAL_USER" someone@example.com "Subject: $(new_tag)"
        expect_eq "P2 sendmail -f alice@$REALM as $LOCAL_USER is refused (local_login_sender_maps)" 75 $?
        check "P2 ... with 'not authorized to use sender'" grep -q 'not authorized to use sender' "$E2E_DIR/sendmail.last"
    fi
    sink_settle 5
    probe_stop
else
    _fail "P2 probe-milter builds and listens" "see $E2E_DIR/probe-build.out"
fi

echo "## P4: does a later milter see a header an earlier one added (OpenDKIM's A-R before MailWarden)?"
P4_PORT=$(free_port)
if PROBE_ADD_HEADER="Authentication-Results: mx.e2e.test; dkim=pass header.d=isp.example" probe_start; then
    "$E2E_DIR/probe-milter" "inet:$P4_PORT@127.0.0.1" "$E2E_DIR/probe-later.log" 2>>"$E2E_DIR/probe.err" &
    P4_PID=$!
    disown "$P4_PID"
    wait_port_listening "$P4_PORT" 5
    pf_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER_PORT inet:127.0.0.1:$P4_PORT"
    pf_reload
    sink_base
    tag=$(new_tag)
    send_anon --header "Subject: $tag"
    sink_wait $((SINK_BASE + 1)) 15
    sleep 0.3
    c_later=$(probe_conn "$E2E_DIR/probe-later.log" "$tag")
    check "P4 the later milter saw the message" test -n "$c_later"
    # So MailWarden, after OpenDKIM/OpenDMARC/rspamd in smtpd_milters, stores a report with their
    # Authentication-Results field, and cannot tell it from one the sender forged: they must strip those.
    check "P4 FACT: a later milter DOES see the header an earlier milter added (after the client's)" \
        grep -q "^$c_later header Authentication-Results: mx.e2e.test; dkim=pass header.d=isp.example" "$E2E_DIR/probe-later.log"
    check "P4 ... which Postfix does add to the message (the sink copy has it)" \
        sink_has "^Authentication-Results: mx.e2e.test; dkim=pass header.d=isp.example"
    kill "$P4_PID" 2>/dev/null
    probe_stop
    pf_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER_PORT"
    pf_reload
else
    _fail "P4 probe-milter builds and listens" "see $E2E_DIR/probe-build.out"
fi

echo "## P3: milter down -> tempfail, the client keeps the mail"
check "P3 nothing listens on the milter port" not port_in_use "$MILTER_PORT"
sink_base
tag=$(new_tag)
send_auth alice --header "Subject: $tag"
rc=$?
check "P3 authenticated client: swaks fails (exit $rc)" test "$rc" -ne 0
expect_match "P3 authenticated client gets a 4xx (454 at AUTH)" '^4[0-9][0-9]' "$(swaks_first_error)"
check "P3 authenticated client: nothing queued" not grep -q 'queued as' "$SWAKS_LOG"
tag_anon=$(new_tag)
send_anon --header "Subject: $tag_anon"
expect_match "P3 anonymous client gets 451 4.7.1" '^451 4\.7\.1' "$(swaks_first_error)"
tag_local=$(new_tag)
rejects_before=$(pf_log_count 'cleanup.*milter-reject: CONNECT from localhost')
send_local root someone@example.com "Subject: $tag_local"
expect_eq "P3 sendmail still accepts (exit 0)" 0 $?
_local_tempfailed() { [ "$(pf_log_count 'cleanup.*milter-reject: CONNECT from localhost')" -gt "$rejects_before" ]; }
check "P3 cleanup-local tempfails the local message (milter-reject CONNECT, 4.7.1)" wait_until 10 _local_tempfailed
check "P3 local message waits in maildrop (not bounced, not lost)" test "$(queue_ids maildrop | wc -l)" -ge 1
sleep 0.5
check "P3 none of the three reached the sink" not sink_has "Subject: ($tag|$tag_anon|$tag_local)"
if probe_start; then
    postkick -c "$E2E_DIR/pf/etc" public pickup W >/dev/null 2>&1
    wait_until 15 sink_has "Subject: $tag_local"
    check "P3 the local message is delivered once a milter is back (not lost)" sink_has "Subject: $tag_local"
    sink_settle 5
    probe_stop
fi

# ============================================================ MailWarden

if [ "${E2E_POSTFIX_ONLY:-0}" = 1 ] || ! mw_have_binaries; then
    if [ "${E2E_POSTFIX_ONLY:-0}" = 1 ]; then
        skip "MailWarden scenarios" "E2E_POSTFIX_ONLY=1"
    else
        _fail "MailWarden binaries present" "no $MW_BIN/mailwardend or $MW_BIN/mailwarden (build first, or E2E_POSTFIX_ONLY=1)"
    fi
    log "elapsed $((SECONDS - E2E_START)) s"
    e2e_finish
fi

ALICE=sasl:alice@$REALM
BOB=sasl:bob@$REALM
CAROL=sasl:carol@$REALM
DAVE=sasl:dave@$REALM
LOCALID=local:$LOCAL_USER


# From here on main.cf's milter macro lists are narrowed, as another milter's recipe might narrow
# them: every check below then also shows that mailwardend gets the macros it reads ({auth_authen}
# for the SASL identity, {daemon_name} for local submissions, {rcpt_mailer} for abuse mailboxes,
# the queue id) because it asks Postfix for them itself (smfi_setsymlist).
pf_postconf -e "milter_connect_macros = j" "milter_mail_macros = {mail_addr}" "milter_rcpt_macros = {rcpt_addr}" \
    "milter_data_macros = {client_addr}" "milter_end_of_data_macros = {client_addr}"
pf_reload

# ------------------------------------------------------------ A: lock_action = reject
echo "## A: lock_action = reject"
CONF_A=$E2E_DIR/var/reject.conf
CFG_STORE=$E2E_DIR/var/reject.db mw_write_config "$CONF_A"
if ! mw_start "$CONF_A"; then
    _fail "A daemon starts with $CONF_A" "see $E2E_DIR/mailwardend.log"
    e2e_finish
fi
_pass "A daemon starts and listens on 127.0.0.1:$MILTER_PORT"

echo "## (1) alice: 3 spam-flagged messages pass, the 4th is refused and alice is locked"
sink_base
tags=()
for i in 1 2 3; do
    tags[i]=$(new_tag)
    spam_from alice "${tags[i]}"
    expect_eq "(1) alice spam #$i accepted (250)" 250 "$(swaks_data_code)"
done
sink_wait $((SINK_BASE + 3)) 10
for i in 1 2 3; do check "(1) alice spam #$i reached the sink" sink_has "Subject: ${tags[i]}"; done
tag4=$(new_tag)
spam_from alice "$tag4"
rc=$?
expect_eq "(1) alice spam #4 refused with 550 at end of DATA" 550 "$(swaks_data_code)"
expect_eq "(1) swaks exit 26 (server did not accept mail following data)" 26 "$rc"
locks_json=$(mw_json locks --json)
check "(1) locks --json is a JSON array" json_true 'type == "array"' <<<"$locks_json"
expect_eq "(1) locks --json lists $ALICE" "$ALICE" "$(jq -r --arg id "$ALICE" '.[] | select(.identity == $id) | .identity' <<<"$locks_json")"
expect_eq "(1) $ALICE lock is automatic" true "$(jq -r --arg id "$ALICE" '.[] | select(.identity == $id) | .automatic' <<<"$locks_json")"
check "(1) lock objects have identity, locked_at, reason, locked_by, automatic, expires_at" \
    json_true 'length > 0 and all(.[]; has("identity") and has("locked_at") and has("reason") and has("locked_by") and has("automatic") and has("expires_at"))' <<<"$locks_json"

echo "## (2) bob is not affected"
sink_base
tag=$(new_tag)
send_auth bob --header "Subject: $tag"
expect_eq "(2) bob's mail accepted (250)" 250 "$(swaks_data_code)"
tag_b2=$(new_tag)
spam_from bob "$tag_b2"
expect_eq "(2) bob's first spam-flagged mail accepted (under the limit)" 250 "$(swaks_data_code)"
sink_wait $((SINK_BASE + 2)) 10
check "(2) bob's mail reached the sink" sink_has "Subject: $tag"
check "(2) bob's spam-flagged mail reached the sink" sink_has "Subject: $tag_b2"
expect_eq "(2) bob is not locked" "" "$(mw_locked_identities | grep -Fx "$BOB")"

echo "## (3) inbound spam from a stranger is never counted"
ids_before=$(mw_identity_names | sort)
sink_base
for i in 1 2 3 4 5; do
    send_anon --header "Subject: $(new_tag) stranger-$i" "${SPAM[@]}"
    expect_eq "(3) stranger spam #$i to someone@example.net accepted" 250 "$(swaks_data_code)"
done
sink_wait $((SINK_BASE + 5)) 10
expect_eq "(3) all 5 reached the sink" 5 "$(sink_files_with 'stranger-[1-5]$')"
ids_json=$(mw_json identities --json)
check "(3) identities --json is a JSON array with identity/messages/recipients/spam" \
    json_true 'type == "array" and length > 0 and all(.[]; has("identity") and has("messages") and has("recipients") and has("spam"))' <<<"$ids_json"
expect_eq "(3) no identity was created for the stranger" "$ids_before" "$(jq -r '.[].identity' <<<"$ids_json" | sort)"
expect_eq "(3) nothing about the stranger in identities" "" "$(grep -iE 'stranger|outside\.example|127\.0\.0\.2' <<<"$ids_json")"
expect_eq "(3) locks: only alice" "$ALICE" "$(mw_locked_identities | sort | tr '\n' ' ' | sed 's/ $//')"

echo "## (4) unlock alice: her next message (even spam-flagged) arrives"
check "(4) mailwarden unlock $ALICE" mw_cli unlock "$ALICE" --reason "e2e: reviewed"
expect_eq "(4) alice no longer in locks" "" "$(mw_locked_identities | grep -Fx "$ALICE")"
sink_base
tag=$(new_tag)
spam_from alice "$tag"
expect_eq "(4) alice's spam-flagged message accepted after unlock" 250 "$(swaks_data_code)"
sink_wait $((SINK_BASE + 1)) 10
check "(4) it reached the sink" sink_has "Subject: $tag"

echo "## (5) manual lock: carol is refused"
check "(5) mailwarden lock $CAROL --reason test" mw_cli lock "$CAROL" --reason test
expect_eq "(5) carol in locks" "$CAROL" "$(mw_locked_identities | grep -Fx "$CAROL")"
expect_eq "(5) carol's lock is manual (automatic=false)" false "$(mw_lock_field "$CAROL" automatic)"
expect_eq "(5) carol's lock reason" test "$(mw_lock_field "$CAROL" reason)"
tag_c=$(new_tag)
send_auth carol --header "Subject: $tag_c"
expect_match "(5) carol's message refused with 550 (at MAIL FROM or end of DATA)" '^550' "$(swaks_first_error)"
check "(5) nothing queued for carol" not grep -q 'queued as' "$SWAKS_LOG"

echo "## (6) kill -9 and restart: locks survive"
mw_kill9
check "(6) daemon gone after kill -9" not port_in_use "$MILTER_PORT"
if mw_start "$CONF_A"; then
    _pass "(6) daemon restarts on the same store"
else
    _fail "(6) daemon restarts on the same store" "see $MW_LOG"
fi
expect_eq "(6) carol still locked after restart" "$CAROL" "$(mw_locked_identities | grep -Fx "$CAROL")"
send_auth carol --header "Subject: $(new_tag)"
expect_match "(6) carol still refused after restart (550)" '^550' "$(swaks_first_error)"
expect_eq "(6) show $CAROL --json names her" "$CAROL" "$(mw_json show "$CAROL" --json | jq -r '.identity')"
sink_settle 3
check "(6) carol's messages never reached the sink" not sink_has "Subject: $tag_c"

echo "## (8a) local submission with X-Auth-User: the header rule comes before the envelope rule"
sink_base
tag=$(new_tag)
send_local "$LOCAL_USER" someone@example.com "Subject: $tag" "X-Auth-User: Shop42"
expect_eq "(8a) sendmail exit 0" 0 $?
sink_wait $((SINK_BASE + 1)) 15
check "(8a) it reached the sink" sink_has "Subject: $tag"
expect_eq "(8a) identity user:shop42 (lowercased) counted 1 message" 1 "$(mw_identity_field user:shop42 messages)"

echo "## (10) local sendmail from $LOCAL_USER (uid $LOCAL_UID): counted, and held (never bounced) when locked"
# Postfix never shows its own Received: header to a milter (P2), so local senders are named by
# the envelope sender, which local_login_sender_maps pins to the login name.
sink_base
tag=$(new_tag)
send_local "$LOCAL_USER" someone@example.com "Subject: $tag"
expect_eq "(10a) sendmail exit 0" 0 $?
sink_wait $((SINK_BASE + 1)) 15
check "(10a) it reached the sink" sink_has "Subject: $tag"
expect_match "(10a) identity $LOCALID counted (messages >= 1)" '^[1-9][0-9]*$' "$(mw_identity_field "$LOCALID" messages)"
if [ "$LOCAL_USER" != root ]; then
    SENDMAIL_FROM=alice@$REALM send_local "$LOCAL_USER" someone@example.com "Subject: $(new_tag)"
    check "(10b) $LOCAL_USER cannot submit as another sender (local_login_sender_maps)" test $? -ne 0
fi

# (10c) hold, never bounce: lock the identity a local message does get here
# (user:shop42 from X-Auth-User, see (8a)); lock_action is reject, yet local
# mail must be held, because refusing it would make Postfix bounce it.
LOCAL_HDR_ID=user:shop42
check "(10c) mailwarden lock $LOCAL_HDR_ID --reason test" mw_cli lock "$LOCAL_HDR_ID" --reason test
holds_before=$(hold_queue_ids | sort)
n_before=$(grep -c . <<<"$holds_before")
bounced_before=$(pf_log_count 'status=bounced')
tag=$(new_tag)
send_local "$LOCAL_USER" someone@example.com "Subject: $tag" "X-Auth-User: shop42"
expect_eq "(10c) sendmail exit 0 while locked" 0 $?
_more_held() { [ "$(hold_queue_ids | wc -l)" -gt "$n_before" ]; }
wait_until 10 _more_held
new_hold=$(comm -13 <(echo "$holds_before") <(hold_queue_ids | sort) | grep . | head -1)
check "(10c) the locked local message is in the hold queue" test -n "$new_hold"
sink_settle 3
check "(10c) it did not reach the sink" not sink_has "Subject: $tag"
expect_eq "(10c) nothing bounced (no status=bounced in the Postfix log)" "$bounced_before" "$(pf_log_count 'status=bounced')"
check "(10c) no bounce or notice in the sink" not sink_has '^From: MAILER-DAEMON|Undelivered Mail|^X-Mail-Args: <>'
check "(10c) Postfix logged milter-hold (not milter-reject) for it" \
    grep -q "milter-hold: END-OF-MESSAGE .*from=<$LOCAL_USER@$REALM>" "$E2E_DIR/pf/postfix.log"
check "(10c) no milter-reject of local mail from $LOCAL_USER in the Postfix log" \
    not grep -q "milter-reject: .*from=<$LOCAL_USER@$REALM>" "$E2E_DIR/pf/postfix.log"
if [ -n "$new_hold" ]; then
    expect_eq "(10c) held $LOCAL_HDR_ID --json lists queue id $new_hold" "$new_hold" \
        "$(mw_held_queue_ids "$LOCAL_HDR_ID" | grep -Fx "$new_hold")"
fi

echo "## (7) daemon down: tempfail, the client keeps the mail"
mw_stop
check "(7) daemon stopped (SIGTERM)" not port_in_use "$MILTER_PORT"
sink_base
tag=$(new_tag)
send_auth alice --header "Subject: $tag"
expect_match "(7) alice's client gets a 4xx (454 at AUTH)" '^4[0-9][0-9]' "$(swaks_first_error)"
check "(7) nothing queued by Postfix" not grep -q 'queued as' "$SWAKS_LOG"
send_anon --header "Subject: $(new_tag)"
expect_match "(7) stranger's client gets 451" '^451' "$(swaks_first_error)"
sleep 0.5
expect_eq "(7) nothing new in the sink" "$SINK_BASE" "$(sink_count)"

# ------------------------------------------------------------ T: trusted_networks + header rule
echo "## (8) header identity for an unauthenticated client in trusted_networks"
CONF_T=$E2E_DIR/var/trusted.conf
CFG_STORE=$E2E_DIR/var/trusted.db CFG_EXTRA="trusted_networks = 127.0.0.1/32" mw_write_config "$CONF_T"
if mw_start "$CONF_T"; then
    sink_base
    tag=$(new_tag)
    send_app --header "Subject: $tag" --header "X-Auth-User: Shop42"
    expect_eq "(8) unauthenticated mail from 127.0.0.1 with X-Auth-User accepted" 250 "$(swaks_data_code)"
    send_anon --header "Subject: $(new_tag)" --header "X-Auth-User: Stranger7" "${SPAM[@]}"
    expect_eq "(8) stranger (127.0.0.2) with X-Auth-User accepted" 250 "$(swaks_data_code)"
    tag_d=$(new_tag)
    send_auth dave --header "Subject: $tag_d" --header "X-Auth-User: shop99"
    expect_eq "(8) dave (SASL) with X-Auth-User accepted" 250 "$(swaks_data_code)"
    sink_wait $((SINK_BASE + 3)) 10
    ids=$(mw_identity_names)
    expect_eq "(8) the stranger's header is ignored (not in trusted_networks): no user:stranger7" "" "$(grep -Fx user:stranger7 <<<"$ids")"
    expect_eq "(8) identity user:shop42 (lowercase) has 1 message" 1 "$(mw_identity_field user:shop42 messages)"
    expect_eq "(8) SASL rule wins for dave: $DAVE counted" 1 "$(mw_identity_field "$DAVE" messages)"
    expect_eq "(8) ... and no user:shop99" "" "$(grep -Fx user:shop99 <<<"$ids")"
    mw_stop
else
    _fail "(8) daemon starts with $CONF_T" "see $MW_LOG"
fi

# ------------------------------------------------------------ H: lock_action = hold
echo "## (9) lock_action = hold: the crossing message goes to the hold queue"
CONF_H=$E2E_DIR/var/hold.conf
CFG_STORE=$E2E_DIR/var/hold.db CFG_LOCK_ACTION=hold mw_write_config "$CONF_H"
if mw_start "$CONF_H"; then
    sink_base
    for i in 1 2 3; do
        spam_from alice "$(new_tag) hold-$i"
        expect_eq "(9) alice spam #$i accepted" 250 "$(swaks_data_code)"
    done
    sink_wait $((SINK_BASE + 3)) 10
    expect_eq "(9) the first 3 reached the sink" 3 "$(sink_files_with 'hold-[1-3]$')"
    tag=$(new_tag)
    spam_from alice "$tag"
    expect_eq "(9) the 4th is accepted by SMTP (250) ..." 250 "$(swaks_data_code)"
    qid=$(swaks_queue_id)
    check "(9) ... with a queue id" test -n "$qid"
    _is_held() { [ "$(queue_name_of "$qid")" = hold ]; }
    wait_until 5 _is_held
    expect_eq "(9) postqueue -j shows it in queue_name hold" hold "$(queue_name_of "$qid")"
    sink_settle 3
    check "(9) it did not reach the sink" not sink_has "Subject: $tag"
    expect_eq "(9) held $ALICE --json lists $qid" "$qid" "$(mw_held_queue_ids "$ALICE" | grep -Fx "$qid")"
    expect_eq "(9) alice is locked (automatic)" true "$(mw_lock_field "$ALICE" automatic)"
    mw_stop
else
    _fail "(9) daemon starts with $CONF_H" "see $MW_LOG"
fi

# ------------------------------------------------------------ M: mode = monitor
echo "## (11) mode = monitor: nothing is refused, nothing is locked, the log says 'would lock'"
CONF_M=$E2E_DIR/var/monitor.conf
CFG_STORE=$E2E_DIR/var/monitor.db CFG_MODE=monitor mw_write_config "$CONF_M"
if mw_start "$CONF_M"; then
    sink_base
    for i in 1 2 3 4 5; do
        spam_from alice "$(new_tag) monitor-$i"
        expect_eq "(11) alice spam #$i accepted in monitor mode" 250 "$(swaks_data_code)"
    done
    sink_wait $((SINK_BASE + 5)) 10
    expect_eq "(11) all 5 reached the sink" 5 "$(sink_files_with 'monitor-[1-5]$')"
    expect_eq "(11) locks --json is an empty array" 0 "$(mw_json locks --json | jq 'length')"
    sleep 0.3
    check "(11) daemon log says 'would lock'" grep -qi 'would lock' <(mw_log_since_start)
    mw_stop
else
    _fail "(11) daemon starts with $CONF_M" "see $MW_LOG"
fi

# ------------------------------------------------------------ N: token header, notices, reload
echo "## (12) identity_header = token, lock notices (mail + command), store permissions, SIGUSR1 reload"
CONF_N=$E2E_DIR/var/notify.conf
NOTICE_JSON=$E2E_DIR/var/notice.json
CFG_STORE=$E2E_DIR/var/notify.db CFG_EXTRA="trusted_networks = 127.0.0.1/32
identity_header = token
notify_email = ops@example.net
notify_from = mailwarden@$REALM
notify_smtp = 127.0.0.1:$PF_PLAIN_PORT
notify_command = cat > $NOTICE_JSON" mw_write_config "$CONF_N"
if mw_start "$CONF_N"; then
    sink_base
    tag=$(new_tag)
    send_app --header "Subject: $tag" --header "X-Auth-User: Shop9"
    expect_eq "(12) app mail with X-Auth-User accepted" 250 "$(swaks_data_code)"
    check "(12) it reached the sink" sink_wait_for "Subject: $tag" 30 "$(swaks_queue_id)"
    f=$(sink_grep "Subject: $tag" | head -1)
    check "(12) the delivered copy has no X-Auth-User header (the login is not exposed)" lacks_line '^X-Auth-User:' "$f"
    token=$(grep -i '^X-MailWarden-ID:' "$f" | head -1 | awk '{ print $2 }' | tr -d '\r')
    expect_match "(12) it carries X-MailWarden-ID: <22+ base64url chars>" '^[A-Za-z0-9_-]{22,}$' "$token"
    expect_eq "(12) ... with one space after the colon (header values negotiated with their leading space)" \
        "X-MailWarden-ID: $token" "$(grep -i '^X-MailWarden-ID:' "$f" | head -1 | tr -d '\r')"
    expect_eq "(12) the store maps the token back to user:shop9" user:shop9 \
        "$(sqlite3 "$E2E_DIR/var/notify.db" "select name from identities where token = '$token'")"
    expect_eq "(12) the store file is not world-accessible (mode 640)" 640 "$(stat -c %a "$E2E_DIR/var/notify.db")"
    # A message of shop9's to two organisations, which complain of it in (12b).
    tag=$(new_tag)
    send_app --to "victim@one.example,abuse@two.example" --header "Subject: $tag" --header "X-Auth-User: shop9"
    check "(12) shop9's mail to one.example and two.example reached the sink" sink_wait_for "Subject: $tag" 30 "$(swaks_queue_id)"
    SHOP9_ORIGINAL=$(sink_grep "Subject: $tag" | head -1)

    sink_base
    for i in 1 2 3 4; do send_app --header "Subject: $(new_tag) notice-$i" --header "X-Auth-User: shop9" "${SPAM[@]}"; done
    expect_match "(12) the 4th spam is refused" '^550' "$(swaks_first_error)"
    wait_until 15 test -s "$NOTICE_JSON"
    expect_eq "(12) notify_command got the lock as JSON on stdin" user:shop9 "$(jq -r .identity "$NOTICE_JSON" 2>/dev/null)"
    expect_eq "(12) ... with automatic = true" true "$(jq -r .automatic "$NOTICE_JSON" 2>/dev/null)"
    check "(12) a lock notice was mailed through notify_smtp to ops@example.net" sink_wait_for "^Subject: MailWarden locked user:shop9" 30

    # The lock notices follow the reloaded notify_command (they kept the first config's before).
    echo "notify_command = cat > $NOTICE_JSON.reloaded" >>"$CONF_N"
    kill -USR1 "$MW_PID"
    wait_until 10 grep -q "reload: new config" "$MW_LOG"
    check "(12) SIGUSR1 reloads the config" grep -q "reload: new config" "$MW_LOG"
    for i in 1 2 3 4; do send_auth carol --header "Subject: $(new_tag) notice-reloaded-$i" "${SPAM[@]}"; done
    expect_match "(12) after the reload carol's 4th spam is refused" '^550' "$(swaks_first_error)"
    wait_until 15 test -s "$NOTICE_JSON.reloaded"
    expect_eq "(12) the lock notice runs the reloaded notify_command" "sasl:carol@$REALM" "$(jq -r .identity "$NOTICE_JSON.reloaded" 2>/dev/null)"
    sed -i 's/^mode = .*//' "$CONF_N" && echo "mode = monitor" >>"$CONF_N"
    kill -USR1 "$MW_PID"
    wait_until 10 test "$(grep -c "reload: new config" "$MW_LOG")" -ge 2
    send_auth bob --header "Subject: $(new_tag) after-reload" "${SPAM[@]}"
    send_auth bob --header "Subject: $(new_tag) after-reload" "${SPAM[@]}"
    send_auth bob --header "Subject: $(new_tag) after-reload" "${SPAM[@]}"
    send_auth bob --header "Subject: $(new_tag) after-reload" "${SPAM[@]}"
    expect_eq "(12) after the reload to monitor mode bob's 4th spam is accepted" 250 "$(swaks_data_code)"
    echo "mode = bogus" >>"$CONF_N"
    kill -USR1 "$MW_PID"
    wait_until 10 grep -q "reload refused" "$MW_LOG"
    check "(12) a bad config on reload is refused with file:line" grep -q "reload refused.*notify.conf:[0-9]*: mode must be one of" "$MW_LOG"
    check "(12) the daemon is still running after the refused reload" pid_alive "$MW_PID"
    mw_stop
else
    _fail "(12) daemon starts with $CONF_N" "see $MW_LOG"
fi

echo "## (12b) a lock set by complaints notifies the admin too, naming the reports behind it"
# Complaints about shop9's mail (its token from (12)) through the pipe transport's ingest and the desk.
CONF_NC=$E2E_DIR/var/notify-complaints.conf
NOTICE_C_JSON=$E2E_DIR/var/notice-complaints.json
CFG_STORE=$E2E_DIR/var/notify.db CFG_EXTRA="identity_header = token
authserv_id = mx.e2e.test
limit_complaints = 1/1d
complaint_min_reporters = 2
notify_email = ops@example.net
notify_from = mailwarden@$REALM
notify_smtp = 127.0.0.1:$PF_PLAIN_PORT
notify_command = cat > $NOTICE_C_JSON" mw_write_config "$CONF_NC"
# complaint REPORTER AUTHENTICATION-RESULTS: an ARF report about shop9's message to one.example and
# two.example (as delivered: its Message-ID, Date, our Received and X-MailWarden-ID), queued by ingest.
complaint() {
    printf 'Authentication-Results: %s\nFrom: %s\nSubject: complaint\nMessage-ID: <%s@e2e.test>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=feedback-report; boundary=b1\n\n--b1\nContent-Type: text/plain\n\nabuse\n--b1\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: e2e/1\nVersion: 1\nSource-IP: 192.0.2.25\n\n--b1\nContent-Type: message/rfc822\n\n%s\n--b1--\n' \
        "$2" "$1" "$(new_tag)" "$(tr -d '\r' <"${SHOP9_ORIGINAL:-/dev/null}")" |
        "$MW_BIN/mailwarden" ingest --json --config "$CONF_NC" | jq -r .report_id
}
MW_CONF=$CONF_NC mw_cli unlock user:shop9 --reason "e2e: (12b) starts unlocked" >/dev/null
sink_base
forged=$(complaint fbl@invented.example "mx.attacker.example; dkim=pass header.d=invented.example")
# Authenticated by our MX, but not an organisation the message went to: anyone who got it could do this.
outsider=$(complaint fbl@outsider.example "mx.e2e.test; dkim=pass header.d=outsider.example")
first=$(complaint fbl@one.example "mx.e2e.test; dkim=pass header.d=one.example")
second=$(complaint abuse@two.example "mx.e2e.test; dkim=pass header.d=two.example")
"$MW_BIN/mailwarden" desk --once --config "$CONF_NC" >>"$E2E_DIR/desk.log" 2>&1
expect_eq "(12b) two authenticated complaints lock user:shop9 (the forged one does not count)" "true" \
    "$(MW_CONF=$CONF_NC mw_json show user:shop9 --json | jq -r '.lock.automatic')"
expect_eq "(12b) notify_command got the complaint lock, with the two counted reports" "user:shop9 $first,$second" \
    "$(jq -r '"\(.identity) \(.report_ids | map(tostring) | join(","))"' "$NOTICE_C_JSON" 2>/dev/null)"
check "(12b) the forged report ($forged) is not among them" not grep -q "\b$forged\b" <(jq -c .report_ids "$NOTICE_C_JSON")
check "(12b) the outsider's report ($outsider) is traced to shop9, not counted: the message was not sent to it" \
    grep -qF "report=${outsider:-0} status=filed format=arf type=spam cases=" "$E2E_DIR/desk.log"
expect_eq "(12b) ... the desk says why" \
    'identity=user:shop9 traced_by=token-header complaint="not counted: the original was not sent to outsider.example (its recipients: one.example, two.example)"' \
    "$(grep -F "report=${outsider:-0} " "$E2E_DIR/desk.log" | grep -o 'identity=.*complaint="[^"]*"')"
check "(12b) the notice was mailed to ops@example.net, naming the reports" \
    sink_wait_for "^Complaints that crossed the limit: reports $first, $second" 30

echo "## (12c) a stop waits for the lock notices in hand"
# Two locks whose notices take 4 s each: the second still waits in line at the SIGTERM.
CONF_NS=$E2E_DIR/var/notify-stop.conf
NOTICE_AT_STOP=$E2E_DIR/var/notice-at-stop.txt
CFG_STORE=$E2E_DIR/var/notify-stop.db CFG_EXTRA="trusted_networks = 127.0.0.1/32
notify_command = sleep 4; jq -r .identity >> $NOTICE_AT_STOP" mw_write_config "$CONF_NS"
if mw_start "$CONF_NS"; then
    for user in shop21 shop22; do
        for i in 1 2 3 4; do send_app --header "Subject: $(new_tag) stop-$user-$i" --header "X-Auth-User: $user" "${SPAM[@]}"; done
    done
    expect_match "(12c) shop22's 4th spam is refused" '^550' "$(swaks_first_error)"
    check "(12c) mailwardend stops by itself within 15 s" mw_stop
    expect_eq "(12c) both lock notices were sent before it exited" "user:shop21 user:shop22" "$(sort "$NOTICE_AT_STOP" 2>/dev/null | xargs)"
else
    _fail "(12c) daemon starts with $CONF_NS" "see $MW_LOG"
fi

# ------------------------------------------------------------ S: real spamd and rspamd
echo "## (13) spam verdicts from a real spamd and a real rspamd"
SCAN_DIR=$E2E_DIR/scanners
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
if bash "$E2E_LIB_DIR/../scanners/start-scanners.sh" "$SCAN_DIR" >"$E2E_DIR/scanners.log" 2>&1; then
    MW_SPAMD= MW_RSPAMD= MW_SPAMD_PID= MW_RSPAMD_PID=
    source "$SCAN_DIR/scanners.env"
    stop_scanners() { bash "$E2E_LIB_DIR/../scanners/stop-scanners.sh" "$SCAN_DIR" >/dev/null 2>&1; }
    for kind in spamd rspamd; do
        addr=$MW_SPAMD; [ "$kind" = rspamd ] && addr=$MW_RSPAMD
        CONF_S=$E2E_DIR/var/scan-$kind.conf
        CFG_STORE=$E2E_DIR/var/scan-$kind.db CFG_LIMIT_SPAM=2/1h CFG_EXTRA="scanner = $kind $addr
scanner_header = X-MailWarden-Spam" mw_write_config "$CONF_S"
        if ! mw_start "$CONF_S"; then _fail "(13) daemon starts with $CONF_S" "see $MW_LOG"; continue; fi
        sink_base
        tag=$(new_tag)
        send_auth bob --header "Subject: $tag ham" --body "Hello Bob, see you at lunch."
        expect_eq "(13 $kind) ham from bob accepted" 250 "$(swaks_data_code)"
        for i in 1 2; do
            send_auth alice --header "Subject: $(new_tag) gtube-$kind-$i" --body "$GTUBE"
            expect_eq "(13 $kind) GTUBE #$i below the limit is accepted" 250 "$(swaks_data_code)"
        done
        send_auth alice --header "Subject: $(new_tag) gtube-$kind-3" --body "$GTUBE"
        expect_match "(13 $kind) the 3rd GTUBE crosses limit_spam 2/1h and is refused" '^550' "$(swaks_first_error)"
        expect_eq "(13 $kind) alice is locked automatically" true "$(mw_lock_field "$ALICE" automatic)"
        expect_match "(13 $kind) the lock names the spam counter" 'spam 3 > 2/1h' "$(mw_lock_field "$ALICE" reason)"
        sink_wait $((SINK_BASE + 3)) 15
        f=$(sink_grep "Subject: $tag ham" | head -1)
        check "(13 $kind) bob's ham reached the sink" test -n "$f"
        check "(13 $kind) it carries X-MailWarden-Spam: no; ...; scanner=$kind" grep -qi "^X-MailWarden-Spam: no; score=.*; scanner=$kind" "${f:-/dev/null}"
        check "(13 $kind) the log line shows scanner, score and verdict" grep -q "scan=$kind:[0-9.]*/[0-9.]*:spam" "$MW_LOG"
        expect_match "(13 $kind) show lists the scanner, score and verdict of alice's last message" "^$kind [0-9.]+/[0-9.]+ spam\$" \
            "$(mw_json show "$ALICE" --json | jq -r '.recent_messages[0].scan')"
        mw_stop
    done

    echo "## (13) scanner down mid-run: skip delivers and counts the failure; tempfail keeps the mail with the client"
    CONF_F=$E2E_DIR/var/scan-fail.conf
    CFG_STORE=$E2E_DIR/var/scan-fail.db CFG_EXTRA="scanner = spamd $MW_SPAMD" mw_write_config "$CONF_F"
    if mw_start "$CONF_F"; then
        send_auth carol --header "Subject: $(new_tag) before" --body "scanned"
        expect_eq "(13 skip) carol's mail accepted while spamd is up" 250 "$(swaks_data_code)"
        stop_scanners
        sink_base
        tag=$(new_tag)
        send_auth carol --header "Subject: $tag after" --body "not scanned"
        expect_eq "(13 skip) with spamd down her mail is still accepted (scanner_failure = skip)" 250 "$(swaks_data_code)"
        sink_wait $((SINK_BASE + 1)) 15
        check "(13 skip) and delivered" sink_has "Subject: $tag after"
        wait_until 15 sh -c "'$MW_BIN/mailwarden' status --json --config '$CONF_F' | jq -e '.scanners[0].failures >= 1' >/dev/null"
        expect_eq "(13 skip) status counts the failure and shows spamd down" "1 false" \
            "$(mw_json status --json | jq -r '.scanners[0] | "\(.failures) \(.up)"')"
        mw_stop
        CFG_STORE=$E2E_DIR/var/scan-fail.db CFG_EXTRA="scanner = spamd $MW_SPAMD
scanner_failure = tempfail" mw_write_config "$CONF_F"
        if mw_start "$CONF_F"; then
            send_auth carol --header "Subject: $(new_tag) tempfail" --body "not scanned"
            expect_match "(13 tempfail) with spamd down and scanner_failure = tempfail the client gets 451" '^451' "$(swaks_first_error)"
            mw_stop
        fi
    else
        _fail "(13) daemon starts with $CONF_F" "see $MW_LOG"
    fi
    stop_scanners
else
    _fail "(13) spamd and rspamd start" "see $E2E_DIR/scanners.log"
fi

# ------------------------------------------------------------ D: the abuse desk
echo "## (14) mail to abuse@ becomes a case and is not delivered; other recipients still get it"
ARF_REPORT=$E2E_LIB_DIR/../MailWardenReportsTests/Fixtures/reports/arf-rfc5965-b2-complete.eml
CONF_D=$E2E_DIR/var/desk.conf
CFG_STORE=$E2E_DIR/var/desk.db CFG_EXTRA="abuse_mailboxes = abuse@example.net
abuse_domains = example.net" mw_write_config "$CONF_D"
if mw_start "$CONF_D" && desk_start "$CONF_D"; then
    sink_base
    send_anon --to abuse@example.net,noc@example.net --data "@$ARF_REPORT"
    expect_eq "(14) the stranger's report is accepted (250)" 250 "$(swaks_data_code)"
    sink_wait $((SINK_BASE + 1)) 15
    check "(14) noc@example.net still gets it" grep -q "to=<noc@example.net>.*status=sent" "$PF_DIR/postfix.log"
    sink_settle 3
    check "(14) abuse@example.net does not (the recipient was removed)" not grep -q "to=<abuse@example.net>.*status=sent" "$PF_DIR/postfix.log"
    check "(14) the milter only queued it, unread" grep -q 'abuse report report=1 status=queued' "$MW_LOG"
    desk_wait_drained "$E2E_DIR/var/desk.db" 10
    check "(14) the desk worker parsed and filed it" grep -q '^filed: report=1 status=filed format=arf type=spam' "$DESK_LOG"
    expect_eq "(14) one case, on the report's Source-IP, type spam" "192.0.2.1 ip spam" \
        "$(mw_json cases --json | jq -r '.[] | "\(.subject) \(.subject_kind) \(.type)"')"
    send_anon --to abuse@example.net --header "Subject: $(new_tag) only abuse" --body "Your host 198.51.100.66 is scanning our network."
    expect_eq "(14) a report to abuse@ alone is accepted (250), stored, then discarded" 250 "$(swaks_data_code)"
    sleep 0.3
    check "(14) the daemon says so" grep -q 'action=discard (stored' "$MW_LOG"
    desk_stop
    mw_stop
else
    _fail "(14) daemon starts with $CONF_D" "see $MW_LOG"
fi

echo "## (15) reports through a pipe(8) transport; a full disk tempfails, and the retry is stored once"
PIPE_DIR=$E2E_DIR/var/pipe
CONF_P=$E2E_DIR/var/pipe.conf
pf_add_ingest_pipe mwabuse "$PIPE_DIR" "$CONF_P"
pf_postconf -e "transport_maps = inline:{abuse-pipe@example.net=mwabuse:}"
pf_reload
# No milter runs now: submit on the plain smtpd port (the pipe transport is what is tested here).
SMTP_PORT=$PF_PLAIN_PORT send_app --to abuse-pipe@example.net --header "Subject: $(new_tag) via pipe" --body "Spam from 203.0.113.77 hit our trap."
expect_eq "(15) Postfix accepts the report for the pipe transport" 250 "$(swaks_data_code)"
wait_until 20 grep -q "to=<abuse-pipe@example.net>.*relay=mwabuse.*status=sent" "$PF_DIR/postfix.log"
check "(15) pipe(8) delivered it (ingest exited 0)" grep -q "to=<abuse-pipe@example.net>.*relay=mwabuse.*status=sent" "$PF_DIR/postfix.log"
expect_eq "(15) ingest queued it, unread" "queued" "$(sqlite3 "$PIPE_DIR/mwabuse.db" "select status from reports")"
"$MW_BIN/mailwarden" desk --once --config "$CONF_P" >>"$E2E_DIR/desk.log" 2>&1
expect_eq "(15) desk --once filed it on a case for 203.0.113.77" "203.0.113.77" \
    "$("$MW_BIN/mailwarden" cases --json --config "$CONF_P" | jq -r '.[].subject')"
expect_eq "(15) ingest --wait parses at once (isolated parser) and prints what the report became" "filed 203.0.113.78" \
    "$(printf 'From: r@isp.example\nSubject: spam\n\nSpam from 203.0.113.78 hit our trap.\n' |
        "$MW_BIN/mailwarden" ingest --wait --json --config "$CONF_P" | jq -r '"\(.status) \(.ips[0])"')"

# A full disk: the store lives on a 6 MB tmpfs that is then filled up.
FULL_DIR=$E2E_DIR/var/full
if [ -n "$E2E_DIR" ] && mkdir -p "$FULL_DIR" && mount -t tmpfs -o size=6m,mode=0755 tmpfs "$FULL_DIR"; then
    chown nobody "$FULL_DIR"
    CONF_F2=$E2E_DIR/var/full.conf
    CFG_STORE=$FULL_DIR/full.db CFG_EXTRA="abuse_mailboxes = abuse@example.net
abuse_domains = example.net" mw_write_config "$CONF_F2"
    chmod 644 "$CONF_F2"
    sed -i "s|--config $CONF_P |--config $CONF_F2 |" "$PF_DIR/etc/master.cf"
    pf_reload
    if mw_start "$CONF_F2"; then
        chown nobody "$FULL_DIR"/full.db*
        # Whole messages, Date and Message-ID fixed: a resend is the same report, byte for byte.
        for ip in 203.0.113.88 203.0.113.99; do
            { printf 'From: reporter@outside.example\r\nTo: abuse@example.net\r\nSubject: full-disk report\r\n'
              printf 'Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <full-%s@outside.example>\r\n\r\n' "$ip"
              echo "Spam from $ip"; head -c 600000 /dev/urandom | base64 -w 76; } >"$E2E_DIR/big-$ip.eml"
        done
        dd if=/dev/zero of="$FULL_DIR/filler" bs=4k 2>/dev/null
        send_anon --to abuse@example.net --data "@$E2E_DIR/big-203.0.113.88.eml"
        expect_match "(15) disk full: the milter tempfails the report (4xx), the sender keeps it" '^4' "$(swaks_first_error)"
        send_app --to abuse-pipe@example.net --data "@$E2E_DIR/big-203.0.113.99.eml"
        wait_until 20 grep -q "to=<abuse-pipe@example.net>.*status=deferred" "$PF_DIR/postfix.log"
        check "(15) disk full: ingest exits 75 and Postfix defers (keeps) the pipe report" \
            grep -q "to=<abuse-pipe@example.net>.*status=deferred" "$PF_DIR/postfix.log"
        rm -f "$FULL_DIR/filler"
        send_anon --to abuse@example.net --data "@$E2E_DIR/big-203.0.113.88.eml"
        expect_eq "(15) space freed: the retried report is accepted" 250 "$(swaks_data_code)"
        pf_flush
        wait_until 30 sh -c "[ \$(grep -c 'to=<abuse-pipe@example.net>.*relay=mwabuse.*status=sent' '$PF_DIR/postfix.log') -ge 2 ]"
        check "(15) space freed: Postfix's retry of the pipe report is delivered" \
            test "$(grep -c 'to=<abuse-pipe@example.net>.*relay=mwabuse.*status=sent' "$PF_DIR/postfix.log")" -ge 2
        send_anon --to abuse@example.net --data "@$E2E_DIR/big-203.0.113.88.eml"
        expect_eq "(15) each report is stored exactly once (the resent copy is a duplicate)" "1 1" \
            "$(sqlite3 "$FULL_DIR/full.db" "select count(*) from reports join report_raw on report_id = id where cast(raw as text) like '%203.0.113.88%'") $(sqlite3 "$FULL_DIR/full.db" "select count(*) from reports join report_raw on report_id = id where cast(raw as text) like '%203.0.113.99%'")"
        "$MW_BIN/mailwarden" desk --once --config "$CONF_F2" >>"$E2E_DIR/desk.log" 2>&1
        expect_eq "(15) ... and parsed once: each on one case, once" "203.0.113.88 1,203.0.113.99 1" \
            "$(mw_json cases --json | jq -r '[.[] | "\(.subject) \(.report_count)"] | sort | join(",")')"
        mw_stop
    else
        _fail "(15) daemon starts with $CONF_F2" "see $MW_LOG"
    fi
    umount "$FULL_DIR"
else
    skip "(15) full disk" "cannot mount a tmpfs here"
fi

echo "## (16) a unix socket (as for Debian's chrooted smtpd): mode 0660, and Postfix talks to it"
CONF_U=$E2E_DIR/var/unix.conf
SOCK=$E2E_DIR/var/mailwarden.sock
CFG_STORE=$E2E_DIR/var/unix.db mw_write_config "$CONF_U"
sed -i "s|^socket = .*|socket = unix:$SOCK\nsocket_group = postfix|" "$CONF_U"
mw_start "$CONF_U" "$E2E_DIR/mailwardend-unix.log" || _fail "(16) daemon starts with $CONF_U" "see $E2E_DIR/mailwardend-unix.log"
expect_eq "(16) the socket has mode 660 and group postfix (socket_group)" "660 postfix" "$(stat -c '%a %G' "$SOCK" 2>/dev/null)"
pf_postconf -e "smtpd_milters = unix:$SOCK" "non_smtpd_milters = unix:$SOCK"
pf_reload
send_auth dave --header "Subject: $(new_tag) over unix socket"
expect_eq "(16) dave's mail passes through the unix-socket milter (250)" 250 "$(swaks_data_code)"
wait_until 10 grep -q "identity=$DAVE " "$E2E_DIR/mailwardend-unix.log"
check "(16) the daemon named dave" grep -q "identity=$DAVE .*action=accept" "$E2E_DIR/mailwardend-unix.log"
# With no abuse mailbox the session has no use for DATA, and over a unix socket it is not asked for.
send_anon --header "Subject: $(new_tag) a stranger over unix socket"
expect_eq "(16) a stranger's mail passes too, with no DATA event (250)" 250 "$(swaks_data_code)"
check "(16) ... accepted at MAIL FROM, uncounted" wait_until 10 grep -q "scope=inbound action=accept (not counted)" "$E2E_DIR/mailwardend-unix.log"
mw_stop
pf_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER_PORT" "non_smtpd_milters = inet:127.0.0.1:$MILTER_PORT"
pf_reload

echo "## (17) metrics: a Prometheus scrape after a few messages shows the counts that were sent"
CONF_X=$E2E_DIR/var/metrics.conf
METRICS_PORT=$(free_port)
CFG_STORE=$E2E_DIR/var/metrics.db CFG_LIMIT_MESSAGES=2/1h CFG_EXTRA="metrics_listen = 127.0.0.1:$METRICS_PORT
abuse_mailboxes = abuse@example.net
abuse_domains = example.net" mw_write_config "$CONF_X"
if mw_start "$CONF_X" && desk_start "$CONF_X"; then
    wait_until 10 port_in_use "$METRICS_PORT"
    for i in 1 2 3; do send_auth carol --header "Subject: $(new_tag) metrics $i"; done # the 3rd crosses 2/1h: rejected
    send_auth carol --header "Subject: $(new_tag) metrics 4"                          # refused at MAIL FROM
    send_anon --to abuse@example.net --data "@$ARF_REPORT"                             # stored, then discarded
    mw_cli lock "sasl:mallory@$REALM" --reason "metrics test" >/dev/null
    mw_cli unlock "sasl:mallory@$REALM" >/dev/null
    desk_wait_drained "$E2E_DIR/var/metrics.db" 10
    SCRAPE=$(curl -fsS --max-time 10 -D "$E2E_DIR/metrics.headers" "http://127.0.0.1:$METRICS_PORT/metrics")
    printf '%s\n' "$SCRAPE" >"$E2E_DIR/metrics.txt"
    metric() { awk -v k="$1" '$1 == k { print $2 }' <<<"$SCRAPE"; }
    check "(17) served as Prometheus text" grep -qi '^content-type: text/plain; version=0.0.4' "$E2E_DIR/metrics.headers"
    expect_eq "(17) any other path is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$METRICS_PORT/")"
    expect_eq "(17) a request head of 8 KiB with no line end is refused at the cap (400)" "HTTP/1.1 400 Bad Request" \
        "$(timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$METRICS_PORT; head -c 8192 /dev/zero | tr '\\0' a >&3; head -1 <&3" | tr -d '\r')"
    # Clients that connect and say nothing (any local user can) do not keep a scrape waiting: served
    # one at a time, three of them held it 15 s, past Prometheus's 10 s scrape timeout.
    exec 4<>"/dev/tcp/127.0.0.1/$METRICS_PORT" 6<>"/dev/tcp/127.0.0.1/$METRICS_PORT" 7<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
    expect_eq "(17) three silent clients do not delay the next scrape (answered within 2 s)" 200 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics")"
    exec 4<&- 6<&- 7<&-
    # One that sends a byte every 2 s (each read is quick) is dropped at the connection's 5 s:
    # timed per read, it had held the listener for as long as it trickled (here 40 s, bounded by the loop).
    (exec 5<>"/dev/tcp/127.0.0.1/$METRICS_PORT"; for _ in $(seq 20); do printf a >&5 2>/dev/null || break; sleep 2; done) &
    TRICKLER=$!
    sleep 0.5
    expect_eq "(17) a client trickling its request does not delay the next scrape" 200 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics")"
    check "(17) the trickling client is dropped after 5 s (its writes fail, it stops)" wait_pid_gone "$TRICKLER" 15
    kill "$TRICKLER" 2>/dev/null; wait "$TRICKLER" 2>/dev/null
    expect_eq "(17) messages by action: 2 accepted, 2 rejected, 1 discarded, 0 tempfailed" "2 2 1 0" \
        "$(metric 'mailwarden_messages_total{action="accept"}') $(metric 'mailwarden_messages_total{action="reject"}') $(metric 'mailwarden_messages_total{action="discard"}') $(metric 'mailwarden_messages_total{action="tempfail"}')"
    expect_eq "(17) the per-message time histogram counted all 5" 5 "$(metric mailwarden_milter_message_seconds_count)"
    expect_eq "(17) one lock check found carol locked" 1 "$(metric 'mailwarden_lock_checks_total{result="locked"}')"
    expect_eq "(17) every lock check was timed, in buckets from 1 µs" \
        "$(( $(metric 'mailwarden_lock_checks_total{result="locked"}') + $(metric 'mailwarden_lock_checks_total{result="clear"}') )) yes" \
        "$(metric mailwarden_lock_check_seconds_count) $(grep -q '^mailwarden_lock_check_seconds_bucket{le="0.000001"}' <<<"$SCRAPE" && echo yes)"
    expect_eq "(17) locks: 1 automatic (carol), 1 by an admin (mallory, then unlocked); 1 locked now" "1 1 1 1.0" \
        "$(metric 'mailwarden_locks_total{by="auto"}') $(metric 'mailwarden_locks_total{by="admin"}') $(metric 'mailwarden_unlocks_total{by="admin"}') $(metric mailwarden_identities_locked)"
    expect_eq "(17) the ARF report is counted by format, type and status" 1 \
        "$(metric 'mailwarden_reports_total{format="arf",type="spam",status="filed"}')"
    expect_eq "(17) no store errors, nothing in triage, nothing left queued" "0 0.0 0.0" \
        "$(metric mailwarden_store_errors_total) $(metric mailwarden_triage_reports) $(metric mailwarden_reports_queued)"
    desk_stop
    mw_stop
else
    _fail "(17) daemon starts with $CONF_X" "see $MW_LOG"
fi

echo "## (18) hostile reports never stop the mail: stored raw by the milter and the pipe, parsed by the isolated desk worker"
HOSTILE=$E2E_DIR/hostile
python3 "$E2E_LIB_DIR/hostile-reports.py" "$HOSTILE"
HOSTILE_COUNT=$(ls "$HOSTILE"/*.eml | wc -l)
CONF_H=$E2E_DIR/var/hostile.conf
DB_H=$E2E_DIR/var/hostile.db
CFG_STORE=$DB_H CFG_EXTRA="abuse_mailboxes = abuse@example.net
abuse_domains = example.net
desk_parse_timeout = 3s" mw_write_config "$CONF_H"
if mw_start "$CONF_H" && DESK_ENV=MAILWARDEN_TEST_PARSER_FAULTS=1 desk_start "$CONF_H"; then
    answered=""
    for f in "$HOSTILE"/*.eml; do
        send_anon --to abuse@example.net --data "@$f"
        answered="$answered $(swaks_data_code)"
        send_auth dave --header "Subject: $(new_tag) beside $(basename "$f")"
        answered="$answered $(swaks_data_code)"
    done
    expect_eq "(18) each hostile report is accepted (250), and dave's mail after each too" \
        "$(printf ' 250 250%.0s' $(seq "$HOSTILE_COUNT"))" "$answered"
    check "(18) mailwardend is still up" pid_alive "$MW_PID"
    check "(18) it never read them: only queued" not grep -E 'abuse report report=[0-9]+ status=(filed|triage)' "$MW_LOG"
    # A parse that traps and one that spins (debug builds only: MAILWARDEN_TEST_PARSER_FAULTS=1).
    send_anon --to abuse@example.net --header "X-MailWarden-Test-Fault: trap" --header "Subject: trap" --body "Spam from 192.0.2.81"
    expect_eq "(18) a report whose parse traps is accepted (250)" 250 "$(swaks_data_code)"
    send_anon --to abuse@example.net --header "X-MailWarden-Test-Fault: loop" --header "Subject: loop" --body "Spam from 192.0.2.82"
    expect_eq "(18) a report whose parse spins is accepted (250)" 250 "$(swaks_data_code)"
    send_auth dave --header "Subject: $(new_tag) while the desk is stuck"
    expect_eq "(18) the mail flow does not notice the stuck parser (250)" 250 "$(swaks_data_code)"
    send_anon --to abuse@example.net --header "Subject: after the bombs" --body "Spam from 203.0.113.83 hit our trap."
    desk_wait_drained "$DB_H" 60
    total=$((HOSTILE_COUNT + 3))
    expect_eq "(18) every report ended filed, in triage or ignored: $total stored, 0 queued, 0 lost" "$total 0" \
        "$(sqlite3 "$DB_H" "select count(*) from reports where status in ('filed','triage','ignored')") $(sqlite3 "$DB_H" "select count(*) from reports where status = 'queued'")"
    expect_eq "(18) the trapping parse: in triage, raw bytes kept, with the signal" "triage|parser died: signal 4|1" \
        "$(sqlite3 "$DB_H" "select status, reason, instr(cast(raw as text), '192.0.2.81') > 0 from reports join report_raw on report_id = id where cast(raw as text) like '%Fault: trap%'")"
    expect_eq "(18) the spinning parse: in triage after two budgets" "triage|parser over its 3 s budget|2" \
        "$(sqlite3 "$DB_H" "select status, reason, failed_parses from reports join report_raw on report_id = id where cast(raw as text) like '%Fault: loop%'")"
    expect_eq "(18) the report after them is filed on 203.0.113.83" "filed" \
        "$(sqlite3 "$DB_H" "select status from reports join report_raw on report_id = id where cast(raw as text) like '%203.0.113.83%'")"
    expect_eq "(18) triage raw gives the trapping report back as it arrived" 1 \
        "$("$MW_BIN/mailwarden" triage raw --config "$CONF_H" "$(sqlite3 "$DB_H" "select id from reports join report_raw on report_id = id where cast(raw as text) like '%Fault: trap%'")" | grep -c 'Spam from 192.0.2.81')"
    desk_stop
    mw_stop
else
    _fail "(18) daemon and desk worker start with $CONF_H" "see $MW_LOG and $E2E_DIR/desk.log"
fi

echo "## (18) kill -9 of the desk worker mid-parse: the report is parsed after the restart, filed once"
CONF_K=$E2E_DIR/var/deskkill.conf
DB_K=$E2E_DIR/var/deskkill.db
CFG_STORE=$DB_K CFG_EXTRA="abuse_mailboxes = abuse@example.net
abuse_domains = example.net
desk_parse_timeout = 60s" mw_write_config "$CONF_K"
if mw_start "$CONF_K" && DESK_ENV=MAILWARDEN_TEST_PARSER_FAULTS=1 desk_start "$CONF_K"; then
    send_anon --to abuse@example.net --header "X-MailWarden-Test-Fault: loop" --header "Subject: slow" --body "Spam from 198.51.100.44 hit our trap."
    _parsing() { pgrep -f "mailwarden desk-parser" >/dev/null; }
    wait_until 10 _parsing
    sleep 1
    kill -9 "$DESK_PID"
    _orphan_gone() { ! pgrep -f "mailwarden desk-parser" >/dev/null; }
    check "(18) the orphaned parser ends by itself within 3 s" wait_until 3 _orphan_gone
    expect_eq "(18) the report is still queued, no failure counted against it" "queued 0" \
        "$(sqlite3 "$DB_K" "select status || ' ' || failed_parses from reports")"
    desk_start "$CONF_K" # no fault injection now: the parse succeeds
    desk_wait_drained "$DB_K" 15
    expect_eq "(18) after the restart it is filed, once, on one case" "1 filed 198.51.100.44 1" \
        "$(sqlite3 "$DB_K" "select count(*) || ' ' || status from reports") $(mw_json cases --json | jq -r '.[] | "\(.subject) \(.report_count)"')"
    desk_stop
    mw_stop
else
    _fail "(18) daemon and desk worker start with $CONF_K" "see $MW_LOG and $E2E_DIR/desk.log"
fi

echo "## (18) the same hostile reports through the pipe transport: ingest exits 0, the desk files or triages each"
HPIPE_DIR=$E2E_DIR/var/hpipe
CONF_HP=$E2E_DIR/var/hpipe.conf
CFG_EXTRA="desk_parse_timeout = 30s" pf_add_ingest_pipe mwhostile "$HPIPE_DIR" "$CONF_HP"
pf_postconf -e "transport_maps = inline:{abuse-pipe@example.net=mwabuse:,abuse-hostile@example.net=mwhostile:}"
pf_reload
for f in "$HOSTILE"/*.eml; do
    SMTP_PORT=$PF_PLAIN_PORT send_app --to abuse-hostile@example.net --data "@$f"
done
_all_piped() { [ "$(grep -c 'to=<abuse-hostile@example.net>.*relay=mwhostile.*status=sent' "$PF_DIR/postfix.log")" -ge "$HOSTILE_COUNT" ]; }
wait_until 60 _all_piped
expect_eq "(18) pipe(8) delivered every one (ingest exited 0), none deferred or bounced" "$HOSTILE_COUNT 0" \
    "$(grep -c 'to=<abuse-hostile@example.net>.*relay=mwhostile.*status=sent' "$PF_DIR/postfix.log") $(grep -Ec 'to=<abuse-hostile@example.net>.*status=(deferred|bounced)' "$PF_DIR/postfix.log")"
"$MW_BIN/mailwarden" desk --once --config "$CONF_HP" >>"$E2E_DIR/desk.log" 2>&1
expect_eq "(18) desk --once: each filed, in triage or ignored, 0 queued, 0 lost" "$HOSTILE_COUNT 0" \
    "$(sqlite3 "$HPIPE_DIR/mwhostile.db" "select count(*) from reports where status in ('filed','triage','ignored')") $(sqlite3 "$HPIPE_DIR/mwhostile.db" "select count(*) from reports where status = 'queued'")"

echo "## (19) kill -9 of mailwardend while 2,000 messages flow through Postfix: 0 lost, 0 duplicated"
# An MTA in front relays to the milter's smtpd, as a smarthost or another MX would: when the milter
# dies mid-flow, the relaying Postfix gets 4xx and keeps the message in its queue. Route:
# smtp-source -> plain smtpd (no milter) -> queue -> smtp to the hop smtpd (mailwardend; its own
# hostname, so no mail loop) -> cleanup-hop (rewrites @loop.example to @example.net) -> sink.
HOP_PORT=$(free_port)
printf '%s\n' "127.0.0.1:$HOP_PORT inet n - n - - smtpd" \
    "  -o myhostname=hop.e2e.test" "  -o cleanup_service_name=cleanup-hop" "  -o milter_macro_daemon_name=hop" \
    "cleanup-hop unix n - n - 0 cleanup" "  -o recipient_canonical_maps=inline:{{@loop.example=@example.net}}" \
    >>"$PF_DIR/etc/master.cf"
pf_postconf -e "transport_maps = inline:{loop.example=smtp:[127.0.0.1]:$HOP_PORT}" "smtpd_milters = inet:127.0.0.1:$MILTER_PORT"
pf_reload
wait_port_listening "$HOP_PORT" 10
# kill9_flow NAME COUNT_COMMIT: the flow above with count_commit = COUNT_COMMIT, killed once 300
# are through. Mail: 0 lost, 0 duplicated. Counts: synchronous commits each count before its
# answer, so none is lost and a count whose answer the kill cut off is counted again on the retry
# (at most one per session, 10); write_behind commits after the answer, so none is counted twice
# and those not yet committed at the kill are lost (a writer's group at most, 64).
kill9_flow() {
    local name=$1 mode=$2 conf=$E2E_DIR/var/kill-$2.conf tag at_sink queued distinct counted
    CFG_STORE=$E2E_DIR/var/kill-$mode.db CFG_LIMIT_MESSAGES=1000000/1h CFG_RULES="net client_address" CFG_EXTRA="trusted_networks = 127.0.0.1/32
limit_recipients = 1000000/1h
count_commit = $mode" mw_write_config "$conf"
    if ! mw_start "$conf"; then
        _fail "($name) daemon starts with $conf" "see $MW_LOG"
        return
    fi
    tag=$(new_tag)
    # The tag is the recipient's local part: the sink records it (X-Rcpt-Args) after the rewrite.
    timeout 300 smtp-source -c -s 10 -m 2000 -l 2048 -f "app@$REALM" -t "$tag@loop.example" \
        "127.0.0.1:$PF_PLAIN_PORT" >"$E2E_DIR/smtp-source-$mode.out" 2>&1 &
    local source_pid=$!
    _some_delivered() { [ "$(sink_files_with "$tag@example.net")" -ge 300 ]; }
    wait_until 60 _some_delivered
    mw_kill9
    log "($name) mailwardend killed with $(sink_files_with "$tag@example.net") of 2000 at the sink"
    wait "$source_pid"
    expect_eq "($name) smtp-source handed all 2,000 to Postfix (exit 0)" 0 "$?"
    # Every message is either at the sink or waiting in Postfix's queue (deferred: the hop tempfailed).
    _accounted() { [ $(( $(sink_files_with "$tag@example.net") + $(queue_ids deferred | wc -l) )) -ge 2000 ]; }
    wait_until 60 _accounted
    at_sink=$(sink_files_with "$tag@example.net")
    queued=$(queue_ids deferred | wc -l)
    log "($name) with the milter dead: $at_sink at the sink, $queued deferred in Postfix's queue"
    expect_eq "($name) with the milter dead, each message is at the sink or in Postfix's queue" 2000 "$((at_sink + queued))"
    check "($name) some were deferred by the dead milter (the kill hit mid-flow)" test "$queued" -gt 0
    mw_start "$conf"
    pf_flush
    _all_delivered() { [ "$(sink_files_with "$tag@example.net")" -ge 2000 ] && [ "$(queue_ids deferred | wc -l)" -eq 0 ]; }
    wait_until 120 _all_delivered
    mw_stop
    at_sink=$(sink_files_with "$tag@example.net")
    distinct=$(grep -h -m1 -i '^Message-ID:' $(sink_grep "$tag@example.net") | sort -u | wc -l)
    counted=$(mw_identity_field net:127.0.0.1 messages)
    echo "# ($name) after the restart: $at_sink at the sink, $distinct distinct, lost $((2000 - distinct)), duplicated $((at_sink - distinct));" \
        "counted $counted: counts lost $((counted < 2000 ? 2000 - counted : 0)), counted twice $((counted > 2000 ? counted - 2000 : 0))"
    expect_eq "($name) after the restart and a flush: 2000 delivered, lost 0, duplicated 0" "2000 0 0" \
        "$at_sink $((2000 - distinct)) $((at_sink - distinct))"
    if [ "$mode" = synchronous ]; then
        check "($name) no count lost, at most one per session counted twice (counted $counted)" test "$counted" -ge 2000 -a "$counted" -le 2010
    else
        check "($name) no count counted twice, at most a writer's group lost (counted $counted)" test "$counted" -le 2000 -a "$counted" -ge 1936
    fi
}
kill9_flow 19 synchronous
echo "## (19c) the same with count_commit = write_behind"
kill9_flow 19c write_behind
pf_postconf -e "transport_maps = inline:{abuse-pipe@example.net=mwabuse:,abuse-hostile@example.net=mwhostile:}"
pf_reload

echo "## (19b) count_commit = write_behind through Postfix: 1,000 messages from 10 sessions, then a clean stop: each counted once"
CONF_WB=$E2E_DIR/var/writebehind.conf
CFG_STORE=$E2E_DIR/var/writebehind.db CFG_LIMIT_MESSAGES=1000000/1h CFG_RULES="net client_address" CFG_EXTRA="trusted_networks = 127.0.0.1/32
limit_recipients = 1000000/1h
count_commit = write_behind" mw_write_config "$CONF_WB"
if mw_start "$CONF_WB"; then
    WB_TAG=$(new_tag)
    timeout 300 smtp-source -s 10 -m 1000 -l 1024 -f "app@$REALM" -t "$WB_TAG@example.net" \
        "127.0.0.1:$PF_PORT" >"$E2E_DIR/smtp-source-wb.out" 2>&1
    expect_eq "(19b) smtp-source handed all 1,000 to Postfix (exit 0)" 0 "$?"
    # Stopped as soon as the last message was answered: counts still being written are written
    # before the daemon exits.
    mw_stop
    _wb_delivered() { [ "$(sink_files_with "$WB_TAG@example.net")" -ge 1000 ]; }
    wait_until 120 _wb_delivered
    at_sink=$(sink_files_with "$WB_TAG@example.net")
    counted=$(mw_identity_field net:127.0.0.1 messages)
    outbound=$(sqlite3 "$E2E_DIR/var/writebehind.db" "select count(*) from outbound")
    echo "# (19b) $at_sink at the sink; counted $counted, outbound log $outbound: counts lost $((at_sink - counted)), duplicated $((counted > at_sink ? counted - at_sink : 0))"
    expect_eq "(19b) 1,000 delivered, 1,000 counted, 1,000 in the outbound log" "1000 1000 1000" "$at_sink $counted $outbound"
else
    _fail "(19b) daemon starts with $CONF_WB" "see $MW_LOG"
fi

echo "## (20) abuse@ means ours: a customer's mail to another provider's abuse@ reaches it; ours is still taken"
CONF_O=$E2E_DIR/var/ours.conf
CFG_STORE=$E2E_DIR/var/ours.db CFG_EXTRA="abuse_mailboxes = abuse@*" mw_write_config "$CONF_O"
# our.e2e.test is delivered here: by a transport named as a mailbox server's (dovecot; here an smtp
# client to the sink), so Postfix's {rcpt_mailer} says so; everything else leaves by smtp,
# relay_domains (example.net) included. A transport of a name MailWarden does not know would leave a
# customer's mail to it alone (it might be an outbound one: AbuseMailboxTests).
printf '%s\n' "dovecot   unix  -       -       n       -       -       smtp" >>"$PF_DIR/etc/master.cf"
pf_postconf -e "transport_maps = inline:{our.e2e.test=dovecot:[127.0.0.1]:$SINK_PORT}"
pf_reload
if mw_start "$CONF_O" && desk_start "$CONF_O"; then
    send_auth dave --to abuse@foreign.example --header "Subject: $(new_tag) to another provider" --body "Your customer 203.0.113.5 spams us."
    expect_eq "(20) dave's complaint to abuse@foreign.example is accepted (250)" 250 "$(swaks_data_code)"
    wait_until 15 grep -q "to=<abuse@foreign.example>.*status=sent" "$PF_DIR/postfix.log"
    check "(20) ... and reaches foreign.example (abuse_mailboxes = abuse@* does not swallow it)" \
        grep -q "to=<abuse@foreign.example>.*status=sent" "$PF_DIR/postfix.log"
    send_anon --to abuse@example.net --header "Subject: $(new_tag) for the relayed domain" --body "Spam from 203.0.113.6."
    wait_until 15 grep -q "to=<abuse@example.net>.*relay=127.0.0.1.*status=sent" "$PF_DIR/postfix.log"
    check "(20) a report to a domain we only relay for goes on to it" \
        grep -q "to=<abuse@example.net>.*status=sent" "$PF_DIR/postfix.log"
    send_auth dave --to abuse@our.e2e.test --header "Subject: $(new_tag) to our desk" --header "X-Tight:no-space" \
        --header "X-Wide:   three" --body "Spam from 192.0.2.99 hit our trap."
    expect_eq "(20) dave's report to our abuse@ is accepted (250)" 250 "$(swaks_data_code)"
    desk_wait_drained "$E2E_DIR/var/ours.db" 10
    expect_eq "(20) ... taken by the desk: one report, filed on 192.0.2.99" "1 192.0.2.99" \
        "$(sqlite3 "$E2E_DIR/var/ours.db" "select count(*) from reports") $(mw_json cases --json | jq -r '.[].subject')"
    check "(20) ... and not delivered (discarded once stored)" not grep -q "to=<abuse@our.e2e.test>.*status=sent" "$PF_DIR/postfix.log"
    expect_eq "(20) ... stored with its header fields' white space as sent" "X-Tight:no-space|X-Wide:   three" \
        "$(sqlite3 "$E2E_DIR/var/ours.db" "select raw from report_raw" | tr -d '\r' | grep -E '^X-(Tight|Wide):' | paste -sd '|')"
    desk_stop
    mw_stop
else
    _fail "(20) daemon and desk worker start with $CONF_O" "see $MW_LOG"
fi
pf_postconf -e "transport_maps = inline:{abuse-pipe@example.net=mwabuse:,abuse-hostile@example.net=mwhostile:}"
pf_reload

echo "## (21) listed before the MX's authenticating milter, mailwardend removes a stranger's forged A-R in our name"
# The probe milter plays OpenDKIM after mailwardend: it adds our MX's field (a pass for one.example)
# to every message. Reports reach the desk through the pipe transport, after both milters.
CONF_F=$E2E_DIR/var/forged.conf
CFG_STORE=$E2E_DIR/var/forged.db CFG_EXTRA="authserv_id = mx.e2e.test
remove_forged_authentication_results = yes" mw_write_config "$CONF_F"
FPIPE_DIR=$E2E_DIR/var/forgedpipe
CONF_FP=$E2E_DIR/var/forgedpipe.conf
CFG_EXTRA="authserv_id = mx.e2e.test" pf_add_ingest_pipe mwforged "$FPIPE_DIR" "$CONF_FP"
F_PORT=$(free_port)
# Built by the P4 probe above.
PROBE_ADD_HEADER="Authentication-Results: mx.e2e.test; dkim=pass header.d=one.example" \
    "$E2E_DIR/probe-milter" "inet:$F_PORT@127.0.0.1" "$E2E_DIR/probe-forged.log" 2>>"$E2E_DIR/probe.err" &
F_PROBE_PID=$!
disown "$F_PROBE_PID"
if wait_port_listening "$F_PORT" 5 && mw_start "$CONF_F"; then
    pf_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER_PORT inet:127.0.0.1:$F_PORT" \
        "transport_maps = inline:{abuse-forged@example.net=mwforged:}"
    pf_reload
    # forged_report FROM [swaks args]: a complaint to the pipe's abuse mailbox; prints its report id.
    forged_report() {
        local from=$1 tag
        shift
        tag=$(new_tag)
        send_anon --to abuse-forged@example.net --header "From: $from" --header "Subject: $tag complaint" \
            --body "Spam from 203.0.113.80 hit our trap." "$@"
        _piped() { grep -F "$1" "$PF_DIR/postfix.log" | grep -q "relay=mwforged.*status=sent"; }
        wait_until 20 _piped "$(swaks_queue_id)"
        sqlite3 "$FPIPE_DIR/mwforged.db" "select r.id from reports r join report_raw w on w.report_id = r.id where cast(w.raw as text) like '%$tag%'"
    }
    real=$(forged_report fbl@one.example)
    forged=$(forged_report fbl@two.example --header "Authentication-Results: mx.e2e.test; dkim=pass header.d=two.example")
    check "(21) mailwardend says it removed the sender's field" grep -q "removed 1 Authentication-Results field(s)" "$MW_LOG"
    expect_eq "(21) the delivered report keeps the MX's field and not the forged one" "1|0" \
        "$(sqlite3 "$FPIPE_DIR/mwforged.db" "select instr(cast(raw as text), 'header.d=one.example') > 0, instr(cast(raw as text), 'header.d=two.example') > 0 from report_raw where report_id = ${forged:-0}")"
    "$MW_BIN/mailwarden" desk --once --config "$CONF_FP" >>"$E2E_DIR/desk.log" 2>&1
    expect_eq "(21) the reporter our MX authenticated counts as dkim:one.example" "dkim:one.example" \
        "$(sqlite3 "$FPIPE_DIR/mwforged.db" "select reporter_auth from reports where id = ${real:-0}")"
    expect_match "(21) the one who forged our field is unauthenticated" "^unauthenticated" \
        "$(sqlite3 "$FPIPE_DIR/mwforged.db" "select reporter_auth from reports where id = ${forged:-0}")"
    mw_stop
else
    _fail "(21) probe milter and daemon start" "see $E2E_DIR/probe.err and $MW_LOG"
fi
kill "$F_PROBE_PID" 2>/dev/null
pf_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER_PORT" \
    "transport_maps = inline:{abuse-pipe@example.net=mwabuse:,abuse-hostile@example.net=mwhostile:}"
pf_reload

log "elapsed $((SECONDS - E2E_START)) s"
e2e_finish
