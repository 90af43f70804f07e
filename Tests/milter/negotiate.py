#!/usr/bin/env python3
# negotiate.py SOCKET VERSION ACTIONS STEPS: offer mailwardend a milter negotiation (SMFIC_OPTNEG)
# as an MTA would and print what it asked for: "version actions steps" in hex, then one line per macro
# list it asked for (smfi_setsymlist): "macros STAGE: NAMES", STAGE as in mfapi.h's SMFIM_* (0 connect,
# 2 MAIL FROM, 3 RCPT TO, 4 DATA, 5 end of message). SOCKET is libmilter's
# inet:PORT@HOST or unix:/path. Bounded: one connection, a 5 s timeout.
import socket, struct, sys

spec, version, actions, steps = sys.argv[1], *(int(a, 0) for a in sys.argv[2:5])
if spec.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX)
    address = spec[5:]
else:
    port, host = spec.split(":", 1)[1].split("@")
    s = socket.socket(socket.AF_INET)
    address = (host, int(port))
s.settimeout(5)
s.connect(address)
body = b"O" + struct.pack(">III", version, actions, steps)
s.sendall(struct.pack(">I", len(body)) + body)
head = b""
while len(head) < 4:
    head += s.recv(4 - len(head))
(length,) = struct.unpack(">I", head)
reply = b""
while len(reply) < length:
    chunk = s.recv(length - len(reply))
    if not chunk:
        break
    reply += chunk
if reply[:1] != b"O" or len(reply) < 13:
    sys.exit("no negotiation reply: %r" % reply)
print("%#x %#x %#x" % struct.unpack(">III", reply[1:13]))
rest = reply[13:]
while len(rest) >= 4:
    (stage,) = struct.unpack(">I", rest[:4])
    names, _, rest = rest[4:].partition(b"\0")
    print("macros %d: %s" % (stage, names.decode()))
s.close()
