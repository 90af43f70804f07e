# shellcheck shell=bash
#
# lib.sh: helpers for MailWarden's end-to-end tests against a REAL, private
# Postfix instance on loopback. Source it from bash; it defines functions and
# a few globals and starts nothing by itself.
#
#   e2e_init [DIR]        work directory (default: a new mktemp -d), free ports,
#                         the cleanup trap. Call it first.
#   pf_start DIR          private Postfix (own config_directory DIR/etc, queue
#                         DIR/spool, data DIR/data, log DIR/postfix.log) plus an
#                         smtp-sink on 127.0.0.1:$SINK_PORT dumping one file per
#                         message in DIR/sink/. Everything relays to the sink.
#   pf_stop               stop Postfix and the sink (bounded).
#   sink_count / sink_wait N TIMEOUT / sink_wait_for PATTERN TIMEOUT [QID]
#   sink_grep PATTERN / sink_files_with PATTERN
#   hold_queue_ids / queue_ids [QUEUE]
#   send_auth USER [swaks args]   SASL PLAIN as USER@$REALM; exit code = swaks'
#   send_anon [swaks args]        no AUTH, from 127.0.0.2 (a stranger), to @example.net
#   send_app [swaks args]         no AUTH, from 127.0.0.1 (mynetworks: a local app)
#   send_local USER RCPT [HEADER...]  private sendmail run as local user USER
#   swaks_data_code / swaks_first_error / swaks_queue_id / swaks_replies
#                                 read the last swaks transcript ($SWAKS_LOG)
#   mw_write_config FILE / mw_start / mw_stop / mw_kill9 / mw_cli ...
#   probe_start / probe_stop      test-only C milter that logs what Postfix shows
#   check NAME CMD... / expect_eq NAME WANT GOT / expect_match NAME REGEX GOT
#   e2e_finish                    stop everything, print "N passed, N failed"
#
# Ports: PF_PORT (smtpd with milter), PF_PLAIN_PORT (smtpd without milter),
# SINK_PORT, MILTER_PORT; each may be preset in the environment, otherwise a
# free high port is picked. Everything listens on 127.0.0.1 only; the
# "stranger" client connects from 127.0.0.2 (also loopback) so that it is
# outside mynetworks.
# Every wait is a bounded poll (0.1 s steps, explicit maximum).

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO_ROOT=$(cd "$E2E_LIB_DIR/../.." && pwd)

