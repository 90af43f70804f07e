#!/usr/bin/env python3
"""Writes hostile abuse reports, one .eml per file, into the directory given: what a stranger can mail
to an abuse mailbox to trap, stall or bloat a parser. Each names an offending IP so that a parser that
survives can file it. Used by Tests/e2e/run.sh (18)."""
import base64
import io
import os
import random
import sys
import zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
HEAD = "From: reporter@isp.example\r\nTo: abuse@example.net\r\nMessage-ID: <{name}@isp.example>\r\n"


def write(name, headers, body):
    with open(os.path.join(out, name + ".eml"), "wb") as f:
        f.write((HEAD.format(name=name) + headers + "\r\n").encode() + body)


# The report that killed mailwardend: a year no clock can hold, in every date field a parser reads.
write("date-overflow", "Subject: spam report\r\nDate: Mon, 1 Jan 999999999999 00:00:00 +0000\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n",
      b"--b\r\nContent-Type: text/plain\r\n\r\nSpam from 192.0.2.71 on 1 Jan 999999999999.\r\n"
      b"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: x/1\r\nVersion: 1\r\n"
      b"Source-IP: 192.0.2.71\r\nArrival-Date: Mon, 1 Jan 999999999999 00:00:00 +0000\r\n"
      b"Received-Date: 99999999999999999999-01-01\r\n--b--\r\n")

# Multiparts nested 300 deep.
depth = 300
body = b"".join(b"Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n" % (i, i) for i in range(depth))
body += b"Content-Type: text/plain\r\n\r\nSpam from 192.0.2.72\r\n"
body += b"".join(b"--n%d--\r\n" % i for i in reversed(range(depth)))
write("deep-mime", "Subject: nested\r\nMIME-Version: 1.0\r\n", body)

# Three thousand RFC 2047 encoded words, folded.
words = "\r\n ".join("=?utf-8?b?%s?=" % base64.b64encode(("spam %d " % i).encode()).decode() for i in range(3000))
write("encoded-words", "Subject: " + words + "\r\n", b"Spam from 192.0.2.73\r\n")

# A ZIP of 200 MB of CSV-like zeros (about 200 KB compressed).
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("report.csv", "w") as member:
        member.write(b"ip,type\r\n192.0.2.74,spam\r\n")
        chunk = b"0" * (1 << 20)
        for _ in range(200):
            member.write(chunk)
zipped = base64.encodebytes(zbuf.getvalue()).replace(b"\n", b"\r\n")
write("zip-bomb", "Subject: bulk report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n",
      b"--z\r\nContent-Type: text/plain\r\n\r\nSee the attached list.\r\n--z\r\nContent-Type: application/zip; name=\"r.zip\"\r\n"
      b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"r.zip\"\r\n\r\n" + zipped + b"\r\n--z--\r\n")

# Free text naming twenty thousand IPs, each beside abuse keywords (a rescan per IP is quadratic).
lines = ["192.0.%d.%d spam phishing malware scanning credential copyright" % (i // 250 % 250, i % 250 + 1) for i in range(20000)]
write("ip-flood", "Subject: abuse from your network\r\n", ("\r\n".join(lines) + "\r\n").encode())

# A CSV header row 200,000 columns wide.
header = ",".join("col%d" % i for i in range(200000))
write("wide-csv", "Subject: csv\r\nMIME-Version: 1.0\r\nContent-Type: text/csv\r\n", (header + "\r\n192.0.2.76,spam\r\n").encode())

# Bytes, no structure at all (no NUL, no bare CR: SMTP would not carry them).
rnd = random.Random(9)
noise = bytes(b for b in (rnd.randrange(256) for _ in range(200000)) if b not in (0, 13))
write("noise", "Subject: \xff\xfe\r\n".encode("latin-1").decode("latin-1"), noise + b"\r\nSpam from 192.0.2.77\r\n")
