#!/usr/bin/env bash
#
# run.sh: the Postfix and Sendmail recipes of packaging/examples/, exercised as
# shipped. Run as root from anywhere (make recipes):
#
#   MW_BIN=.build/debug bash Tests/recipes/run.sh
#
# 1. Postfix, inet socket: postfix-main.cf and postfix-master.cf are loaded into
#    the private Postfix of Tests/e2e/lib.sh (own config, queue, SASL db,
#    smtp-sink on loopback) with ONE sed that changes only the milter port, the
#    binary path, the config path and the pipe's user= (printed below);
#    postfix-transport is installed and postmapped as its comment says. Then
#    `postfix check` must be silent, an authenticated message and a local
#    submission are named by mailwardend, postfix-main-local.cf with
#    postfix-login_senders lets a user send under its own name only, a report
#    to abuse@example.com goes through the pipe transport into a case, and a
#    stopped milter tempfails.
# 2. Postfix, the package's unix socket (Debian's chrooted smtpd): the
#    directory comes from mailwarden-tmpfiles.conf, the daemon (an unprivileged
#    user in group postfix, as the package makes user mailwarden) listens with
#    the uncommented lines of the package's config (only the spool path is
#    moved to the test's queue directory), the milter lines of postfix-main.cf
#    are loaded unchanged, and mail goes through a plain smtpd, a chrooted smtpd
#    and the chrooted cleanup-local.
# 3. Sendmail: m4 builds a sendmail.cf from a test .mc that includes
#    sendmail-mailwarden.mc (shipped, and with the same four rewrites); the cf
#    must carry the X (milter) line, the macro options, the mailer and the
#    routing rule. With a sendmail binary unpacked from Debian's sendmail-bin
#    (apt-get download + dpkg-deb -x: the package conflicts with postfix, so it
#    is never installed), -bt shows the routing, -bd talks to mailwardend, -bs
#    delivers a report through the mailer into a case, and a store that cannot
#    be written leaves the report queued.
#
# Environment: MW_BIN (default .build/debug), RECIPES_USER (the unprivileged
# account standing in for `mailwarden`, default nobody), RECIPES_CACHE (where
# the unpacked sendmail-bin is kept, default .build/recipes), E2E_KEEP=1.
# Prints "ok"/"FAIL"/"skip" lines and one "N passed, N failed" line; exits
# non-zero if anything failed. Every wait is bounded; everything listens on
# 127.0.0.1; the trap stops every process the script started.

set -u
RECIPES_START=$SECONDS
# shellcheck source=../e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

EXAMPLES=$E2E_REPO_ROOT/packaging/examples
UNIT=$E2E_REPO_ROOT/systemd/mailwardend.service
RECIPES_USER=${RECIPES_USER:-nobody}
RECIPES_CACHE=${RECIPES_CACHE:-$E2E_REPO_ROOT/.build/recipes}
SM_PID=

e2e_init "" || { echo "0 passed, 1 failed"; exit 1; }
RC=$E2E_DIR/recipes
mkdir -p "$RC"

# Stop what this script starts beyond lib.sh's processes (the Sendmail daemon),
# then lib.sh's cleanup (mailwardend, Postfix, the sink).
recipes_stop_extra() {
    if pid_alive "$SM_PID"; then
        kill "$SM_PID" 2>/dev/null
        wait_pid_gone "$SM_PID" 10 || kill -9 "$SM_PID" 2>/dev/null
    fi
    SM_PID=
}
SM_SOCK_DIR=
trap 'recipes_stop_extra; [ -n "$SM_SOCK_DIR" ] && rm -rf "$SM_SOCK_DIR"; e2e_cleanup' EXIT
recipes_finish() {
    recipes_stop_extra
    log "elapsed $((SECONDS - RECIPES_START)) s"
    e2e_finish
}