REALM=${REALM:-mx.e2e.test}            # myhostname == Cyrus SASL realm
SASL_PASSWORD=secret-pw
SASL_USERS=(alice bob carol dave)
STRANGER_ADDR=127.0.0.2                # loopback, but not in mynetworks
MILTER_DAEMON_NAME_SMTPD=smtpd
MILTER_DAEMON_NAME_LOCAL=mailwarden-local
MW_BIN=${MW_BIN:-$E2E_REPO_ROOT/.build/debug}
case $MW_BIN in /*) ;; *) MW_BIN=$E2E_REPO_ROOT/$MW_BIN ;; esac

E2E_PASS=0
E2E_FAIL=0
E2E_FAILED_NAMES=()
E2E_DIR=
PF_DIR=
SINK_PID=
MW_PID=
PROBE_PID=
SWAKS_SEQ=0
SWAKS_LOG=
E2E_FINISHED=0

# ---------------------------------------------------------------- utilities

log() { printf '%s\n' "# $*" >&2; }

# port_in_use PORT: true if something listens on 127.0.0.1:PORT (or any addr).
port_in_use() {
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# free_port: print a free TCP port in 10000-31999, below Linux's ephemeral range (32768-60999):
# a port in that range can become the local port of any outgoing connection (an SMTP client,
# psql, curl) between our check and the bind ("Address already in use"). A port handed out stays
# reserved for two minutes in a file every test process shares, so two picks made before either
# port is bound differ: picks in subshells ($(free_port) cannot update a variable of ours) and in
# child scripts (the scanners, the cluster) alike.
E2E_PORTS_FILE=${E2E_PORTS_FILE:-${TMPDIR:-/tmp}/mailwarden-test-ports-$(id -u)}
free_port() {
    local i p now=$EPOCHSECONDS kept="$E2E_PORTS_FILE.$BASHPID"
    if [ -f "$E2E_PORTS_FILE" ]; then
        awk -v now="$now" 'now - $2 < 120' "$E2E_PORTS_FILE" >"$kept" && mv "$kept" "$E2E_PORTS_FILE"
    fi
    for ((i = 0; i < 200; i++)); do
        p=$((10000 + RANDOM % 22000))
        grep -q "^$p " "$E2E_PORTS_FILE" 2>/dev/null && continue
        if ! port_in_use "$p"; then
            echo "$p $now" >>"$E2E_PORTS_FILE"
            echo "$p"
            return 0
        fi
    done
    echo "free_port: no free port after 200 tries" >&2
    return 1
}

# wait_until TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds. Bounded
# twice: at most TIMEOUT_S*10 tries and TIMEOUT_S seconds of wall clock (CMD's
# own run time counts). Returns 0 as soon as CMD succeeds, else CMD's status.
wait_until() {
    local timeout=$1 i max deadline rc
    shift
    max=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 10 }')
    ((max < 1)) && max=1
    # Milliseconds; bash integers (mawk's %d stops at 2^31).
    deadline=$(( ${EPOCHREALTIME/./} / 1000 + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }') ))
    for ((i = 0; i < max; i++)); do
        "$@" && return 0
        rc=$?
        (( ${EPOCHREALTIME/./} / 1000 >= deadline )) && return $rc
        sleep 0.1
    done
    return $rc
}

# wait_port_listening PORT TIMEOUT_S
wait_port_listening() { wait_until "$2" port_in_use "$1"; }

# pid_alive PID
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# wait_pid_gone PID TIMEOUT_S
wait_pid_gone() {
    local pid=$1
    _gone() { ! pid_alive "$pid"; }
    wait_until "$2" _gone
}

# ---------------------------------------------------------------- asserts

# check NAME CMD...: CMD's exit status decides. Its output goes to
# $E2E_DIR/checks/N.out and is shown on failure.
E2E_CHECK_SEQ=0
check() {
    local name=$1 out rc
    shift
    E2E_CHECK_SEQ=$((E2E_CHECK_SEQ + 1))
    out=$E2E_DIR/checks/$E2E_CHECK_SEQ.out
    "$@" >"$out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        _pass "$name"
    else
        _fail "$name" "command failed (status $rc): $*" "$out"
    fi
    return $rc
}

# expect_eq NAME WANT GOT
expect_eq() {
    if [ "$2" = "$3" ]; then
        _pass "$1"
    else
        _fail "$1" "want [$2] got [$3]"
        return 1
    fi
}

# expect_match NAME EXTENDED_REGEX GOT
expect_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then
        _pass "$1"
    else
        _fail "$1" "[$3] does not match /$2/"
        return 1
    fi
}

# expect_no_match NAME EXTENDED_REGEX GOT
expect_no_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then
        _fail "$1" "[$3] matches /$2/ but must not"
        return 1
    else
        _pass "$1"
    fi
}

_pass() {
    E2E_PASS=$((E2E_PASS + 1))
    printf 'ok   - %s\n' "$1"
}

_fail() {
    E2E_FAIL=$((E2E_FAIL + 1))
    E2E_FAILED_NAMES+=("$1")
    printf 'FAIL - %s: %s\n' "$1" "$2"
    if [ -n "${3:-}" ] && [ -s "$3" ]; then
        sed -n '1,30s/^/       | /p' "$3"
    fi
}

# not CMD...: invert CMD's status (for check).
not() { ! "$@"; }

# lacks_line REGEX FILE: FILE exists and no line matches REGEX (case-insensitive);
# a missing file is a failure, not a pass.
lacks_line() { [ -f "$2" ] && ! grep -qiE -- "$1" "$2"; }

# skip NAME REASON: counted neither as pass nor as fail, but printed.
skip() { printf 'skip - %s: %s\n' "$1" "$2"; }

# ---------------------------------------------------------------- lifecycle

# e2e_init [DIR]: set up the work directory, ports and the cleanup trap.
e2e_init() {
    if [ -n "${1:-}" ]; then
        E2E_DIR=$1
        mkdir -p "$E2E_DIR"
        if [ -n "$(ls -A "$E2E_DIR")" ]; then
            echo "e2e_init: $E2E_DIR is not empty (old sink files would confuse the counts)" >&2
            return 1
        fi
    else
        E2E_DIR=$(mktemp -d /tmp/mailwarden-e2e.XXXXXX)
    fi
    # Postfix daemons run as user postfix and must traverse to spool/sasldb.
    chmod 755 "$E2E_DIR"
    mkdir -p "$E2E_DIR/checks" "$E2E_DIR/swaks" "$E2E_DIR/var"
    PF_PORT=${PF_PORT:-$(free_port)} || return 1
    PF_PLAIN_PORT=${PF_PLAIN_PORT:-$(free_port)} || return 1
    SINK_PORT=${SINK_PORT:-$(free_port)} || return 1
    MILTER_PORT=${MILTER_PORT:-$(free_port)} || return 1
    trap 'e2e_cleanup' EXIT
    trap 'log "interrupted"; E2E_FAIL=$((E2E_FAIL + 1)); exit 130' INT TERM
    log "work dir $E2E_DIR; smtpd 127.0.0.1:$PF_PORT (plain :$PF_PLAIN_PORT)," \
        "sink :$SINK_PORT, milter :$MILTER_PORT, realm $REALM"
}

# e2e_cleanup: stop everything we started. Safe to call twice.
e2e_cleanup() {
    mw_stop_quiet
    probe_stop
    pf_stop
    if [ "$E2E_FINISHED" != 1 ]; then
        # Aborted before e2e_finish: still print the one summary line.
        E2E_FINISHED=1
        echo "$E2E_PASS passed, $((E2E_FAIL > 0 ? E2E_FAIL : 1)) failed"
        exit 1
    fi
}

# e2e_finish: stop everything, print the summary, exit 0 only if all passed.
e2e_finish() {
    mw_stop_quiet
    probe_stop
    pf_stop
    E2E_FINISHED=1
    trap - EXIT INT TERM
    e2e_summary E2E_KEEP
}

# e2e_summary KEEP_VAR: keep the work dir if a check failed or $KEEP_VAR is 1 (else delete it), print
# the summary and exit 0 only if all passed. Shared by every suite that sources this file.
e2e_summary() {
    if [ "$E2E_FAIL" -gt 0 ]; then
        log "failed: ${E2E_FAILED_NAMES[*]}"
        log "work dir kept for inspection: $E2E_DIR"
    elif [ "${!1:-0}" = 1 ]; then
        log "work dir kept ($1=1): $E2E_DIR"
    else
        rm -rf "$E2E_DIR"
    fi
    echo "$E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
    exit $?
}

# ---------------------------------------------------------------- postfix

# pf_postconf ARGS...: postconf against the private instance.
pf_postconf() { postconf -c "$PF_DIR/etc" "$@"; }

# pf_reload: reload the private instance and give master a second to restart its services.
pf_reload() {
    postfix -c "$PF_DIR/etc" reload >/dev/null 2>&1
    sleep 1
}

# pf_start DIR: create and start the private Postfix instance and the sink.
pf_start() {
    PF_DIR=$1
    local etc=$PF_DIR/etc u
    mkdir -p "$etc/sasl" "$PF_DIR/spool" "$PF_DIR/data" "$PF_DIR/sink"
    chmod 755 "$PF_DIR" "$etc" "$etc/sasl"
    chown postfix:postfix "$PF_DIR/data" "$PF_DIR/sink"
    : >"$PF_DIR/postfix.log"

    cat >"$etc/main.cf" <<EOF
# Private MailWarden e2e instance, written by Tests/e2e/lib.sh. Not /etc/postfix.
compatibility_level = 3.6
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-e2e
maillog_file = $PF_DIR/postfix.log
maillog_file_prefixes = $PF_DIR

myhostname = $REALM
mydomain = e2e.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Only this host's own address is "mynetworks"; the stranger of send_anon
# connects from 127.0.0.2 (still loopback) and may only send to example.net.
mynetworks = 127.0.0.1/32
smtpd_banner = \$myhostname ESMTP MailWarden-e2e
biff = no

# Local delivery off; everything goes to the loopback smtp-sink. No DNS.
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled in the e2e instance
alias_maps =
alias_database =
relay_domains = example.net
relayhost = [127.0.0.1]:$SINK_PORT
default_transport = smtp:[127.0.0.1]:$SINK_PORT
relay_transport = smtp:[127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
smtp_host_lookup = native
disable_dns_lookups = yes
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtputf8_enable = no

# Local submissions: a user may only use its own login name as the envelope
# sender (sendmail -f other@... fails), so {mail_addr} is trustworthy for mail
# that comes through cleanup-local.
local_login_sender_maps = inline:{ { root = * }, { postfix = * } },
    regexp:$etc/login_senders.regexp

# Fast, quiet test runs.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
in_flow_delay = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
delay_warning_time = 0
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 60s

# Cyrus SASL from a private sasldb ($etc/sasl/smtpd.conf).
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $etc/sasl
smtpd_sasl_local_domain = \$myhostname
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination

# The milter (mailwardend or probe-milter) for SMTP and local submissions.
smtpd_milters = inet:127.0.0.1:$MILTER_PORT
non_smtpd_milters = inet:127.0.0.1:$MILTER_PORT
milter_default_action = tempfail
milter_connect_timeout = 5s
milter_command_timeout = 20s
milter_content_timeout = 60s
EOF

    # Chroot off everywhere. pickup hands local submissions to cleanup-local,
    # whose milter_macro_daemon_name tells the milter "this came from sendmail".
    cat >"$etc/master.cf" <<EOF
# service       type  private unpriv chroot wakeup maxproc command + args
127.0.0.1:$PF_PORT inet n   -      n      -      -       smtpd
  -o milter_macro_daemon_name=$MILTER_DAEMON_NAME_SMTPD
127.0.0.1:$PF_PLAIN_PORT inet n -  n      -      -       smtpd
  -o milter_macro_daemon_name=smtpd-plain
  -o smtpd_milters=
pickup          unix  n       -      n      60     1       pickup
  -o cleanup_service_name=cleanup-local
cleanup         unix  n       -      n      -      0       cleanup
cleanup-local   unix  n       -      n      -      0       cleanup
  -o milter_macro_daemon_name=$MILTER_DAEMON_NAME_LOCAL
qmgr            unix  n       -      n      300    1       qmgr
rewrite         unix  -       -      n      -      -       trivial-rewrite
bounce          unix  -       -      n      -      0       bounce
defer           unix  -       -      n      -      0       bounce
trace           unix  -       -      n      -      0       bounce
verify          unix  -       -      n      -      1       verify
flush           unix  n       -      n      1000?  0       flush
proxymap        unix  -       -      n      -      -       proxymap
proxywrite      unix  -       -      n      -      1       proxymap
smtp            unix  -       -      n      -      -       smtp
relay           unix  -       -      n      -      -       smtp
showq           unix  n       -      n      -      -       showq
error           unix  -       -      n      -      -       error
retry           unix  -       -      n      -      -       error
discard         unix  -       -      n      -      -       discard
anvil           unix  -       -      n      -      1       anvil
scache          unix  -       -      n      -      1       scache
postlog         unix-dgram n  -      n      -      1       postlogd
EOF

    printf '/^(.+)$/ ${1} ${1}@%s\n' "$REALM" >"$etc/login_senders.regexp"
    # Non-root sendmail/postdrop accept a non-default config directory only if
    # the DEFAULT main.cf lists it. We never touch /etc/postfix: send_local
    # bind-mounts this one-line file over /etc/postfix/main.cf inside a
    # private mount namespace (unshare -m) for that one command.
    printf 'alternate_config_directories = %s\n' "$etc" >"$PF_DIR/default-main.cf"

    cat >"$etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $etc/sasldb2
EOF
    rm -f "$etc/sasldb2"
    for u in "${SASL_USERS[@]}"; do
        printf '%s' "$SASL_PASSWORD" |
            saslpasswd2 -c -p -f "$etc/sasldb2" -u "$REALM" "$u" || {
            echo "pf_start: saslpasswd2 failed for $u" >&2
            return 1
        }
    done
    chown root:postfix "$etc/sasldb2"
    chmod 640 "$etc/sasldb2"

    # smtp-sink: one file per message, DIR/sink/msg.<random hex>.
    smtp-sink -4 -u postfix -h sink.e2e.test -d "$PF_DIR/sink/msg." \
        "127.0.0.1:$SINK_PORT" 64 >"$PF_DIR/sink.log" 2>&1 &
    SINK_PID=$!
    disown "$SINK_PID" # no "Killed"/"Terminated" job notices; we poll the pid
    wait_port_listening "$SINK_PORT" 5 || {
        echo "pf_start: smtp-sink did not listen on $SINK_PORT" >&2
        return 1
    }

    postfix -c "$etc" check >"$PF_DIR/postfix-check.out" 2>&1 || {
        echo "pf_start: postfix check failed:" >&2
        cat "$PF_DIR/postfix-check.out" >&2
        return 1
    }
    postfix -c "$etc" start >"$PF_DIR/postfix-start.out" 2>&1 || {
        echo "pf_start: postfix start failed:" >&2
        cat "$PF_DIR/postfix-start.out" >&2
        return 1
    }
    wait_port_listening "$PF_PORT" 10 && wait_port_listening "$PF_PLAIN_PORT" 5 || {
        echo "pf_start: smtpd did not listen on $PF_PORT/$PF_PLAIN_PORT" >&2
        tail -20 "$PF_DIR/postfix.log" >&2
        return 1
    }
}

# pf_add_ingest_pipe SERVICE DIR CONF: a store directory DIR owned by nobody, a config CONF for a
# store there (mw_write_config knobs apply; readable by nobody), and a pipe(8) service SERVICE in the
# private master.cf that runs `mailwarden ingest` as nobody with CONF, one recipient per delivery.
# Route mail to it with transport_maps, then pf_reload.
pf_add_ingest_pipe() {
    local service=$1 dir=$2 conf=$3
    mkdir -p "$dir" && chown nobody "$dir"
    CFG_STORE=$dir/$service.db mw_write_config "$conf"
    chmod 644 "$conf"
    printf '%s\n' "$service unix  -       n       n       -       -       pipe" \
        "  flags=Rq user=nobody argv=$MW_BIN/mailwarden ingest --config $conf --sender \${sender} --recipient \${recipient}" \
        >>"$PF_DIR/etc/master.cf"
    pf_postconf -e "${service}_destination_recipient_limit = 1"
}

# pf_master_pid: the private master's pid, or nothing.
pf_master_pid() {
    [ -n "$PF_DIR" ] && [ -f "$PF_DIR/spool/pid/master.pid" ] &&
        awk 'NR == 1 { print $1 }' "$PF_DIR/spool/pid/master.pid"
}

# pf_stop: stop the private Postfix and the sink. Bounded; escalates to -9.
pf_stop() {
    local mpid
    if [ -n "$PF_DIR" ] && [ -f "$PF_DIR/etc/main.cf" ]; then
        mpid=$(pf_master_pid)
        if pid_alive "$mpid"; then
            postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1
            if ! wait_pid_gone "$mpid" 10; then
                log "pf_stop: master $mpid still alive, kill -9 its group"
                kill -9 -- "-$mpid" 2>/dev/null || kill -9 "$mpid" 2>/dev/null
            fi
        fi
    fi
    if pid_alive "$SINK_PID"; then
        kill "$SINK_PID" 2>/dev/null
        wait_pid_gone "$SINK_PID" 5 || kill -9 "$SINK_PID" 2>/dev/null
    fi
    SINK_PID=
}

# pf_log_count REGEX: lines in the private Postfix log matching REGEX.
pf_log_count() { grep -Ec -- "$1" "$PF_DIR/postfix.log" 2>/dev/null || true; }

# queue_ids [QUEUE]: queue ids in the named queue (hold, active, deferred,
# incoming, maildrop) or in all queues.
queue_ids() {
    postqueue -c "$PF_DIR/etc" -j 2>/dev/null |
        jq -r --arg q "${1:-}" 'select($q == "" or .queue_name == $q) | .queue_id'
}

# queue_name_of QID: the queue (hold, active, ...) holding QID, or nothing.
queue_name_of() {
    postqueue -c "$PF_DIR/etc" -j 2>/dev/null |
        jq -r --arg id "$1" 'select(.queue_id == $id) | .queue_name'
}

# hold_queue_ids: queue ids in the hold queue, one per line.
hold_queue_ids() { queue_ids hold; }

# maildrop_count: files waiting in maildrop (pickup could not hand them over).
maildrop_count() { find "$PF_DIR/spool/maildrop" -type f 2>/dev/null | wc -l; }

# pf_flush: ask the queue manager to retry deferred mail now.
pf_flush() { postqueue -c "$PF_DIR/etc" -f >/dev/null 2>&1; }

# ---------------------------------------------------------------- several hosts in one shell
# The functions here drive one Postfix and one mailwardend through globals; with several hosts
# (Tests/e2e/postgres.sh, bench/two-hosts.sh) each keeps its own set: host_save NAME after starting
# it, host_use NAME before talking to it, host_new_ports before starting the next.
HOST_VARS=(PF_DIR PF_PORT PF_PLAIN_PORT SINK_PORT SINK_PID MILTER_PORT MW_CONF MW_PID MW_LOG)
declare -A HOST
host_save() { local v; for v in "${HOST_VARS[@]}"; do HOST[$1.$v]=${!v:-}; done; }
host_use() { local v; for v in "${HOST_VARS[@]}"; do printf -v "$v" '%s' "${HOST[$1.$v]:-}"; done; }
host_new_ports() {
    PF_DIR= MW_PID= SINK_PID=
    PF_PORT=$(free_port) && PF_PLAIN_PORT=$(free_port) && SINK_PORT=$(free_port) && MILTER_PORT=$(free_port)
}
# hosts_stop NAME...: stop each saved host's mailwardend and Postfix (bounded).
hosts_stop() {
    local h
    for h in "$@"; do
        [ -n "${HOST[$h.PF_DIR]:-}" ] || continue
        host_use "$h"
        mw_stop_quiet
        pf_stop
        host_save "$h"
    done
}

# ---------------------------------------------------------------- sink

# sink_count: dump files in the sink (one per message; see sink_wait for
# "complete").
sink_count() { find "$PF_DIR/sink" -type f -name 'msg.*' 2>/dev/null | wc -l; }

# sink_base: remember the sink's count; a scenario then waits for SINK_BASE + N.
sink_base() { SINK_BASE=$(sink_count); }

# sink_wait N TIMEOUT_S: wait until the sink holds at least N messages and
# Postfix logged their delivery (so the dump files are complete).
sink_wait() {
    local want=$1 timeout=$2
    _sink_ready() {
        [ "$(sink_count)" -ge "$want" ] &&
            [ "$(pf_log_count ' status=sent ')" -ge "$(sink_count)" ]
    }
    wait_until "$timeout" _sink_ready
}

# sink_wait_for PATTERN TIMEOUT_S [QUEUE_ID]: wait until a sink file matches PATTERN
# and Postfix logged every delivery (so the file is complete). Counting alone is
# fooled by a late message from an earlier scenario. On a timeout it prints what
# Postfix logged for QUEUE_ID, so a slow or lost delivery says where it stopped.
sink_wait_for() {
    local pattern=$1 timeout=$2 qid=${3:-}
    _sink_has_complete() {
        sink_has "$pattern" && [ "$(pf_log_count ' status=sent ')" -ge "$(sink_count)" ]
    }
    wait_until "$timeout" _sink_has_complete && return 0
    echo "# sink_wait_for: nothing matching '$pattern' after ${timeout} s" >&2
    [ -n "$qid" ] && grep -F -- " $qid:" "$PF_DIR/postfix.log" | tail -5 | sed 's/^/#   /' >&2
    return 1
}

# sink_settle [TIMEOUT_S]: wait until Postfix has nothing in active/incoming
# (used before asserting that something did NOT arrive).
sink_settle() {
    _queues_idle() {
        [ -z "$(postqueue -c "$PF_DIR/etc" -j 2>/dev/null |
            jq -r 'select(.queue_name == "active" or .queue_name == "incoming") | .queue_id')" ] &&
            [ "$(maildrop_count)" -eq 0 ]
    }
    wait_until "${1:-5}" _queues_idle
    sleep 0.3
}

# sink_grep PATTERN: grep -l over the sink dump files (extended regex).
sink_grep() { grep -El -- "$1" "$PF_DIR"/sink/msg.* 2>/dev/null; }

# sink_has PATTERN: true if some sink file matches.
sink_has() { [ -n "$(sink_grep "$1")" ]; }

# sink_files_with PATTERN: how many sink files match.
sink_files_with() { sink_grep "$1" | wc -l; }

# ---------------------------------------------------------------- clients

# new_tag: a unique token to put in a Subject so a test can find its message. Called as
# $(new_tag), in a subshell, so nothing it counts survives the call: the subshell's pid and the
# microsecond make it unique (a sequence number and $RANDOM gave two tags alike in a run).
new_tag() { echo "e2e-$$-$BASHPID-${EPOCHREALTIME/./}"; }

_swaks() {
    SWAKS_SEQ=$((SWAKS_SEQ + 1))
    SWAKS_LOG=$E2E_DIR/swaks/$SWAKS_SEQ.txt
    timeout 60 swaks --timeout 30 --hide-informational "$@" >"$SWAKS_LOG" 2>&1
}

# send_auth USER [swaks args...]: authenticated submission as USER@$REALM on
# $PF_PORT (--server/--to/--from may be overridden by later args). Returns
# swaks' exit code; the transcript is in $SWAKS_LOG.
send_auth() {
    local user=$1
    shift
    _swaks --server "127.0.0.1:${SMTP_PORT:-$PF_PORT}" \
        --auth PLAIN --auth-user "$user@$REALM" --auth-password "$SASL_PASSWORD" \
        --from "$user@$REALM" --to "someone@example.com" "$@"
}

# send_anon [swaks args...]: unauthenticated SMTP from $STRANGER_ADDR
# (127.0.0.2: loopback, but outside mynetworks), i.e. a stranger sending
# inbound mail, to someone@example.net by default.
send_anon() {
    _swaks --server "127.0.0.1:${SMTP_PORT:-$PF_PORT}" --local-interface "$STRANGER_ADDR" \
        --from "stranger@outside.example" --to "someone@example.net" "$@"
}

# send_app [swaks args...]: unauthenticated SMTP from 127.0.0.1 (in
# mynetworks: an application on this host), to someone@example.com by default.
send_app() {
    _swaks --server "127.0.0.1:${SMTP_PORT:-$PF_PORT}" --local-interface 127.0.0.1 \
        --from "app@$REALM" --to "someone@example.com" "$@"
}

# send_local USER RCPT [HEADER_LINE...] [-- BODY]: submit with the private
# instance's sendmail (-C $PF_DIR/etc), run as local user USER (root, or any
# account such as nobody); SENDMAIL_FROM=ADDR adds -f ADDR. Returns sendmail's
# exit code (75 = EX_TEMPFAIL, e.g. a refused -f); its output is in
# $E2E_DIR/sendmail.last. For a non-root USER the command runs in a private
# mount namespace where /etc/postfix/main.cf is $PF_DIR/default-main.cf (see
# pf_start); the real /etc/postfix is never modified.
send_local() {
    local user=$1 rcpt=$2 body="local submission from $1" from=()
    shift 2
    [ -n "${SENDMAIL_FROM:-}" ] && from=(-f "$SENDMAIL_FROM")
    {
        printf 'To: %s\n' "$rcpt"
        while [ $# -gt 0 ]; do
            if [ "$1" = -- ]; then body=$2; break; fi
            printf '%s\n' "$1"
            shift
        done
        printf '\n%s\n' "$body"
    } >"$E2E_DIR/sendmail.msg"
    if [ "$user" = root ]; then
        timeout 30 /usr/sbin/sendmail -C "$PF_DIR/etc" "${from[@]}" -i -- "$rcpt" \
            <"$E2E_DIR/sendmail.msg" >"$E2E_DIR/sendmail.last" 2>&1
    else
        timeout 30 unshare -m sh -c '
            mount --bind "$1" /etc/postfix/main.cf || exit 71
            shift
            exec runuser -u "$@"' send_local "$PF_DIR/default-main.cf" \
            "$user" -- /usr/sbin/sendmail -C "$PF_DIR/etc" "${from[@]}" -i -- "$rcpt" \
            <"$E2E_DIR/sendmail.msg" >"$E2E_DIR/sendmail.last" 2>&1
    fi
}

# local_user_supported: true if send_local can run as a non-root user here
# (needs unshare -m, i.e. CAP_SYS_ADMIN).
local_user_supported() {
    unshare -m sh -c 'mount --bind "$1" /etc/postfix/main.cf' x "$PF_DIR/default-main.cf" 2>/dev/null
}

# user_uid USER: numeric uid of a local account.
user_uid() { id -u "$1"; }

# swaks_replies: every server reply line of the last transcript.
swaks_replies() { grep -E '^ *<[-*~]' "$SWAKS_LOG" | sed -E 's/^ *<[-*~]+ *//'; }

