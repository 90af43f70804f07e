#!/usr/bin/env bash
# Runs one libFuzzer target (built by `make fuzz-build`) for a while: Fuzz/run.sh TARGET SECONDS.
# Seeds: the report corpus, the packaged configs, Fuzz/Seeds/TARGET and the target's regression
# inputs; the corpus it grows and any failing input stay under .build-fuzz/. Prints total execs and
# execs/s; exits non-zero when libFuzzer found a crash, a leak, a slow input or one too big for memory.
set -euo pipefail
target=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/.build-fuzz
reports=$root/Tests/MailWardenReportsTests/Fixtures/reports
seeds=("$root/Fuzz/Seeds/$target" "$root/Tests/MailWardenReportsTests/Fixtures/fuzz-regressions/$target")
case $target in
    report-parser) binary=FuzzReportParser; seeds+=("$reports") ;;
    mime) binary=FuzzMIME; seeds+=("$reports") ;;
    zip) binary=FuzzZIP ;;
    config) binary=FuzzConfig; seeds+=("$root/packaging") ;;
    identity-rules) binary=FuzzIdentityRules ;;
    message-session) binary=FuzzMessageSession ;;
    *) echo "unknown fuzz target $target" >&2; exit 2 ;;
esac
corpus=$work/corpus/$target
artifacts=$work/artifacts/$target
mkdir -p "$corpus" "$artifacts"
existing=()
for d in "${seeds[@]}"; do [ -d "$d" ] && existing+=("$d"); done
log=$work/$target.log
# -timeout: one input may take seconds under ASan and coverage, never this long; -rss_limit_mb
# leaves room for ASan's shadow memory over the parser's own 256 MB.
rc=0
"$work/release/$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "${existing[@]}" >"$log" 2>&1 || rc=$?
# libFuzzer prints its final stats twice when it stops on a finding; the last ones count.
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
rss=$(stat peak_rss_mb)
echo "fuzz $target: ${execs:-?} execs in ${seconds}s, ${rate:-?} execs/s, peak RSS ${rss:-?} MB"
if [ "$rc" -ne 0 ]; then
    echo "fuzz $target FAILED (libFuzzer exit $rc); log $log:" >&2
    grep -E 'ERROR|SUMMARY|Fatal error|artifact_prefix|Test unit written' "$log" | head -n 20 >&2
fi
exit "$rc"