# ------------------------------------------------------------ preflight
missing=()
for c in postfix postconf postmap postqueue smtp-sink swaks saslpasswd2 jq sqlite3 m4 setpriv unshare timeout ss; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[ ${#missing[@]} -eq 0 ] || { _fail "preflight: required commands" "missing: ${missing[*]}"; recipes_finish; }
[ "$(id -u)" = 0 ] || { _fail "preflight: root" "run as root (private Postfix, pipe user=, setpriv)"; recipes_finish; }
mw_have_binaries || { _fail "preflight: binaries" "no $MW_BIN/mailwardend or $MW_BIN/mailwarden (swift build first)"; recipes_finish; }
id "$RECIPES_USER" >/dev/null 2>&1 || { _fail "preflight: user $RECIPES_USER" "no such account (set RECIPES_USER)"; recipes_finish; }
for f in postfix-main.cf postfix-master.cf postfix-transport postfix-main-local.cf postfix-login_senders \
    mailwarden-tmpfiles.conf sendmail-mailwarden.mc; do
    [ -f "$EXAMPLES/$f" ] || { _fail "preflight: packaging/examples/$f" "missing"; recipes_finish; }
done
RECIPES_GROUP=$(id -gn "$RECIPES_USER")

# The README's Recipes section shows the shipped lines, not an older copy.
readme_shows() {
    local f=$1 line missing=0
    while IFS= read -r line; do
        grep -qxF -- "$line" "$E2E_REPO_ROOT/README.md" || { echo "not in README: $line"; missing=1; }
    done < <(grep -Ev '^(#|dnl|[[:space:]]*$)' "$EXAMPLES/$f")
    return $missing
}
for f in postfix-main.cf postfix-master.cf postfix-main-local.cf postfix-login_senders sendmail-mailwarden.mc; do
    check "(0) README.md shows the lines of packaging/examples/$f as shipped" readme_shows "$f"
done

# ------------------------------------------------------------ helpers

# The daemon's config and store: the store's directory belongs to
# RECIPES_USER, who runs mailwardend and the pipe, as `mailwarden` would.
VAR=$E2E_DIR/var/recipes
mkdir -p "$VAR" && chown "$RECIPES_USER" "$VAR"
CONF=$VAR/mailwarden.conf

# rc_mw_start CONF LOG: mailwardend as RECIPES_USER, in no other group.
rc_mw_start() {
    MW_AS=(setpriv --reuid "$RECIPES_USER" --regid "$RECIPES_GROUP" --clear-groups)
    mw_start "$1" "$2"
}

# rc_log_has REGEX: the daemon logged a matching line (waits up to 10 s).
rc_log_has() {
    local re=$1
    _has() { mw_log_since_start | grep -Eq -- "$re"; }
    wait_until 10 _has
}

# The admin CLI as RECIPES_USER (as an admin would with sudo -u mailwarden).
rc_cli() {
    timeout 30 setpriv --reuid "$RECIPES_USER" --regid "$RECIPES_GROUP" --clear-groups \
        "$MW_BIN/mailwarden" "$@" --config "$MW_CONF" 2>>"$E2E_DIR/mailwarden-cli.log"
}

# load_main_cf FILE: put main.cf lines into the private Postfix the way an admin
# does: drop the parameters FILE sets from main.cf, then append FILE verbatim.
load_main_cf() {
    local names
    names=$(grep -E '^[a-z0-9_]+[[:space:]]*=' "$1" | sed -E 's/[[:space:]]*=.*//')
    # shellcheck disable=SC2086
    pf_postconf -X $names
    cat "$1" >>"$PF_DIR/etc/main.cf"
}

# load_master_cf FILE: the same for master.cf services (replace, then append).
load_master_cf() {
    local keys
    keys=$(awk '/^[^#[:space:]]/ { print $1 "/" $2 }' "$1")
    # shellcheck disable=SC2086
    pf_postconf -MX $keys
    cat "$1" >>"$PF_DIR/etc/master.cf"
}

# pf_check_quiet: `postfix check` exits 0 and prints nothing (no warnings).
pf_check_quiet() {
    local out
    out=$(postfix -c "$PF_DIR/etc" check 2>&1)
    local rc=$?
    printf '%s\n' "$out"
    [ $rc -eq 0 ] && [ -z "$out" ]
}

# chrooted_in_spool NAME: a Postfix process NAME of this instance runs chrooted
# in its queue directory.
chrooted_in_spool() {
    local p
    for p in $(pgrep -x "$1"); do
        [ "$(readlink "/proc/$p/root" 2>/dev/null)" = "$PF_DIR/spool" ] && return 0
    done
    return 1
}

# ============================================================ 1. Postfix, the milter on the test's port

if ! pf_start "$E2E_DIR/pf"; then
    _fail "postfix: private instance starts" "see $E2E_DIR/pf/postfix.log"
    recipes_finish
fi
_pass "postfix: private instance starts (smtpd 127.0.0.1:$PF_PORT, sink :$SINK_PORT, milter :$MILTER_PORT)"
ETC=$PF_DIR/etc

# The one rewrite of the shipped Postfix files. Nothing else is changed.
PF_SED=(
    -e "s|= unix:mailwarden/mailwarden\.sock|= inet:127.0.0.1:$MILTER_PORT|g"
    -e "s|/usr/bin/mailwarden |$MW_BIN/mailwarden |g"
    -e "s|/etc/mailwarden/mailwarden\.conf|$CONF|g"
    -e "s|user=mailwarden |user=$RECIPES_USER |g"
)
echo "## 1. Postfix recipe (the milter moved to the test's inet port), loaded with exactly these rewrites:"
printf '#   sed %s\n' "${PF_SED[*]}"
sed "${PF_SED[@]}" "$EXAMPLES/postfix-main.cf" >"$RC/postfix-main.cf"
sed "${PF_SED[@]}" "$EXAMPLES/postfix-master.cf" >"$RC/postfix-master.cf"
echo "# changed lines:"
diff "$EXAMPLES/postfix-main.cf" "$RC/postfix-main.cf" | sed -n 's/^> \([^#]\)/#   main.cf:   \1/p'
diff "$EXAMPLES/postfix-master.cf" "$RC/postfix-master.cf" | sed -n 's/^> \([^#]\)/#   master.cf: \1/p'
expect_eq "(1) the rewrite changed exactly the 2 milter settings of main.cf (and comments)" 2 \
    "$(diff "$EXAMPLES/postfix-main.cf" "$RC/postfix-main.cf" | grep -c '^> [^#]')"
expect_eq "(1) ... and exactly the 1 argv line of master.cf" 1 \
    "$(diff "$EXAMPLES/postfix-master.cf" "$RC/postfix-master.cf" | grep -c '^> [^#]')"

load_main_cf "$RC/postfix-main.cf"
load_master_cf "$RC/postfix-master.cf"
cp "$EXAMPLES/postfix-transport" "$ETC/transport"
check "(1) postmap hash:\$config_directory/transport (the shipped map)" postmap "hash:$ETC/transport"
check "(1) postfix check is silent with the snippets loaded" pf_check_quiet
expect_eq "(1) transport_maps resolves \$config_directory to this instance" "hash:$ETC/transport" \
    "$(pf_postconf -xh transport_maps)"
expect_eq "(1) the map sends abuse@example.com to the mailwarden service" "mailwarden:" \
    "$(postmap -q abuse@example.com "hash:$ETC/transport")"
expect_eq "(1) master.cf has the pipe service as shipped (unpriv n, chroot n)" \
    "mailwarden unix - n n - - pipe" "$(pf_postconf -M mailwarden/unix | awk '{ print $1, $2, $3, $4, $5, $6, $7, $8 }')"
pf_reload

# The daemon: the e2e config (SASL, header and local rules, local_daemon_name
# mailwarden-local) on the test's port, run as RECIPES_USER.
CFG_STORE=$VAR/mailwarden.db mw_write_config "$CONF"
chmod 644 "$CONF"
if ! rc_mw_start "$CONF" "$E2E_DIR/mailwardend.log"; then
    _fail "(1) mailwardend starts as $RECIPES_USER" "see $E2E_DIR/mailwardend.log"
    recipes_finish
fi
_pass "(1) mailwardend runs as $RECIPES_USER on 127.0.0.1:$MILTER_PORT"

# An authenticated message: {auth_authen} names bob, `i` prefixes the log line.
sink_base
tag=$(new_tag)
send_auth bob --header "Subject: $tag"
expect_eq "(1) bob's authenticated message is accepted (250)" 250 "$(swaks_data_code)"
qid=$(swaks_queue_id)
sink_wait $((SINK_BASE + 1)) 15
check "(1) it reached the sink" sink_has "Subject: $tag"
check "(1) mailwardend named it sasl:bob@$REALM under Postfix's queue id $qid ({auth_authen}, i)" \
    rc_log_has "info: $qid: identity=sasl:bob@$REALM rule=1 scope=authenticated .*action=accept"
expect_eq "(1) mailwarden show counts 1 message for sasl:bob@$REALM" 1 \
    "$(rc_cli show "sasl:bob@$REALM" --json | jq -r '.recent_messages | length')"
expect_eq "(1) ... with that queue id in the outbound log" "$qid" \
    "$(rc_cli show "sasl:bob@$REALM" --json | jq -r '.recent_messages[0].queue_id // empty')"

# A local submission: pickup -> cleanup-local (chrooted, as shipped) sets
# {daemon_name} = mailwarden-local, so it is counted as local:root.
sink_base
tag=$(new_tag)
send_local root someone@example.com "Subject: $tag"
expect_eq "(1) sendmail(1) as root exits 0" 0 $?
sink_wait $((SINK_BASE + 1)) 20
check "(1) the local submission reached the sink" sink_has "Subject: $tag"
check "(1) mailwardend counted it as local:root through cleanup-local ({daemon_name})" \
    rc_log_has "identity=local:root rule=[0-9]+ scope=local .*action=accept"

# Optional: local_login_sender_maps (postfix-main-local.cf, login_senders) as
# shipped: a user submits under its own name only.
LOCAL_USER=${LOCAL_USER:-nobody}
if [ "$LOCAL_USER" != root ] && local_user_supported; then
    load_main_cf "$EXAMPLES/postfix-main-local.cf"
    cp "$EXAMPLES/postfix-login_senders" "$ETC/login_senders"
    check "(1) postfix check is silent with postfix-main-local.cf" pf_check_quiet
    pf_reload
    sink_base
    tag=$(new_tag)
    send_local "$LOCAL_USER" someone@example.com "Subject: $tag"
    expect_eq "(1) login_senders: $LOCAL_USER may submit under its own name (sendmail exit 0)" 0 $?
    sink_wait $((SINK_BASE + 1)) 20
    check "(1) ... counted as local:$LOCAL_USER" rc_log_has "identity=local:$LOCAL_USER rule=[0-9]+ scope=local .*action=accept"
    SENDMAIL_FROM=alice@$REALM send_local "$LOCAL_USER" someone@example.com "Subject: $(new_tag)"
    expect_eq "(1) login_senders: $LOCAL_USER may not use -f alice@$REALM (sendmail exit 75)" 75 $?
    check "(1) ... 'not authorized to use sender'" grep -q 'not authorized to use sender' "$E2E_DIR/sendmail.last"
else
    skip "(1) local_login_sender_maps" "needs a non-root LOCAL_USER and unshare -m"
fi

# A report to the abuse mailbox: transport map -> pipe -> mailwarden ingest.
send_auth alice --to abuse@example.com --header "Subject: $(new_tag) abuse report" \
    --body "Spam from 203.0.113.77 hit our trap at 2026-01-01 12:00 UTC."
expect_eq "(1) the report to abuse@example.com is accepted (250)" 250 "$(swaks_data_code)"
_piped() { grep -q 'to=<abuse@example.com>, relay=mailwarden, .*status=sent' "$PF_DIR/postfix.log"; }
wait_until 20 _piped
check "(1) Postfix delivered it through the mailwarden pipe service (ingest exited 0)" _piped
check "(1) ... as final delivery (flags=X: 'delivered via mailwarden service')" \
    grep -q 'to=<abuse@example.com>, relay=mailwarden, .*status=sent (delivered via mailwarden service' "$PF_DIR/postfix.log"
# The desk worker (mailwarden-desk.service in the .deb) parses what ingest queued.
rc_cli desk --once >>"$E2E_DIR/desk.log"
expect_eq "(1) mailwarden cases --json: a spam case for 203.0.113.77" "203.0.113.77 ip spam" \
    "$(rc_cli cases --json | jq -r '.[] | "\(.subject) \(.subject_kind) \(.type)"')"
expect_eq "(1) the report keeps the envelope (\${sender}, \${recipient})" "alice@$REALM abuse@example.com" \
    "$(sqlite3 "$VAR/mailwarden.db" 'select envelope_sender || " " || envelope_recipient from reports')"

# milter_default_action = tempfail: a stopped daemon delays mail.
mw_stop
send_auth carol --header "Subject: $(new_tag) milter down"
expect_match "(1) with mailwardend stopped the client gets a 4xx (milter_default_action = tempfail)" '^4' "$(swaks_first_error)"
check "(1) ... and nothing is queued" not grep -q 'queued as' "$SWAKS_LOG"

# ============================================================ 2. Postfix, unix socket
echo "## 2. the package's unix socket for Debian's chrooted Postfix"
SPOOL=$PF_DIR/spool
PACKAGED_CONF=$E2E_REPO_ROOT/packaging/mailwarden.conf
SOCK_DIR=$(awk '!/^#/ && $1 == "d" { print $2 }' "$EXAMPLES/mailwarden-tmpfiles.conf")
SOCK_PATH=$(sed -n 's/^socket = unix://p' "$PACKAGED_CONF")
UNIT_RW=$(sed -n 's/^ReadWritePaths=-\{0,1\}//p' "$UNIT")
MILTER_REL=$(sed -n 's/^smtpd_milters = unix://p' "$EXAMPLES/postfix-main.cf")
expect_eq "(2) the socket's directory is the tmpfiles.d directory" "$SOCK_DIR" "$(dirname "$SOCK_PATH")"
expect_eq "(2) the unit makes exactly that directory writable" "$SOCK_DIR" "$UNIT_RW"
expect_eq "(2) Postfix's relative path names the same socket under /var/spool/postfix" \
    "$SOCK_PATH" "/var/spool/postfix/$MILTER_REL"

# The directory, from the shipped tmpfiles.d line (path moved into the test's
# spool, user mailwarden -> RECIPES_USER).
TMPF_SED=(-e "s|/var/spool/postfix/|$SPOOL/|" -e "s|^\(d .*[[:space:]]\)mailwarden\([[:space:]]\)|\1$RECIPES_USER\2|")
printf '#   tmpfiles.d rewrite: sed %s\n' "${TMPF_SED[*]}"
sed "${TMPF_SED[@]}" "$EXAMPLES/mailwarden-tmpfiles.conf" >"$RC/tmpfiles.conf"
if command -v systemd-tmpfiles >/dev/null 2>&1; then
    check "(2) systemd-tmpfiles --create with the shipped line" systemd-tmpfiles --create "$RC/tmpfiles.conf"
else
    skip "(2) systemd-tmpfiles" "not installed; directory made by hand"
    mkdir -p "$SPOOL/mailwarden" && chown "$RECIPES_USER:postfix" "$SPOOL/mailwarden" && chmod 2750 "$SPOOL/mailwarden"
fi
expect_eq "(2) $SPOOL/mailwarden is 2750 $RECIPES_USER:postfix" "2750 $RECIPES_USER postfix" \
    "$(stat -c '%a %U %G' "$SPOOL/mailwarden" 2>/dev/null)"

# The daemon: the same config with the package's uncommented lines (the spool
# path moved to the test's queue directory), as RECIPES_USER in no group of
# Postfix's: the set-group-ID directory gives the socket its group.
CONF_U=$VAR/unix.conf
grep -v '^socket = ' "$CONF" >"$CONF_U"
echo "trusted_networks = 127.0.0.1/32" >>"$CONF_U" # count send_app's mail, so it has a queue id
grep -Ev '^(#|[[:space:]]*$)' "$PACKAGED_CONF" | sed "s|/var/spool/postfix/|$SPOOL/|" >>"$CONF_U"
chmod 644 "$CONF_U"
if rc_mw_start "$CONF_U" "$E2E_DIR/mailwardend-unix.log"; then
    _pass "(2) mailwardend listens on unix:$SPOOL/mailwarden/mailwarden.sock as $RECIPES_USER (no supplementary group)"
else
    _fail "(2) mailwardend starts on the unix socket" "see $E2E_DIR/mailwardend-unix.log"
fi
expect_eq "(2) the socket is 660 $RECIPES_USER:postfix (socket_mode, socket_group)" "660 $RECIPES_USER postfix" \
    "$(stat -c '%a %U %G' "$SPOOL/mailwarden/mailwarden.sock" 2>/dev/null)"

# Postfix: the milter lines of postfix-main.cf as shipped (no rewrite: the path
# is relative to the queue directory), plus a chrooted smtpd listener in the
# test's master.cf (SASL off: the sasldb is outside the chroot).
CHROOT_PORT=$(free_port)
grep -E '^(smtpd|non_smtpd)_milters = ' "$EXAMPLES/postfix-main.cf" >"$RC/postfix-milters.cf"
load_main_cf "$RC/postfix-milters.cf"
printf '%s\n' "127.0.0.1:$CHROOT_PORT inet n - y - - smtpd" \
    "  -o smtpd_sasl_auth_enable=no" "  -o milter_macro_daemon_name=smtpd-chroot" >>"$ETC/master.cf"
check "(2) postfix check is silent with the unix milter lines of postfix-main.cf" pf_check_quiet
pf_reload
wait_port_listening "$CHROOT_PORT" 10

send_auth dave --header "Subject: $(new_tag) unix socket"
expect_eq "(2) dave's mail through smtpd -> unix socket accepted (250)" 250 "$(swaks_data_code)"
check "(2) mailwardend named sasl:dave@$REALM" rc_log_has "info: $(swaks_queue_id): identity=sasl:dave@$REALM "

SMTP_PORT=$CHROOT_PORT send_app --header "Subject: $(new_tag) chrooted smtpd"
expect_eq "(2) a chrooted smtpd accepts mail through unix:$MILTER_REL (250)" 250 "$(swaks_data_code)"
qid=$(swaks_queue_id)
check "(2) ... and mailwardend saw it (queue id $qid)" rc_log_has "info: $qid: "
check "(2) ... from an smtpd process chrooted in $SPOOL" chrooted_in_spool smtpd

before=$(mw_log_since_start | grep -c 'identity=local:root ')
send_local root someone@example.com "Subject: $(new_tag) local over unix socket"
_local_seen() { [ "$(mw_log_since_start | grep -c 'identity=local:root ')" -gt "$before" ]; }
check "(2) a local submission through the chrooted cleanup-local reaches the socket" wait_until 20 _local_seen
check "(2) ... from a cleanup process chrooted in $SPOOL" chrooted_in_spool cleanup
mw_stop

# ============================================================ 3. Sendmail
echo "## 3. Sendmail recipe"
SM_DIR=$RC/sendmail
mkdir -p "$SM_DIR/q" && chmod 700 "$SM_DIR/q"
SM_PORT=$(free_port)
SM_MILTER_PORT=$MILTER_PORT
CF_DIR=/usr/share/sendmail/cf
if [ ! -f "$CF_DIR/m4/cf.m4" ]; then
    _fail "(3) sendmail-cf is installed" "no $CF_DIR/m4/cf.m4 (apt-get install sendmail-cf)"
    recipes_finish
fi

# test.mc SNIPPET: a small Debian sendmail.mc ending with the snippet, loopback only.
write_test_mc() {
    cat <<EOF
divert(-1)dnl
Written by Tests/recipes/run.sh: a loopback-only test sendmail.mc.
divert(0)dnl
include(\`$CF_DIR/m4/cf.m4')dnl
VERSIONID(\`MailWarden recipes test')dnl
OSTYPE(\`debian')dnl
define(\`confDOMAIN_NAME', \`mx.recipes.test')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$SM_DIR/q')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confLOG_LEVEL', \`9')dnl
FEATURE(\`accept_unresolvable_domains')dnl no DNS here
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Name=recipes-mta, Family=inet, Port=$SM_PORT, Addr=127.0.0.1')dnl
LOCAL_DOMAIN(\`example.com')dnl
MAILER_DEFINITIONS
MAILER(\`local')dnl
MAILER(\`smtp')dnl
dnl Global macro lists narrowed, as another milter's recipe might: without {daemon_name} or i.
define(\`confMILTER_MACROS_CONNECT', \`j')dnl
define(\`confMILTER_MACROS_ENVFROM', \`{mail_addr}')dnl
define(\`confMILTER_MACROS_ENVRCPT', \`{rcpt_addr}')dnl
define(\`confMILTER_MACROS_DATA', \`{client_addr}')dnl
define(\`confMILTER_MACROS_EOM', \`{msg_id}')dnl
include(\`$1')dnl
EOF
}

# As shipped: what an admin's m4 run produces.
write_test_mc "$EXAMPLES/sendmail-mailwarden.mc" >"$SM_DIR/shipped.mc"
check "(3) m4 builds a sendmail.cf with the shipped snippet" sh -c "m4 '$SM_DIR/shipped.mc' >'$SM_DIR/shipped.cf'"
check "(3) cf: X line with our socket, F=T and the timeouts" \
    grep -qxF 'Xmailwarden, S=unix:/run/mailwarden/milter.sock, F=T, T=C:10s;S:30s;R:30s;E:5m' "$SM_DIR/shipped.cf"
check "(3) cf: InputMailFilters=mailwarden" grep -qx 'O InputMailFilters=mailwarden' "$SM_DIR/shipped.cf"
check "(3) cf: the mailwarden mailer runs /usr/bin/mailwarden as mailwarden:mailwarden, one recipient" \
    grep -Eq '^Mmailwarden,[[:space:]]+P=/usr/bin/mailwarden, .*U=mailwarden:mailwarden, .*m=1,' "$SM_DIR/shipped.cf"
check "(3) cf: ... with argv ingest --config /etc/mailwarden/mailwarden.conf --sender \$g --recipient \$u" \
    grep -qF 'A=mailwarden ingest --config /etc/mailwarden/mailwarden.conf --sender $g --recipient $u' "$SM_DIR/shipped.cf"
check "(3) cf: ruleset 0 routes abuse@example.com to the mailer" \
    grep -qP '^Rabuse < @ example\.com \. >\t\$#mailwarden \$@ localhost ' "$SM_DIR/shipped.cf"

# The same four rewrites as for Postfix.
SM_SED=(
    -e "s|S=unix:/run/mailwarden/milter\.sock|S=inet:$SM_MILTER_PORT@127.0.0.1|"
    -e "s|P=/usr/bin/mailwarden,|P=$MW_BIN/mailwarden,|"
    -e "s|/etc/mailwarden/mailwarden\.conf|$CONF|"
    -e "s|U=mailwarden:mailwarden,|U=$RECIPES_USER:$RECIPES_GROUP,|"
)
printf '#   sendmail rewrite: sed %s\n' "${SM_SED[*]}"
sed "${SM_SED[@]}" "$EXAMPLES/sendmail-mailwarden.mc" >"$SM_DIR/snippet.mc"
expect_eq "(3) the rewrite changed exactly 3 lines (X, mailer P=/U=, A=)" 3 \
    "$(diff "$EXAMPLES/sendmail-mailwarden.mc" "$SM_DIR/snippet.mc" | grep -c '^>')"
write_test_mc "$SM_DIR/snippet.mc" >"$SM_DIR/test.mc"
m4 "$SM_DIR/test.mc" >"$SM_DIR/test.cf" 2>"$SM_DIR/m4.err"
check "(3) test cf: the global macro lists name neither {daemon_name} nor i" \
    sh -c "grep -qx 'O Milter.macros.connect=j' '$SM_DIR/test.cf' && grep -qx 'O Milter.macros.envfrom={mail_addr}' '$SM_DIR/test.cf'"

# A sendmail binary: Debian's sendmail-bin conflicts with postfix, so unpack
# it (and libwrap0, which it links) instead of installing it.
SM_ROOT=$RECIPES_CACHE/sendmail-bin
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
if [ ! -x "$SM_BIN" ]; then
    rm -rf "$SM_ROOT" "$RECIPES_CACHE/debs"
    mkdir -p "$RECIPES_CACHE/debs"
    (cd "$RECIPES_CACHE/debs" && timeout 120 apt-get download sendmail-bin libwrap0) >"$SM_DIR/download.log" 2>&1
    for deb in "$RECIPES_CACHE"/debs/*.deb; do
        [ -f "$deb" ] && dpkg-deb -x "$deb" "$SM_ROOT"
    done
    # Unpacked, it is not setgid: the loader then honours LD_LIBRARY_PATH.
    [ -f "$SM_BIN" ] && chmod 755 "$SM_BIN"
fi
if [ ! -x "$SM_BIN" ]; then
    skip "(3) a real sendmail binary" "apt-get download sendmail-bin failed (no network?): see $SM_DIR/download.log"
    recipes_finish
fi

# sm ARGS...: the unpacked sendmail, as root. This VM's host name is not
# qualified and Sendmail would sleep 60 s trying to qualify it, so it runs in
# a private mount namespace where /etc/hosts names it mx.recipes.test.
printf '127.0.0.1 localhost\n127.0.0.1 mx.recipes.test %s\n' "$(hostname)" >"$SM_DIR/hosts"
cat >"$SM_DIR/sm" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$1" /etc/hosts && shift && exec "\$@"' sm "$SM_DIR/hosts" \\
    env LD_LIBRARY_PATH="$SM_ROOT/usr/lib/x86_64-linux-gnu" "$SM_BIN" "\$@"
EOF
chmod 755 "$SM_DIR/sm"
"$SM_DIR/sm" -d0.1 -bt -C "$SM_DIR/test.cf" </dev/null 2>&1 | head -1 >"$SM_DIR/version"
log "sendmail: $(cat "$SM_DIR/version")"

# -bt: ruleset 3,0 on a few addresses.
printf '3,0 %s\n' abuse@example.com ABUSE@Example.COM someone@example.net abuse@example.com.evil |
    timeout 30 "$SM_DIR/sm" -C "$SM_DIR/test.cf" -bt >"$SM_DIR/bt.out" 2>&1
mapfile -t parsed < <(grep -E '^parse +returns:' "$SM_DIR/bt.out" | sed -E 's/^parse +returns: //')
expect_eq "(3) sendmail -bt: the cf parses and abuse@example.com goes to mailer mailwarden" \
    '$# mailwarden $@ localhost $: abuse < @ example . com . >' "${parsed[0]:-}"
expect_eq "(3) sendmail -bt: ... in any case (ABUSE@Example.COM)" \
    '$# mailwarden $@ localhost $: abuse < @ example . com . >' "${parsed[1]:-}"
expect_match "(3) sendmail -bt: other mail is untouched (someone@example.net -> esmtp)" '^\$# esmtp ' "${parsed[2]:-}"
expect_match "(3) sendmail -bt: abuse@example.com.evil is not ours" '^\$# esmtp ' "${parsed[3]:-}"
timeout 30 "$SM_DIR/sm" -C "$SM_DIR/test.cf" -bv abuse@example.com >"$SM_DIR/bv.out" 2>&1
check "(3) sendmail -bv abuse@example.com: deliverable: mailer mailwarden" \
    grep -q 'deliverable: mailer mailwarden, host localhost' "$SM_DIR/bv.out"

# The milter and the mailer, live: mailwardend as RECIPES_USER on the same
# store, trusting 127.0.0.1 and naming mail by {daemon_name}, so that the
# identity proves the macro crossed over.
CONF_S=$VAR/sendmail.conf
cp "$CONF" "$CONF_S"
printf '%s\n' "trusted_networks = 127.0.0.1/32" "identity_rule = daemon macro {daemon_name}" >>"$CONF_S"
sed -i '/^identity_rule = local /d' "$CONF_S"
chmod 644 "$CONF_S"
if ! rc_mw_start "$CONF_S" "$E2E_DIR/mailwardend-sendmail.log"; then
    _fail "(3) mailwardend starts for Sendmail" "see $E2E_DIR/mailwardend-sendmail.log"
    recipes_finish
fi
# -bd: a loopback daemon; -odq: accept and queue only (nothing is relayed).
timeout 30 "$SM_DIR/sm" -C "$SM_DIR/test.cf" -bd -odq >"$SM_DIR/bd.out" 2>&1
wait_port_listening "$SM_PORT" 10
SM_PID=$(head -1 "$SM_DIR/sendmail.pid" 2>/dev/null)
if pid_alive "$SM_PID"; then
    _pass "(3) sendmail -bd listens on 127.0.0.1:$SM_PORT"
    SMTP_PORT=$SM_PORT send_app --header "Subject: $(new_tag) via sendmail"
    expect_eq "(3) Sendmail accepts a message through the milter (250)" 250 "$(swaks_data_code)"
    smqid=$(grep -Eo '250 2\.0\.0 [A-Za-z0-9]+ Message accepted' "$SWAKS_LOG" | awk '{ print $3 }')
    check "(3) mailwardend logged it under Sendmail's queue id ${smqid:-?} as daemon:recipes-mta ({daemon_name} and i, which it asked for)" \
        rc_log_has "info: ${smqid:-none}: identity=daemon:recipes-mta rule=[0-9]+ scope=trusted "
    expect_eq "(3) mailwarden show counts it" 1 "$(rc_cli show daemon:recipes-mta --json | jq -r '.recent_messages | length')"
    mw_stop
    SMTP_PORT=$SM_PORT send_app --header "Subject: $(new_tag) milter down"
    expect_match "(3) with mailwardend stopped Sendmail answers 4xx (F=T)" '^4' "$(swaks_first_error)"
    recipes_stop_extra
    expect_eq "(3) -odq: the message waits in the queue (nothing relayed)" 1 "$(find "$SM_DIR/q" -name 'qf*' | wc -l)"
    rm -f "$SM_DIR"/q/*
else
    _fail "(3) sendmail -bd starts" "see $SM_DIR/bd.out"
fi

# The same over a unix socket (S=local:). With no abuse mailbox (reports take the mailer) the session
# has no use for DATA and, with no Nagle to wait on, mailwardend asks Sendmail not to send it.
# Sendmail refuses a socket below a world-writable directory (/tmp): this one is under /run.
CONF_SU=$VAR/sendmail-unix.conf
SM_SOCK_DIR=$(mktemp -d /run/mailwarden-recipes.XXXXXX) && chown "$RECIPES_USER" "$SM_SOCK_DIR" && chmod 755 "$SM_SOCK_DIR"
SM_SOCK=$SM_SOCK_DIR/milter.sock
# A login header, named before the daemon rule, is replaced by the token: header changes through Sendmail.
grep -v '^socket = ' "$CONF_S" | sed '/^identity_rule = daemon macro/i identity_rule = user header X-Auth-User /(?<id>\\S+)/' >"$CONF_SU"
printf '%s\n' "socket = unix:$SM_SOCK" "identity_header = token" >>"$CONF_SU"
chmod 644 "$CONF_SU"
sed "s|^Xmailwarden, S=inet:$SM_MILTER_PORT@127\.0\.0\.1,|Xmailwarden, S=local:$SM_SOCK,|" "$SM_DIR/test.cf" >"$SM_DIR/test-unix.cf"
check "(3) a cf whose X line names the unix socket (S=local:)" grep -q "^Xmailwarden, S=local:$SM_SOCK," "$SM_DIR/test-unix.cf"
if rc_mw_start "$CONF_SU" "$E2E_DIR/mailwardend-sendmail-unix.log"; then
    steps=$(timeout 10 python3 "$E2E_REPO_ROOT/Tests/milter/negotiate.py" "unix:$SM_SOCK" 6 0x1ff 0x1fffff | awk 'NR == 1 { print $3 }')
    check "(3) on this socket mailwardend asks for no DATA (SMFIP_NODATA in ${steps:-no reply})" test $(( ${steps:-0} & 0x200 )) -ne 0
    timeout 30 "$SM_DIR/sm" -C "$SM_DIR/test-unix.cf" -bd -odq >"$SM_DIR/bd-unix.out" 2>&1
    wait_port_listening "$SM_PORT" 10
    SM_PID=$(head -1 "$SM_DIR/sendmail.pid" 2>/dev/null)
    SMTP_PORT=$SM_PORT send_app --header "Subject: $(new_tag) via sendmail, unix socket"
    expect_eq "(3) over the unix socket (no DATA asked for) Sendmail accepts a message through the milter (250)" 250 "$(swaks_data_code)"
    smqid=$(grep -Eo '250 2\.0\.0 [A-Za-z0-9]+ Message accepted' "$SWAKS_LOG" | awk '{ print $3 }')
    check "(3) ... and mailwardend counted it under Sendmail's queue id ${smqid:-?} as daemon:recipes-mta" \
        rc_log_has "info: ${smqid:-none}: identity=daemon:recipes-mta rule=[0-9]+ scope=trusted "
    SMTP_PORT=$SM_PORT send_anon --to someone@example.com --header "Subject: $(new_tag) a stranger via sendmail, unix socket"
    expect_eq "(3) ... and a stranger's mail (250), accepted at MAIL FROM uncounted" 250 "$(swaks_data_code)"
    check "(3) ... which mailwardend logged so" rc_log_has "scope=inbound action=accept \(not counted\)"
    SMTP_PORT=$SM_PORT send_app --header "Subject: $(new_tag) a login header via sendmail" --header "X-Auth-User: shop1"
    expect_eq "(3) a message naming its sender in X-Auth-User is accepted (250)" 250 "$(swaks_data_code)"
    smqid=$(grep -Eo '250 2\.0\.0 [A-Za-z0-9]+ Message accepted' "$SWAKS_LOG" | awk '{ print $3 }')
    expect_match "(3) ... queued with X-MailWarden-ID and one space after its colon (values negotiated with their leading space)" \
        '^ [A-Za-z0-9_-]{22,}$' "$(grep -ah 'X-MailWarden-ID:' "$SM_DIR/q/qf${smqid:-none}" 2>/dev/null | sed 's/.*X-MailWarden-ID://')"
    check "(3) ... and without its X-Auth-User" not grep -aq 'X-Auth-User' "$SM_DIR/q/qf${smqid:-none}"
    mw_stop
    recipes_stop_extra
    rm -f "$SM_DIR"/q/*
    rm -rf "$SM_SOCK_DIR" && SM_SOCK_DIR=
else
    _fail "(3) mailwardend starts for Sendmail on a unix socket" "see $E2E_DIR/mailwardend-sendmail-unix.log"
fi

# -bs -odi: one SMTP session on stdin, delivered at once through the mailer.
rc_mw_start "$CONF_S" "$E2E_DIR/mailwardend-sendmail.log" || _fail "(3) mailwardend restarts" "see $MW_LOG"
SM_BS="$SM_DIR/sm -C $SM_DIR/test.cf -odi -bs"
_swaks --pipe "$SM_BS" --from reporter@outside.example --to abuse@example.com \
    --header "Subject: $(new_tag) report via sendmail" --body "Spam from 198.51.100.23 hit our trap."
expect_eq "(3) the report to abuse@example.com is accepted (250)" 250 "$(swaks_data_code)"
_case_filed() { rc_cli desk --once >>"$E2E_DIR/desk.log" && rc_cli cases --json | jq -e 'any(.[]; .subject == "198.51.100.23")' >/dev/null; }
wait_until 15 _case_filed
check "(3) the mailwarden mailer ran ingest (and the desk filed it): a case for 198.51.100.23" _case_filed
expect_eq "(3) ... with the envelope from \$g and \$u" "reporter@outside.example abuse@example.com" \
    "$(sqlite3 "$VAR/mailwarden.db" "select envelope_sender || ' ' || envelope_recipient from reports join report_raw on report_id = id where cast(raw as text) like '%198.51.100.23%'")"
expect_eq "(3) nothing left in Sendmail's queue" 0 "$(find "$SM_DIR/q" -type f | wc -l)"

# A store ingest cannot write: exit 75, and Sendmail keeps the report queued.
# The files become root's (mode 640): only an ingest that really runs as U=
# (not as root) fails on them. mailwardend keeps running on its open files.
chown root "$VAR"
chmod 755 "$VAR"
for f in "$VAR"/mailwarden.db*; do chown root "$f"; done
_swaks --pipe "$SM_BS" --from reporter@outside.example --to abuse@example.com \
    --header "Subject: $(new_tag) report, store read-only" --body "Spam from 198.51.100.99 hit our trap."
expect_eq "(3) store read-only: Sendmail still accepts the report (250)" 250 "$(swaks_data_code)"
check "(3) ... ingest (as U=$RECIPES_USER) exits 75 and the report stays queued, not bounced" \
    grep -aq '^MDeferred: mailwarden mailer .* exited with EX_TEMPFAIL' "$SM_DIR"/q/qf*
check "(3) ... no bounce was generated" not grep -rlq 'Returned mail' "$SM_DIR/q"
chown -R "$RECIPES_USER" "$VAR"

recipes_finish