# swaks_data_reply: the server's reply to the end of DATA ("." line), or, if
# the session failed earlier, the last server reply.
swaks_data_reply() {
    awk '
        /^ *(->|~>) *\.$/ { dot = 1; next }
        /^ *<[-*~]/ { line = $0; sub(/^ *<[-*~]+ */, "", line); last = line
                      if (dot && !got) { got = line } }
        END { print (got != "" ? got : last) }' "$SWAKS_LOG"
}

# swaks_data_code: the 3-digit code of swaks_data_reply.
swaks_data_code() { swaks_data_reply | grep -Eo '^[0-9]{3}' | head -1; }

# swaks_first_error: the first 4xx/5xx server reply of the last transcript
# (a locked identity may be refused at MAIL FROM, before DATA).
swaks_first_error() { swaks_replies | grep -E '^[45][0-9][0-9]' | head -1; }

# swaks_error_code: the 3-digit code of swaks_first_error.
swaks_error_code() { swaks_first_error | grep -Eo '^[0-9]{3}'; }

# swaks_queue_id: the Postfix queue id from "250 ... queued as ID".
swaks_queue_id() { grep -Eo 'queued as [0-9A-Za-z]+' "$SWAKS_LOG" | awk '{ print $3 }' | tail -1; }

# ---------------------------------------------------------------- probe milter

