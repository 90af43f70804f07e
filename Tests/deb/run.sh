#!/usr/bin/env bash
#
# run.sh: the Debian package on this machine, from build to purge (`make deb-test`). Run as root:
#
#   make deb, lintian (no E:/W: that is not overridden), ldd (nothing from the Swift toolchain),
#   the man pages against --help, dpkg -i (twice: postinst is idempotent), the user, group,
#   directory and conffile, check-config, systemd-analyze verify and security (exposure <= 2.0),
#   mailwardend started as `mailwarden` under its unit's system-call filter (unit-sandbox.py; there
#   is no systemd as PID 1 here) from the installed files on the installed config (its unix
#   socket in Postfix's queue directory: user postfix may connect, user nobody may not) answering a
#   milter conversation (Tests/deb/conversation.lua, miltertest), the admin CLI
#   run as root leaving no root-owned file in the store's directory, then dpkg -r (config and
#   store stay) and dpkg -P (config, store and user go).
#
# A trap kills the daemon and purges the package on any exit. Refuses to start if a mailwarden
# package, user or group is already on the machine (it would be purged). Environment: DEB_KEEP=1
# keeps the work directory. Prints ok/FAIL/skip lines, then "N passed, N failed".

set -u
DEB_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DEB_TEST_DIR/../.." && pwd)
# check, expect_eq, expect_match, _pass, _fail, skip, log, wait_until, port_in_use, pid_alive,
# wait_pid_gone: the e2e helpers. Nothing of the e2e lifecycle (e2e_init) is used.
# shellcheck source=../e2e/lib.sh
. "$REPO/Tests/e2e/lib.sh"

PKG=mailwarden
SOCK=/var/spool/postfix/mailwarden/mailwarden.sock   # the shipped socket
SOCK_DIR=$(dirname "$SOCK")
CONF=/etc/mailwarden/mailwarden.conf
STATE=/var/lib/mailwarden
UNIT=/lib/systemd/system/mailwardend.service
DESK_UNIT=/lib/systemd/system/mailwarden-desk.service
LOGIN=deb-test@example.net
IDENTITY=sasl:$LOGIN
MAX_EXPOSURE=2.0
DEB_START=$SECONDS
DAEMON_PID=
INSTALLED_BY_US=0
DEB_FINISHED=0

E2E_DIR=$(mktemp -d /tmp/mailwarden-deb.XXXXXX)
mkdir -p "$E2E_DIR/checks"
DAEMON_LOG=$E2E_DIR/mailwardend.log

# ------------------------------------------------------------ lifecycle

daemon_stop() {
    if pid_alive "$DAEMON_PID"; then
        kill -TERM "$DAEMON_PID" 2>/dev/null
        if ! wait_pid_gone "$DAEMON_PID" 15; then
            log "mailwardend $DAEMON_PID ignored SIGTERM for 15 s, killing"
            kill -9 "$DAEMON_PID" 2>/dev/null
            wait_pid_gone "$DAEMON_PID" 5
            DAEMON_PID=
            return 1
        fi
    fi
    DAEMON_PID=
}

pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null; }

# pkg_known: dpkg has the package in any state but "not installed" (installed, config-files, half-...).
pkg_known() { case $(pkg_status) in '' | un* | pn*) return 1 ;; esac; }

# run_dpkg ARGS...: dpkg, retried while another dpkg or apt holds its lock (this machine is
# shared): every 2 s, at most 30 tries and 60 s. Output on stdout, dpkg's status.
run_dpkg() {
    local i out rc deadline=$((SECONDS + 60))
    for ((i = 0; i < 30; i++)); do
        out=$(DEBIAN_FRONTEND=noninteractive dpkg "$@" 2>&1)
        rc=$?
        printf '%s\n' "$out"
        if [ $rc -ne 0 ] && grep -qE 'lock (was )?locked by another|is locked by another' <<<"$out" &&
            [ $SECONDS -lt $deadline ]; then
            log "dpkg $*: locked by another process, retrying in 2 s"
            sleep 2
            continue
        fi
        return $rc
    done
    return $rc
}

