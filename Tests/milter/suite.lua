-- suite.lua: mailwardend's answers at the milter protocol level, where negotiation changed them.
-- Run by Tests/milter/run.sh against a running mailwardend:
--   miltertest -vv -s suite.lua -D socket=inet:PORT@127.0.0.1 -D phase=reject|fewer|hold
-- (run.sh reads the -vv trace to check which events got no reply). Each check raises an error
-- naming itself, which ends the script with a non-zero status.

local function check(ok, what)
  if not ok then error("FAIL: " .. what) end
  mt.echo("ok: " .. what)
end

-- `actions`: the SMFIF_* flags this MTA grants (nil: libmilter's defaults, all of them).
local function connect(ip, daemon, actions)
  local conn = mt.connect(socket, 50, 0.1)
  check(conn ~= nil, "connect to " .. socket)
  -- miltertest takes the steps before the actions (mt_negotiate in miltertest.c), unlike its manual.
  if actions then check(mt.negotiate(conn, 6, nil, actions) == nil, string.format("negotiated, granting actions %#x", actions)) end
  mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", daemon or "smtpd")
  check(mt.conninfo(conn, "client.example", ip or "203.0.113.9") == nil, "connection details sent")
  return conn
end

-- One transaction up to the end of the headers; returns the reply to MAIL FROM.
local function envelope(conn, login, from, rcpts, queue_id)
  if login then
    mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login, "i", queue_id)
  else
    mt.macro(conn, SMFIC_MAIL, "i", queue_id)
  end
  check(mt.mailfrom(conn, from) == nil, "MAIL FROM " .. from .. " sent")
  local reply = mt.getreply(conn)
  if reply ~= SMFIR_CONTINUE then return reply end
  for _, rcpt in ipairs(rcpts) do
    mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "local")
    check(mt.rcptto(conn, rcpt) == nil, "RCPT " .. rcpt .. " sent")
  end
  return reply
end

-- No end-of-headers (not negotiated); DATA and the body only where mailwardend asked for them
-- (reject and fewer phases: it has an abuse mailbox).
local function message(conn, headers, body)
  if phase ~= "hold" then
    check(mt.data(conn) == nil, "DATA sent")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "DATA: continue")
  end
  for _, h in ipairs(headers) do
    check(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1] .. " sent")
  end
  if phase ~= "hold" then
    check(mt.bodystring(conn, body or "Hello.\r\n") == nil, "body sent")
  end
  check(mt.eom(conn) == nil, "end of message sent")
  return mt.getreply(conn)
end

if phase == "reject" then
  -- limit_messages = 1/1h, lock_action = reject: alice's 2nd message locks her (refused at the end
  -- of message), her 3rd is refused at MAIL FROM.
  local conn = connect()
  check(envelope(conn, "alice", "<alice@example.com>", {"<x@example.org>"}, "Q1") == SMFIR_CONTINUE, "alice 1: MAIL FROM continues")
  check(message(conn, {{"Subject", "one"}}) == SMFIR_ACCEPT, "alice 1: accepted")
  envelope(conn, "alice", "<alice@example.com>", {"<x@example.org>"}, "Q2")
  check(message(conn, {{"Subject", "two"}}) == SMFIR_REPLYCODE, "alice 2 crosses the limit: refused at end of message (with a reply code)")
  check(envelope(conn, "alice", "<alice@example.com>", {"<x@example.org>"}, "Q3") == SMFIR_REPLYCODE, "alice 3: refused at MAIL FROM")
  mt.disconnect(conn)

  -- A header rule on a trusted network: the header that named the sender is removed (chgheader
  -- with its index), the abuse mailbox recipient deleted (delrcpt) once the report is stored.
  conn = connect("198.51.100.7")
  envelope(conn, nil, "<app@example.com>", {"<someone@example.org>", "<abuse@example.com>"}, "Q4")
  check(message(conn, {{"Subject", "hi"}, {"X-Auth-User", "bob"}, {"X-Auth-User", "bob"}}, "Source-IP: 192.0.2.5\r\n") == SMFIR_ACCEPT,
    "bob's message to someone and abuse@ is accepted")
  check(mt.eom_check(conn, MT_HDRDELETE, "X-Auth-User"), "... its X-Auth-User headers deleted")
  check(mt.eom_check(conn, MT_RCPTDELETE, "<abuse@example.com>"), "... abuse@example.com removed from the recipients")

  -- Abort mid-message: the connection goes on with a clean next message.
  envelope(conn, nil, "<app@example.com>", {"<someone@example.org>"}, "Q5")
  check(mt.data(conn) == nil and mt.header(conn, "X-Auth-User", "carol") == nil, "carol's message started")
  check(mt.abort(conn) == nil, "aborted mid-headers")
  envelope(conn, nil, "<app@example.com>", {"<someone@example.org>"}, "Q6")
  check(message(conn, {{"X-Auth-User", "dave"}}) == SMFIR_ACCEPT, "the next message on the connection is accepted")
  check(not mt.eom_check(conn, MT_RCPTDELETE, "<abuse@example.com>"), "... and owes nothing to the aborted one")
  mt.disconnect(conn)
elseif phase == "fewer" then
  -- The same daemon, by an MTA that grants only SMFIF_ADDHDRS and SMFIF_DELRCPT (no SMFIF_CHGHDRS):
  -- frank's X-Auth-User field cannot be removed, so his message is refused for now before it is
  -- counted. Had the two tries counted, limit_messages = 1/1h would refuse the third.
  for try = 1, 2 do
    local conn = connect("198.51.100.7", nil, 0x9)
    envelope(conn, nil, "<app@example.com>", {"<someone@example.org>"}, "F" .. try)
    check(message(conn, {{"X-Auth-User", "frank"}}) == SMFIR_REPLYCODE, "frank " .. try .. ": refused for now (with a reply code)")
    mt.disconnect(conn)
  end
  local conn = connect("198.51.100.7")
  envelope(conn, nil, "<app@example.com>", {"<someone@example.org>"}, "F3")
  check(message(conn, {{"X-Auth-User", "frank"}}) == SMFIR_ACCEPT, "frank 3, by an MTA granting every action: accepted, the tries never counted")
  check(mt.eom_check(conn, MT_HDRDELETE, "X-Auth-User"), "... its X-Auth-User header deleted")
  mt.disconnect(conn)
elseif phase == "hold" then
  -- lock_action = hold: the crossing message is quarantined (Postfix's hold queue).
  local conn = connect()
  envelope(conn, "erin", "<erin@example.com>", {"<x@example.org>"}, "Q7")
  check(message(conn, {{"Subject", "one"}}) == SMFIR_ACCEPT, "erin 1: accepted")
  envelope(conn, "erin", "<erin@example.com>", {"<x@example.org>"}, "Q8")
  message(conn, {{"Subject", "two"}})
  check(mt.eom_check(conn, MT_QUARANTINE, "MailWarden: sasl:erin is locked"), "erin 2 crosses the limit: quarantined")
  mt.disconnect(conn)
else
  error("phase must be reject, fewer or hold")
end
