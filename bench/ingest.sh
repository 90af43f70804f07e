#!/usr/bin/env bash
# Abuse-desk ingest throughput (parse + store, one process) over the public corpus repeated to
# COUNT messages (each copy made distinct so it is filed, not deduplicated), and peak memory of
# ingesting one report with a 10 MB attachment. A measurement, not a test.
#   COUNT=10000 MW_BIN=.build/release bash bench/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MW_BIN:-.build/release}
count=${COUNT:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
corpus=Tests/MailWardenReportsTests/Fixtures/reports
printf 'store = %s/desk.db\n' "$dir" > "$dir/mw.conf"
sqlite3 "$dir/desk.db" 'PRAGMA journal_mode = WAL;' >/dev/null   # the CLI expects the daemon's store

python3 - "$corpus" "$count" "$dir/backlog.mbox" <<'PY'
import os, sys
corpus, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(f for f in os.listdir(corpus) if f.endswith('.eml'))
with open(out, 'wb') as mbox:
    for i in range(count):
        raw = open(os.path.join(corpus, files[i % len(files)]), 'rb').read().replace(b'\r\n', b'\n')
        mbox.write(b'From bench@example Tue Nov 24 00:00:00 2026\n')
        mbox.write(b'X-Bench-Copy: %d\n' % i)
        for line in raw.split(b'\n'):
            mbox.write((b'>' + line if line.lstrip(b'>').startswith(b'From ') else line) + b'\n')
PY
start=$(date +%s.%N)
"$bin/mailwarden" ingest --mbox "$dir/backlog.mbox" --config "$dir/mw.conf" 2> "$dir/summary.txt" || true
end=$(date +%s.%N)
cat "$dir/summary.txt" | tail -1
echo "ingest: $count reports in $(echo "$end - $start" | bc -l | cut -c1-6) s = $(echo "$count / ($end - $start)" | bc -l | cut -c1-6) reports/s"

python3 - "$dir/big.eml" <<'PY'
import base64, os, sys
body = base64.encodebytes(os.urandom(10 * 1024 * 1024)).decode()
msg = ("From: reporter@isp.example\nTo: abuse@example.com\nSubject: malware hosted at 198.51.100.23\n"
       "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
       "Malware is hosted at http://198.51.100.23/payload.exe\n--b\nContent-Type: application/octet-stream; name=payload.bin\n"
       "Content-Transfer-Encoding: base64\n\n" + body + "--b--\n")
open(sys.argv[1], "w").write(msg)
PY
/usr/bin/time -f "10 MB attachment report: peak RSS %M kB, %e s" "$bin/mailwarden" ingest --config "$dir/mw.conf" < "$dir/big.eml" >/dev/null