# Safe to run twice: kill our daemon, purge the package if we installed it.
deb_cleanup() {
    daemon_stop
    if [ "$INSTALLED_BY_US" = 1 ] && pkg_known; then
        run_dpkg -P "$PKG" >"$E2E_DIR/cleanup-purge.out" 2>&1 || log "cleanup: dpkg -P failed, see $E2E_DIR/cleanup-purge.out"
    fi
}

on_exit() {
    deb_cleanup
    if [ "$DEB_FINISHED" != 1 ]; then
        echo "$E2E_PASS passed, $((E2E_FAIL > 0 ? E2E_FAIL : 1)) failed"
        exit 1
    fi
}
trap on_exit EXIT
trap 'log "interrupted"; E2E_FAIL=$((E2E_FAIL + 1)); exit 130' INT TERM

deb_finish() {
    deb_cleanup
    DEB_FINISHED=1
    trap - EXIT INT TERM
    log "elapsed $((SECONDS - DEB_START)) s"
    e2e_summary DEB_KEEP
}

# fatal NAME REASON [FILE]: a failure the rest cannot go on from.
fatal() {
    _fail "$@"
    deb_finish
}

# ------------------------------------------------------------ helpers

owner_mode() { stat -c '%U:%G %a' "$1" 2>/dev/null; }

# files_owned_by_root DIR: every path under DIR (itself included) owned by root, one a line.
files_owned_by_root() { find "$1" \( -user root -o -group root \) -print 2>/dev/null; }

# milter EXPECT: one conversation through the daemon (pass or refuse).
milter() {
    timeout 30 miltertest -s "$DEB_TEST_DIR/conversation.lua" \
        -D "socket=unix:$SOCK" -D "login=$LOGIN" -D "expect=$1"
}

# cli ARGS...: the installed admin CLI, as root, on the installed config.
cli() { timeout 30 /usr/bin/mailwarden "$@"; }

# help_options TEXT: every --option a --help text names, one a line.
help_options() { grep -oE -- '--[a-z][a-z-]*' <<<"$1" | sort -u; }

# help_subcommands TEXT: the names listed under SUBCOMMANDS:.
help_subcommands() { awk '/^SUBCOMMANDS:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' <<<"$1"; }

# ------------------------------------------------------------ preflight

missing=()
for c in make dpkg dpkg-deb dpkg-query lintian ldd readelf miltertest systemd-analyze setpriv ss \
    getent timeout zcat awk; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
