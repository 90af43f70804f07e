-- Drives mailwardend over the milter protocol (no MTA): MESSAGES messages from IDENTITIES
-- authenticated identities, one connection per message, as Postfix would. For measurements only.
-- Settings come as globals from miltertest's -D name=value.
local sock = socket or "inet:18890@127.0.0.1"
local messages = tonumber(messages or "10000")
local identities = tonumber(identities or "1000")
local refused = 0
for i = 1, messages do
  local conn = mt.connect(sock, 10, 0.05)
  if conn == nil then error("cannot connect to " .. sock) end
  mt.conninfo(conn, "client.example", "127.0.0.1")
  mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "user" .. (i % identities) .. "@example.net", "i", "Q" .. i)
  mt.mailfrom(conn, "<user" .. (i % identities) .. "@example.net>")
  mt.rcptto(conn, "<rcpt" .. i .. "@example.org>")
  mt.header(conn, "Subject", "message " .. i)
  mt.header(conn, "Message-ID", "<" .. i .. "@bench.example>")
  mt.eom(conn)
  local reply = mt.getreply(conn)
  if reply ~= SMFIR_ACCEPT and reply ~= SMFIR_CONTINUE then refused = refused + 1 end
  mt.disconnect(conn)
end
mt.echo("sent " .. messages .. " messages from " .. identities .. " identities; refused " .. refused)
