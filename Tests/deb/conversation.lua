-- conversation.lua: one authenticated message through mailwardend over the milter protocol, as
-- Postfix sends it (no MTA). Run by Tests/deb/run.sh with miltertest -D name=value:
--   socket  libmilter socket (default inet:8890@127.0.0.1)
--   login   the SASL login ({auth_authen}); the identity is sasl:LOGIN
--   expect  pass (continue/accept at every step) or refuse (a reject or tempfail at MAIL FROM or
--           at end of message, as for a locked identity)
-- Prints "milter: passed" or "milter: refused"; a wrong answer is an error (miltertest exits 1).
local sock = socket or "inet:8890@127.0.0.1"
local login = login or "deb-test@example.net"
local expect = expect or "pass"

local function refusal(reply)
  return reply == SMFIR_REJECT or reply == SMFIR_TEMPFAIL or reply == SMFIR_REPLYCODE
end

-- No HELO, no end-of-headers and no body (the shipped config has no abuse mailbox and no scanner):
-- mailwardend negotiates them away, and miltertest fails a step the milter asked not to get.
-- Bounded: 50 tries 0.1 s apart.
local conn = mt.connect(sock, 50, 0.1)
if conn == nil then error("cannot connect to " .. sock) end
if mt.conninfo(conn, "client.example.net", "192.0.2.10") ~= nil then error("conninfo failed") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("connect not continued") end

mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login, "i", "DEBTEST")
if mt.mailfrom(conn, "<" .. login .. ">") ~= nil then error("mailfrom failed") end
local reply = mt.getreply(conn)
local outcome
if refusal(reply) then
  outcome = "refused"
elseif reply ~= SMFIR_CONTINUE then
  error("unexpected reply to MAIL FROM: " .. tostring(reply))
else
  if mt.rcptto(conn, "<someone@example.org>") ~= nil then error("rcptto failed") end
  reply = mt.getreply(conn)
  if refusal(reply) then
    outcome = "refused"
  else
    mt.header(conn, "From", "<" .. login .. ">")
    mt.header(conn, "Subject", "Tests/deb conversation")
    mt.header(conn, "Message-ID", "<deb-test-" .. os.time() .. "@example.net>")
    if mt.eom(conn) ~= nil then error("eom failed") end
    reply = mt.getreply(conn)
    if reply == SMFIR_ACCEPT or reply == SMFIR_CONTINUE then
      outcome = "passed"
    elseif refusal(reply) then
      outcome = "refused"
    else
      error("unexpected reply at end of message: " .. tostring(reply))
    end
  end
end
mt.disconnect(conn)
mt.echo("milter: " .. outcome)
if (expect == "pass") ~= (outcome == "passed") then
  error("expected " .. expect .. ", but the message was " .. outcome)
end