/usr/bin/python3 -c 'import seccomp' 2>/dev/null || missing+=(python3-seccomp)
[ ${#missing[@]} -eq 0 ] || fatal "preflight: required commands" "missing: ${missing[*]} (make deps installs them)"
[ "$(id -u)" = 0 ] || fatal "preflight: root" "run as root (dpkg -i, a system user)"
getent group postfix >/dev/null || fatal "preflight: Postfix installed" "no group postfix: the shipped socket is Postfix's (make deps installs it)"
! pkg_known ||
    fatal "preflight: no mailwarden package installed" "status $(pkg_status): this test installs and purges it; run 'dpkg -P $PKG' first"
for db in passwd group; do
    if getent "$db" "$PKG" >/dev/null; then
        fatal "preflight: no $PKG user or group" "$db entry $(getent "$db" "$PKG") exists without the package; purge would remove it: delete it first"
    fi
done
_pass "preflight: root, tools, no mailwarden package/user/group yet"

# ------------------------------------------------------------ build and lint

echo "## build: make deb"
t0=$SECONDS
if ! make -C "$REPO" --no-print-directory deb >"$E2E_DIR/make-deb.out" 2>&1; then
    fatal "make deb" "failed, last lines:" "$E2E_DIR/make-deb.out"
fi
DEB=$REPO/$(tail -1 "$E2E_DIR/make-deb.out")
[ -f "$DEB" ] || fatal "make deb names its .deb" "last line: $(tail -1 "$E2E_DIR/make-deb.out")"
VERSION=$(dpkg-parsechangelog -l "$REPO/packaging/debian/changelog" -S Version)
expect_eq "make deb: dist/mailwarden_VERSION_amd64.deb, version from the changelog" \
    "$REPO/dist/${PKG}_${VERSION}_amd64.deb" "$DEB"
log "make deb took $((SECONDS - t0)) s; $(du -h "$DEB" | cut -f1) $DEB"
log "Depends: $(dpkg-deb -f "$DEB" Depends)"
expect_match "control: Depends computed (libc6, libmilter, libsqlite3) plus adduser" \
    'libc6 \(>= [0-9.]+\).*libmilter.*libsqlite3.*adduser' "$(dpkg-deb -f "$DEB" Depends)"

echo "## lintian"
lintian --show-overrides "$DEB" >"$E2E_DIR/lintian.out" 2>&1
sed -n '/root privileges/d; s/^/# lintian: /p' "$E2E_DIR/lintian.out" >&2
check "lintian: no E: or W: that is not overridden" not grep -E '^[EW]: ' "$E2E_DIR/lintian.out"

echo "## contents"
contents=$(dpkg-deb -c "$DEB" | awk '{ print $1, $2, $6 }')
for want in '-rwxr-xr-x root/root ./usr/sbin/mailwardend' '-rwxr-xr-x root/root ./usr/bin/mailwarden' \
    '-rw-r--r-- root/root ./etc/mailwarden/mailwarden.conf' \
    '-rw-r--r-- root/root ./lib/systemd/system/mailwardend.service' \
    '-rw-r--r-- root/root ./lib/systemd/system/mailwarden-desk.service' \
    '-rw-r--r-- root/root ./usr/lib/tmpfiles.d/mailwarden.conf' \
    '-rw-r--r-- root/root ./usr/share/doc/mailwarden/README.md' \
    '-rw-r--r-- root/root ./usr/share/doc/mailwarden/changelog.Debian.gz' \
    '-rw-r--r-- root/root ./usr/share/doc/mailwarden/copyright' \
    '-rw-r--r-- root/root ./usr/share/man/man8/mailwardend.8.gz' \
    '-rw-r--r-- root/root ./usr/share/man/man8/mailwarden.8.gz' \
    'drwxr-x--- root/root ./var/lib/mailwarden/'; do
    check "contents: $want" grep -qxF -- "$want" <<<"$contents"
done
check "contents: the conffile is the rendered packaging/mailwarden.conf" \
    cmp <(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./etc/mailwarden/mailwarden.conf) "$REPO/packaging/mailwarden.conf"
check "contents: every recipe of packaging/examples/ is in /usr/share/doc/mailwarden/examples/" \
    diff <(cd "$REPO/packaging/examples" && LC_ALL=C ls) <(dpkg-deb -c "$DEB" | awk '$6 ~ /examples\/./ { sub(".*/", "", $6); print $6 }' | LC_ALL=C sort)
for unit in mailwardend.service mailwarden-desk.service; do
    check "contents: the unit is systemd/$unit" \
        cmp <(dpkg-deb --fsys-tarfile "$DEB" | tar -xO "./lib/systemd/system/$unit") "$REPO/systemd/$unit"
done

# ------------------------------------------------------------ install

echo "## install: dpkg -i"
INSTALLED_BY_US=1
if ! run_dpkg -i "$DEB" >"$E2E_DIR/dpkg-i.out" 2>&1; then
    fatal "dpkg -i" "failed" "$E2E_DIR/dpkg-i.out"
fi
expect_eq "dpkg -i: installed" "ii " "$(pkg_status)"
# As an earlier version left it: user mailwarden in group postfix, the socket's directory 0750. The
# upgrade makes the directory set-group-ID and takes the membership back (checked below).
adduser --quiet mailwarden postfix
chmod 0750 "$SOCK_DIR"
check "dpkg -i again (postinst with an existing user and directory)" \
    run_dpkg -i "$DEB"
expect_eq "dpkg -i again: still installed" "ii " "$(pkg_status)"
# An upgrade onto a config this version refuses: the services are not restarted (the running
# daemon keeps its config; restarted, it would not start and every message would be tempfailed),
# the problem is named, and the upgrade goes through (a failed configure would hold every apt run).
cp "$CONF" "$E2E_DIR/conf.saved"
echo "mode = loud" >>"$CONF"
run_dpkg -i "$DEB" >"$E2E_DIR/dpkg-bad.out" 2>&1
expect_eq "dpkg -i onto a config it refuses: the upgrade goes through (status 0)" 0 "$?"
check "... naming the config's line and problem" grep -q "$CONF:[0-9]*: mode must be one of enforce, monitor" "$E2E_DIR/dpkg-bad.out"
check "... and that the services were not restarted" grep -q "mailwardend and the desk were not restarted" "$E2E_DIR/dpkg-bad.out"
expect_eq "... installed" "ii " "$(pkg_status)"
cp "$E2E_DIR/conf.saved" "$CONF"

expect_match "user mailwarden: a system uid, home $STATE, no login shell" \
    "^mailwarden:x:[1-9][0-9]{0,2}:[0-9]+:[^:]*:$STATE:/(usr/)?s?bin/(nologin|false)\$" "$(getent passwd mailwarden)"
check "group mailwarden exists" getent group mailwarden
expect_eq "user mailwarden's primary group is mailwarden" mailwarden "$(id -gn mailwarden 2>/dev/null)"
expect_eq "$STATE: mailwarden:mailwarden 750" "mailwarden:mailwarden 750" "$(owner_mode "$STATE")"
# The socket's directory is set-group-ID postfix: user mailwarden (the desk's parser of strangers'
# reports included) needs no membership of Postfix's group to hand the socket to it.
expect_eq "user mailwarden is not in group postfix" "" "$(id -Gn mailwarden 2>/dev/null | tr ' ' '\n' | grep -x postfix)"
expect_eq "$SOCK_DIR: mailwarden:postfix 2750 (tmpfiles.d, set-group-ID)" "mailwarden:postfix 2750" "$(owner_mode "$SOCK_DIR")"
expect_match "$CONF is a conffile" "^ $CONF [0-9a-f]{32}$" "$(dpkg-query -W -f='${Conffiles}\n' "$PKG")"
expect_eq "$CONF: root:root 644" "root:root 644" "$(owner_mode "$CONF")"

echo "## binaries: no toolchain at run time"
for bin in /usr/sbin/mailwardend /usr/bin/mailwarden; do
    env -u LD_LIBRARY_PATH ldd "$bin" >"$E2E_DIR/ldd.$(basename "$bin")" 2>&1
    sed 's/^/# ldd: /' "$E2E_DIR/ldd.$(basename "$bin")" >&2
    check "ldd $bin: everything resolves" not grep -E 'not found' "$E2E_DIR/ldd.$(basename "$bin")"
    check "ldd $bin: nothing from /opt/swift or a toolchain" \
        not grep -Ei '/opt/|swift|toolchain|/usr/local/' "$E2E_DIR/ldd.$(basename "$bin")"
    check "readelf $bin: no RPATH/RUNPATH" not grep -E 'RPATH|RUNPATH' <(readelf -d "$bin")
    check "$bin is stripped" not grep -q '\.symtab' <(readelf -S "$bin")
done

echo "## man pages against --help"
man_src=$(zcat /usr/share/man/man8/mailwarden.8.gz | sed 's/\\-/-/g')
top_help=$(/usr/bin/mailwarden --help 2>&1)
commands=()
while read -r sub; do
    [ -n "$sub" ] || continue
    sub_help=$(/usr/bin/mailwarden help "$sub" 2>&1)
    nested=$(help_subcommands "$sub_help")
    if [ -n "$nested" ]; then
        while read -r n; do commands+=("$sub $n"); done <<<"$nested"
    else
        commands+=("$sub")
    fi
done < <(help_subcommands "$top_help")
# man_has_command "case show": an item line (.B/.BI/.BR) starting with the command; a default
# subcommand may be written in brackets ("triage [list]").
man_has_command() {
    local c=$1 first=${1%% *}
    grep -qE "^\.(B|BI|BR) \"?$c( |\"|\$)" <<<"$man_src" && return 0
    [ "$first" != "$c" ] && grep -qE "^\.(B|BI|BR) \"?$first .*[^a-z]${c#* }[^a-z]" <<<"$man_src"
}
man_missing=()
for c in "${commands[@]}"; do
    man_has_command "$c" || man_missing+=("command:$c")
    # shellcheck disable=SC2086 # word-split "case show" into two arguments
    while read -r opt; do
        [ -n "$opt" ] || continue
        grep -qF -- "$opt" <<<"$man_src" || man_missing+=("$c $opt")
    done < <(help_options "$(/usr/bin/mailwarden help $c 2>&1)")
done
expect_eq "mailwarden.8 covers every command and option of --help (${#commands[@]} commands)" "" "${man_missing[*]}"
d_src=$(zcat /usr/share/man/man8/mailwardend.8.gz | sed 's/\\-/-/g')
d_missing=()
while read -r opt; do
    grep -qF -- "$opt" <<<"$d_src" || d_missing+=("$opt")
done < <(help_options "$(/usr/sbin/mailwardend --help 2>&1)")
expect_eq "mailwardend.8 covers every option of --help" "" "${d_missing[*]}"
check "man pages format without warnings" \
    not grep -q . <(for p in mailwarden mailwardend; do
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "/usr/share/man/man8/$p.8.gz" 2>&1 >/dev/null
    done)

echo "## config and unit"
check "mailwarden check-config passes on the shipped config" cli check-config
check "mailwardend --check passes on the shipped config, as mailwarden" \
    setpriv --reuid=mailwarden --regid=mailwarden --init-groups /usr/sbin/mailwardend --check --config "$CONF"
check "the shipped socket is unix:$SOCK" grep -qxF "socket = unix:$SOCK" "$CONF"
check "... given to group postfix" grep -qxF "socket_group = postfix" "$CONF"
check "the shipped store is under $STATE (default)" grep -qxF "#store = $STATE/mailwarden.db" "$CONF"

check "a config mailwardend refuses (78) or bad arguments (64) end its restarts: the unit fails visibly" \
    grep -qxF "RestartPreventExitStatus=64 78" "$UNIT"
check "mailwardend starts before Debian's Postfix master (postfix@-.service)" grep -qE "^Before=.*postfix@-\.service" "$UNIT"
check "reloading mailwardend reloads the desk (it reads authserv_id and the identity rules)" \
    grep -qxF "ReloadPropagatedFrom=mailwardend.service" "$DESK_UNIT"
for unit_file in "$UNIT" "$DESK_UNIT"; do
    unit=$(basename "$unit_file")
    systemd-analyze verify "$unit_file" >"$E2E_DIR/verify.out" 2>&1
    verify_rc=$?
    expect_eq "systemd-analyze verify $unit_file: clean (status 0, no output)" "0:" "$verify_rc:$(head -c 400 "$E2E_DIR/verify.out")"
    systemd-analyze security --offline=true "$unit_file" >"$E2E_DIR/security.out" 2>&1
    exposure=$(sed -n "s/.*Overall exposure level for $unit: \\([0-9.]*\\).*/\\1/p" "$E2E_DIR/security.out")
    log "systemd-analyze security --offline=true $unit: exposure ${exposure:-?}"
    echo "exposure: ${exposure:-unknown} (systemd-analyze security --offline=true $unit_file)"
    check "systemd-analyze security $unit: exposure ${exposure:-?} <= $MAX_EXPOSURE" \
        awk -v e="${exposure:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e != "" && e + 0 <= m + 0) }'
done

# ------------------------------------------------------------ run

echo "## run: mailwardend as mailwarden from the installed files"
: >"$DAEMON_LOG"
# The script's text, not its path: user mailwarden may not be able to read this checkout.
UNIT_SANDBOX=$(cat "$DEB_TEST_DIR/unit-sandbox.py")
# As the unit runs it: user and group mailwarden, no other groups, no new privileges, and the unit's
# system-call filter (unit-sandbox.py: a call it does not allow kills the daemon, as under systemd).
(cd / && exec setpriv --reuid=mailwarden --regid=mailwarden --init-groups --no-new-privs --reset-env \
    /usr/bin/python3 -c "$UNIT_SANDBOX" "$UNIT" /usr/sbin/mailwardend --config "$CONF") >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
disown "$DAEMON_PID"
_up() { pid_alive "$DAEMON_PID" && test -S "$SOCK"; }
if ! wait_until 15 _up; then
    fatal "mailwardend listens on $SOCK" "not up after 15 s (alive: $(pid_alive "$DAEMON_PID" && echo yes || echo no))" "$DAEMON_LOG"
fi
_pass "mailwardend listens on $SOCK (pid $DAEMON_PID)"
expect_eq "mailwardend runs as mailwarden:mailwarden" "mailwarden mailwarden" \
    "$(ps -o user:32=,group:32= -p "$DAEMON_PID" | awk '{ print $1, $2 }')"
expect_eq "the socket is mailwarden:postfix 660 (socket_group, socket_mode)" "mailwarden:postfix 660" "$(owner_mode "$SOCK")"
expect_eq "mailwardend listens on no TCP port" "" "$(ss -Htlnp | grep -F "pid=$DAEMON_PID,")"
# connect_as USER: connect(2) to the socket as USER with USER's groups; prints "connected" or the error.
connect_as() {
    setpriv --reuid="$1" --regid="$(id -gn "$1")" --init-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(e.strerror)' "$SOCK" 2>&1
}
expect_eq "user postfix (Postfix's smtpd and cleanup) can connect to the socket" connected "$(connect_as postfix)"
expect_eq "user nobody (any other local user, e.g. a customer's PHP) cannot" "Permission denied" "$(connect_as nobody)"

check "milter: an authenticated message passes (miltertest)" milter pass
wait_until 5 grep -q "identity=$IDENTITY " "$DAEMON_LOG"
check "daemon log: one line naming $IDENTITY, action=accept" grep -qE "identity=$IDENTITY .*action=accept" "$DAEMON_LOG"
check "store: $STATE/mailwarden.db exists" test -f "$STATE/mailwarden.db"
expect_match "store: owned by mailwarden:mailwarden" "^mailwarden:mailwarden [0-7]+$" "$(owner_mode "$STATE/mailwarden.db")"
check "store: nothing under $STATE is world-writable" not grep -q . <(find "$STATE" -perm -o+w)
check "store: nothing under $STATE is owned by root" not grep -q . <(files_owned_by_root "$STATE")

echo "## the admin CLI as root, daemon running"
check "mailwarden identities (root) lists $IDENTITY" grep -qF "$IDENTITY" <(cli identities --json)
check "mailwarden lock (root)" cli lock "$IDENTITY" --reason "Tests/deb" --by deb-test
check "mailwarden locks (root) lists the lock" grep -qF "$IDENTITY" <(cli locks --json)
# The daemon reads the store's policy version at a lookup at most every 20 ms, so a lock or an unlock
# from the CLI holds for the milter within 20 ms: a machine that runs the CLI and the next
# conversation faster than that sees the change at the next try.
check "milter: the locked identity's next message is refused (within 2 s)" wait_until 2 milter refuse
check "mailwarden unlock (root)" cli unlock "$IDENTITY" --reason "Tests/deb done" --by deb-test
check "milter: after unlock it passes again (within 2 s)" wait_until 2 milter pass
check "mailwarden backup (root) into $STATE" cli backup "$STATE/deb-test-backup.db"
expect_match "the backup is written as the store's owner (the CLI dropped root)" "^mailwarden:mailwarden " \
    "$(owner_mode "$STATE/deb-test-backup.db")"
rm -f "$STATE/deb-test-backup.db"
check "no root-owned file under $STATE after the CLI ran as root" not grep -q . <(files_owned_by_root "$STATE")

echo "## the desk worker as mailwarden: a report queued by ingest is parsed in its isolated process and filed"
# As the desk's unit runs it, its system-call filter included.
as_service() {
    (cd / && exec setpriv --reuid=mailwarden --regid=mailwarden --init-groups --no-new-privs --reset-env \
        /usr/bin/python3 -c "$UNIT_SANDBOX" "$DESK_UNIT" "$@")
}
printf 'From: fbl@isp.example\nSubject: spam report\n\nSpam from 192.0.2.55 hit our trap.\n' >"$E2E_DIR/report.eml"
expect_eq "ingest (as mailwarden) queues the report" "queued" \
    "$(as_service /usr/bin/mailwarden ingest --json --config "$CONF" <"$E2E_DIR/report.eml" | jq -r .status)"
as_service /usr/bin/mailwarden desk --once --config "$CONF" >"$E2E_DIR/desk.out" 2>&1
check "desk --once (as mailwarden) filed it" grep -q '^filed: .*cases=[0-9]*:192.0.2.55' "$E2E_DIR/desk.out"
check "its parser process ran as mailwarden too, and is gone" not pgrep -f 'mailwarden desk-parser'

echo "## stop"
if daemon_stop; then
    _pass "mailwardend stops on SIGTERM within 15 s"
else
    _fail "mailwardend stops on SIGTERM within 15 s" "it had to be killed" "$DAEMON_LOG"
fi
_gone() { ! test -S "$SOCK"; }
check "the socket is removed" wait_until 5 _gone

echo "## the admin CLI as root, daemon stopped"
check "mailwarden locks (root), daemon stopped" cli locks
check "mailwarden status (root), daemon stopped" cli status
check "mailwarden lock + unlock (root), daemon stopped" \
    sh -c 'timeout 30 /usr/bin/mailwarden lock "$1" --reason x --by deb-test &&
           timeout 30 /usr/bin/mailwarden unlock "$1" --by deb-test' sh "$IDENTITY"
check "no root-owned file under $STATE after the CLI ran as root" not grep -q . <(files_owned_by_root "$STATE")
ls -la "$STATE" | sed 's/^/# store dir: /' >&2

# ------------------------------------------------------------ remove and purge

echo "## dpkg -r"
check "dpkg -r" run_dpkg -r "$PKG"
expect_eq "dpkg -r: only the config files remain" "rc " "$(pkg_status)"
check "dpkg -r: /usr/sbin/mailwardend is gone" test ! -e /usr/sbin/mailwardend
check "dpkg -r: /usr/bin/mailwarden is gone" test ! -e /usr/bin/mailwarden
check "dpkg -r: the units are gone" test ! -e "$UNIT" -a ! -e "$DESK_UNIT"
check "dpkg -r: $CONF stays" test -f "$CONF"
check "dpkg -r: the store stays" test -f "$STATE/mailwarden.db"
expect_match "dpkg -r: the store stays owned by mailwarden" "^mailwarden:mailwarden " "$(owner_mode "$STATE/mailwarden.db")"
check "dpkg -r: user mailwarden stays" getent passwd mailwarden

echo "## dpkg -P"
check "dpkg -P" run_dpkg -P "$PKG"
check "dpkg -P: no trace in dpkg" not pkg_known
check "dpkg -P: /etc/mailwarden is gone" test ! -e /etc/mailwarden
check "dpkg -P: $STATE is gone" test ! -e "$STATE"
check "dpkg -P: $SOCK_DIR is gone" test ! -e "$SOCK_DIR"
check "dpkg -P: user mailwarden is gone" not getent passwd mailwarden
check "dpkg -P: group mailwarden is gone" not getent group mailwarden
check "dpkg -P: no enablement symlink left" \
    not grep -q . <(find /etc/systemd/system -name 'mailwarden*.service' 2>/dev/null)
check "dpkg -P: no deb-systemd-helper state left" \
    not grep -q . <(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
        -name 'mailwarden*.service*' 2>/dev/null)

deb_finish
