#!/usr/bin/env bash
# The abuse desk, measured (not a test):
#  1. throughput through queue + isolated parser + filing: `ingest --mbox` over the public corpus
#     repeated to COUNT messages (each copy made distinct so it is filed, not deduplicated);
#  2. latency from stored to filed with `mailwarden desk` running: LATENCY_N reports queued one at a
#     time by `ingest` (the pipe transport's path), each timed until the desk has filed it;
#  3. memory: one report with a 10 MB attachment, and a backlog mbox of MBOX_MB megabytes (1 MB
#     messages) imported one message at a time (peak RSS of the importer or its parser process).
#   COUNT=10000 LATENCY_N=200 MBOX_MB=2048 MW_BIN=.build/release bash bench/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MW_BIN:-.build/release}
count=${COUNT:-10000}
latency_n=${LATENCY_N:-200}
mbox_mb=${MBOX_MB:-2048}
dir=$(mktemp -d)
desk_pid=
trap '[ -n "$desk_pid" ] && kill "$desk_pid" 2>/dev/null; rm -rf "$dir"' EXIT
corpus=Tests/MailWardenReportsTests/Fixtures/reports
printf 'store = %s/desk.db\n' "$dir" > "$dir/mw.conf"

# Corpus messages as an mbox, COPIES of them starting at copy FIRST: mbox.py OUT FIRST COPIES
cat > "$dir/mbox.py" <<'PY'
import os, sys
corpus, out, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
files = sorted(f for f in os.listdir(corpus) if f.endswith('.eml'))
with open(out, 'wb') as mbox:
    for i in range(first, first + count):
        raw = open(os.path.join(corpus, files[i % len(files)]), 'rb').read().replace(b'\r\n', b'\n')
        mbox.write(b'From bench@example Tue Nov 24 00:00:00 2026\n')
        mbox.write(b'X-Bench-Copy: %d\n' % i)
        for line in raw.split(b'\n'):
            mbox.write((b'>' + line if line.lstrip(b'>').startswith(b'From ') else line) + b'\n')
PY
python3 "$dir/mbox.py" "$corpus" "$dir/backlog.mbox" 0 "$count"
start=$(date +%s.%N)
"$bin/mailwarden" ingest --mbox "$dir/backlog.mbox" --config "$dir/mw.conf" 2> "$dir/summary.txt" || true
end=$(date +%s.%N)
tail -1 "$dir/summary.txt"
echo "queue + isolated parser + filing (ingest --mbox): $count reports in $(echo "$end - $start" | bc -l | cut -c1-6) s = $(echo "$count / ($end - $start)" | bc -l | cut -c1-6) reports/s"

# Stored to filed, with the worker running and otherwise idle.
"$bin/mailwarden" desk --config "$dir/mw.conf" > "$dir/desk.log" 2>&1 &
desk_pid=$!
sleep 1
python3 "$dir/mbox.py" "$corpus" "$dir/latency.mbox" "$count" "$latency_n"
python3 - "$dir/latency.mbox" "$dir/latency" <<'PY'
import os, sys
os.makedirs(sys.argv[2])
for i, m in enumerate(open(sys.argv[1], 'rb').read().split(b'From bench@example Tue Nov 24 00:00:00 2026\n')[1:]):
    open(os.path.join(sys.argv[2], '%05d.eml' % i), 'wb').write(m)
PY
: > "$dir/latency.txt"
for f in "$dir"/latency/*.eml; do
    t0=${EPOCHREALTIME/./}
    id=$("$bin/mailwarden" ingest --json --config "$dir/mw.conf" < "$f" | sed -n 's/.*"report_id":\([0-9]*\).*/\1/p')
    t1=${EPOCHREALTIME/./}
    for _ in $(seq 2000); do   # bounded: 2000 polls of ~5 ms
        [ "$(sqlite3 "$dir/desk.db" "select status from reports where id = $id")" != queued ] && break
        sleep 0.002
    done
    t2=${EPOCHREALTIME/./}
    echo "$(( (t1 - t0) )) $(( (t2 - t1) ))" >> "$dir/latency.txt"
done
kill "$desk_pid"; desk_pid=
awk '{ print $2 }' "$dir/latency.txt" | sort -n | awk '{ v[NR] = $1 } END {
    printf "stored to filed (desk running, %d reports one at a time): p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
        NR, v[int(NR * 0.5 + 0.5)] / 1000, v[int(NR * 0.99 + 0.5)] / 1000, v[NR] / 1000 }'
awk '{ print $1 }' "$dir/latency.txt" | sort -n | awk '{ v[NR] = $1 } END {
    printf "ingest (pipe transport: process start, durable queue insert): p50 %.0f ms, p99 %.0f ms\n", v[int(NR * 0.5 + 0.5)] / 1000, v[int(NR * 0.99 + 0.5)] / 1000 }'

python3 - "$dir/big.eml" <<'PY'
import base64, os, sys
body = base64.encodebytes(os.urandom(10 * 1024 * 1024)).decode()
msg = ("From: reporter@isp.example\nTo: abuse@example.com\nSubject: malware hosted at 198.51.100.23\n"
       "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
       "Malware is hosted at http://198.51.100.23/payload.exe\n--b\nContent-Type: application/octet-stream; name=payload.bin\n"
       "Content-Transfer-Encoding: base64\n\n" + body + "--b--\n")
open(sys.argv[1], "w").write(msg)
PY
/usr/bin/time -f "10 MB attachment report, ingest --wait: peak RSS %M kB, %e s" "$bin/mailwarden" ingest --wait --config "$dir/mw.conf" < "$dir/big.eml" >/dev/null

# A big backlog: 1 MB messages, each distinct, MBOX_MB of them.
python3 - "$dir/big.mbox" "$mbox_mb" <<'PY'
import base64, os, sys
with open(sys.argv[1], 'wb') as mbox:
    for i in range(int(sys.argv[2])):
        body = base64.encodebytes(os.urandom(750 * 1024))
        mbox.write(b'From bench@example Tue Nov 24 00:00:00 2026\n')
        mbox.write(b'From: reporter@isp.example\nSubject: spam from 198.51.%d.%d\nMIME-Version: 1.0\n'
                   b'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSpam from 198.51.%d.%d\n'
                   b'--b\nContent-Type: application/octet-stream; name=sample.bin\nContent-Transfer-Encoding: base64\n\n'
                   % (i // 250 % 250, i % 250 + 1, i // 250 % 250, i % 250 + 1) + body + b'--b--\n')
PY
/usr/bin/time -f "$(du -m "$dir/big.mbox" | cut -f1) MB mbox of 1 MB messages, ingest --mbox: peak RSS %M kB, %e s" \
    "$bin/mailwarden" ingest --mbox "$dir/big.mbox" --config "$dir/mw.conf" 2>&1 >/dev/null | tail -2