# probe_start: build (once) and start Tests/e2e/probe-milter.c on MILTER_PORT,
# logging to $PROBE_LOG ($E2E_DIR/probe.N.log, a new file per start).
PROBE_SEQ=0
PROBE_LOG=
probe_start() {
    local bin=$E2E_DIR/probe-milter
    if [ ! -x "$bin" ]; then
        cc -O2 -Wall -o "$bin" "$E2E_LIB_DIR/probe-milter.c" -lmilter \
            >"$E2E_DIR/probe-build.out" 2>&1 || {
            cat "$E2E_DIR/probe-build.out" >&2
            return 1
        }
    fi
    PROBE_SEQ=$((PROBE_SEQ + 1))
    PROBE_LOG=$E2E_DIR/probe.$PROBE_SEQ.log
    "$bin" "inet:$MILTER_PORT@127.0.0.1" "$PROBE_LOG" 2>>"$E2E_DIR/probe.err" &
    PROBE_PID=$!
    disown "$PROBE_PID"
    wait_port_listening "$MILTER_PORT" 5
}

probe_stop() {
    if pid_alive "$PROBE_PID"; then
        kill -TERM "$PROBE_PID" 2>/dev/null
        wait_pid_gone "$PROBE_PID" 10 || kill -9 "$PROBE_PID" 2>/dev/null
    fi
    PROBE_PID=
}

# ---------------------------------------------------------------- mailwarden

MW_CONF=
MW_LOG=

# mw_have_binaries: true if both binaries exist in $MW_BIN.
mw_have_binaries() { [ -x "$MW_BIN/mailwardend" ] && [ -x "$MW_BIN/mailwarden" ]; }

# mw_write_config FILE: write a daemon config. Knobs (environment-style
# variables, unset = default): CFG_STORE (db path), CFG_RULES (newline-
# separated identity_rule values), CFG_LIMIT_SPAM, CFG_LIMIT_MESSAGES,
# CFG_LOCK_ACTION, CFG_MODE (omitted when empty), CFG_EXTRA (raw lines).
mw_write_config() {
    local file=$1 rule
    local rules=${CFG_RULES:-'sasl macro {auth_authen} lowercase
user header X-Auth-User /^\s*(?<id>[A-Za-z0-9._@-]+)/ lowercase
local envelope_from /^(?<id>[^@]+)@'"${REALM//./\\.}"'$/ lowercase'}
    {
        echo "# MailWarden e2e config, written by Tests/e2e/lib.sh"
        echo "socket = inet:$MILTER_PORT@127.0.0.1"
        echo "store = ${CFG_STORE:-$E2E_DIR/var/mailwarden.db}"
        while IFS= read -r rule; do
            [ -n "$rule" ] && echo "identity_rule = $rule"
        done <<<"$rules"
        echo "limit_spam = ${CFG_LIMIT_SPAM:-3/1h}"
        echo "limit_messages = ${CFG_LIMIT_MESSAGES:-1000/1h}"
        echo "lock_action = ${CFG_LOCK_ACTION:-reject}"
        [ -n "${CFG_MODE:-}" ] && echo "mode = $CFG_MODE"
        echo "log = stderr"
        echo "local_daemon_name = $MILTER_DAEMON_NAME_LOCAL"
        [ -n "${CFG_EXTRA:-}" ] && printf '%s\n' "$CFG_EXTRA"
    } >"$file"
}

# MW_AS: a command mailwardend runs under, e.g. (setpriv --reuid nobody ...); empty: as the caller.
MW_AS=()

# mw_start [CONF [LOG]]: start mailwardend in the background (under "${MW_AS[@]}"), stderr appended
# to LOG (default $E2E_DIR/mailwardend.log); wait (bounded) until it logs that it started, which it
# does once its socket (inet or unix) listens. A config on MILTER_PORT fails at once if that is taken.
mw_start() {
    MW_CONF=${1:-$MW_CONF}
    MW_LOG=${2:-$E2E_DIR/mailwardend.log}
    if grep -q "^socket = inet:$MILTER_PORT@" "$MW_CONF" && port_in_use "$MILTER_PORT"; then
        echo "mw_start: port $MILTER_PORT already in use" >&2
        return 1
    fi
    echo "=== mw_start $(date +%T) $MW_CONF" >>"$MW_LOG"
    "${MW_AS[@]}" "$MW_BIN/mailwardend" --config "$MW_CONF" >>"$MW_LOG" 2>&1 &
    MW_PID=$!
    disown "$MW_PID" # no job notice on kill -9; pid_alive polls it
    _mw_up() { pid_alive "$MW_PID" && mw_log_since_start | grep -q 'info: started:'; }
    if ! wait_until 15 _mw_up; then
        echo "mw_start: mailwardend did not start (pid $MW_PID alive: $(pid_alive "$MW_PID" && echo yes || echo no))" >&2
        tail -20 "$MW_LOG" >&2
        return 1
    fi
}

# mw_log_since_start: the daemon log from the last "=== mw_start" line on.
mw_log_since_start() { awk '/^=== mw_start/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$MW_LOG"; }

# mw_stop: SIGTERM, wait (bounded; libmilter needs ~4 s), then SIGKILL.
mw_stop() {
    local rc=0
    if pid_alive "$MW_PID"; then
        kill -TERM "$MW_PID" 2>/dev/null
        if ! wait_pid_gone "$MW_PID" 15; then
            echo "mw_stop: mailwardend $MW_PID ignored SIGTERM for 15 s, killing" >&2
            kill -9 "$MW_PID" 2>/dev/null
            wait_pid_gone "$MW_PID" 5
            rc=1
        fi
    fi
    MW_PID=
    _port_free() { ! port_in_use "$MILTER_PORT"; }
    wait_until 5 _port_free
    return $rc
}
mw_stop_quiet() { mw_stop >/dev/null 2>&1; }

# mw_kill9: SIGKILL the daemon (crash simulation).
mw_kill9() {
    if pid_alive "$MW_PID"; then
        kill -9 "$MW_PID" 2>/dev/null
        wait_pid_gone "$MW_PID" 5
    fi
    MW_PID=
    _port_free() { ! port_in_use "$MILTER_PORT"; }
    wait_until 5 _port_free
}

# desk_start [CONF [LOG]]: start the desk worker (`mailwarden desk`) in the background, under
# "${MW_AS[@]}", stdout and stderr appended to LOG (default $E2E_DIR/desk.log); wait (bounded) for its
# started line. Extra environment for it: DESK_ENV (e.g. MAILWARDEN_TEST_PARSER_FAULTS=1).
desk_start() {
    DESK_CONF=${1:-$MW_CONF}
    DESK_LOG=${2:-$E2E_DIR/desk.log}
    echo "=== desk_start $(date +%T) $DESK_CONF" >>"$DESK_LOG"
    env ${DESK_ENV:-} "${MW_AS[@]}" "$MW_BIN/mailwarden" desk --config "$DESK_CONF" >>"$DESK_LOG" 2>&1 &
    DESK_PID=$!
    disown "$DESK_PID"
    _desk_up() { pid_alive "$DESK_PID" && desk_log_since_start | grep -q '^started:'; }
    if ! wait_until 15 _desk_up; then
        echo "desk_start: mailwarden desk did not start" >&2
        tail -20 "$DESK_LOG" >&2
        return 1
    fi
}

# desk_log_since_start: the desk worker's log from the last "=== desk_start" line on.
desk_log_since_start() { awk '/^=== desk_start/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$DESK_LOG"; }

# stop_pid PID: SIGTERM a process and wait up to 10 s for it; then SIGKILL.
stop_pid() {
    if pid_alive "$1"; then
        kill -TERM "$1" 2>/dev/null
        wait_pid_gone "$1" 10 || kill -9 "$1" 2>/dev/null
    fi
}

# desk_stop: SIGTERM the desk worker (it stops at once; nothing is lost) and wait for it.
desk_stop() {
    stop_pid "$DESK_PID"
    DESK_PID=
}

# desk_wait_drained DB SECS: wait until no report in store DB is queued any more.
desk_wait_drained() {
    _drained() { [ "$(sqlite3 "$1" "select count(*) from reports where status = 'queued'" 2>/dev/null)" = 0 ]; }
    wait_until "$2" _drained "$1"
}

# mw_cli SUBCOMMAND ARGS...: the admin CLI against $MW_CONF. Output on stdout,
# stderr appended to $E2E_DIR/mailwarden-cli.log.
mw_cli() {
    local sub=$1
    shift
    echo "=== mailwarden $sub $*" >>"$E2E_DIR/mailwarden-cli.log"
    timeout 30 "$MW_BIN/mailwarden" "$sub" --config "$MW_CONF" "$@" 2>>"$E2E_DIR/mailwarden-cli.log"
}

# mw_json SUBCOMMAND ARGS...: the CLI's output if it is valid JSON, else
# nothing (status 1; the raw output goes to mailwarden-cli.log).
mw_json() {
    local out
    out=$(mw_cli "$@")
    if json_true 'true' <<<"$out"; then
        printf '%s\n' "$out"
    else
        printf '(not JSON)\n%s\n' "$out" >>"$E2E_DIR/mailwarden-cli.log"
        return 1
    fi
}

# JSON helpers (jq); each prints one value per line.
mw_locked_identities() { mw_json locks --json | jq -r '.[].identity'; }
mw_lock_field() { mw_json locks --json | jq -r --arg id "$1" --arg f "$2" '.[] | select(.identity == $id) | .[$f] | tostring'; }
mw_identity_names() { mw_json identities --json | jq -r '.[].identity'; }
mw_identity_field() { mw_json identities --json | jq -r --arg id "$1" --arg f "$2" '.[] | select(.identity == $id) | .[$f] | tostring'; }
mw_held_queue_ids() { mw_json held "$1" --json | jq -r '.[].queue_id'; }

# json_true FILTER < JSON: true if the input is one JSON value for which FILTER
# is true (jq 1.6 -e alone says "true" for empty input).
json_true() { jq -e -n "input | ($1)" >/dev/null 2>&1; }
