// The one table of settings. The config parser, the commented example under packaging/ and the
// README reference are all generated from it (`mailwarden config-reference`), so they cannot drift.

/// How a setting's value is read.
public enum SettingType: Sendable, Equatable {
    case text
    case number
    case duration
    case rateLimit
    case choice([String])
    /// Repeated lines add entries; a `list` value may also hold several comma/space-separated items.
    case list
    /// Repeated lines add one entry each (entries may contain spaces, e.g. regexes).
    case lines
}

/// One configuration key: its type, its default and what it means.
public struct Setting: Sendable {
    public let key: String
    public let type: SettingType
    /// Default values; several for list keys, none when unset by default.
    public let defaults: [String]
    public let doc: String
    /// What the Debian package's config sets instead of the default, if anything.
    public let packaged: String?

    init(key: String, type: SettingType, defaults: [String], doc: String, packaged: String? = nil) {
        self.key = key
        self.type = type
        self.defaults = defaults
        self.doc = doc
        self.packaged = packaged
    }

    public var isRepeatable: Bool { type == .list || type == .lines }
}

public enum Settings {
    public static let all: [Setting] = [
        Setting(key: "socket", type: .text, defaults: ["inet:8890@127.0.0.1"],
                doc: "Where mailwardend listens, in libmilter form: inet:PORT@HOST, inet6:PORT@HOST or unix:/path. Postfix names the same socket inet:HOST:PORT. The package uses a unix socket in Postfix's queue directory, where Debian's chrooted smtpd reaches it and no other local user can: whoever connects to the milter can name any identity. An inet socket needs a loopback host unless socket_allow_remote = yes.",
                packaged: "unix:/var/spool/postfix/mailwarden/mailwarden.sock"),
        Setting(key: "socket_mode", type: .text, defaults: ["0660"],
                doc: "Permissions of a unix socket (octal). Never world-writable."),
        Setting(key: "socket_group", type: .text, defaults: [],
                doc: "Group of a unix socket, so the MTA can connect: postfix for Postfix (the socket's directory set-group-ID to it, as the package's is, or mailwardend's user a member of it). Empty: mailwardend's own group.",
                packaged: "postfix"),
        Setting(key: "socket_allow_remote", type: .choice(["no", "yes"]), defaults: ["no"],
                doc: "yes lets socket listen on an address other than loopback: only where a firewall lets nobody but your MTAs reach it."),
        Setting(key: "store", type: .text, defaults: ["/var/lib/mailwarden/mailwarden.db"],
                doc: "The store: identities, counters, locks, outbound log, audit log, reports and cases, token key. A file is an SQLite store (one host); a postgresql:// URI (libpq's, e.g. postgresql://mailwarden@db.example/mailwarden?sslmode=verify-full) is a PostgreSQL database that several hosts share."),
        Setting(key: "store_busy_timeout", type: .duration, defaults: ["2s"],
                doc: "How long a store write waits for a lock held by another process (the CLI). Keep it well under Postfix's milter_command_timeout."),
        Setting(key: "mode", type: .choice(["enforce", "monitor"]), defaults: ["enforce"],
                doc: "monitor logs \"would lock\" and refuses nothing: use it to roll out limits safely."),
        Setting(key: "on_error", type: .choice(["tempfail", "accept"]), defaults: ["tempfail"],
                doc: "The milter's answer when MailWarden itself fails (store error, internal error). tempfail keeps the mail with the client; accept lets it through (its identity header still removed) and counts it once the store answers again. A locked identity is refused either way, even when a report among the recipients cannot be stored."),
        Setting(key: "count_commit", type: .choice(["synchronous", "write_behind"]), defaults: ["synchronous"],
                doc: "When a message's count is written to the store. synchronous: before the milter answers, so every count the MTA was told about is stored. write_behind: an identity whose totals this host read in the last second stay under half of every limit with this message is answered at once, and its count is committed a moment later (within 10 ms) with the others of that moment; the answer no longer waits behind other sessions' commits. A count written behind still locks on a crossing; nearer a limit every count is synchronous (but an exempt identity's, which is never locked). A clean stop writes every count first; a crash (kill -9, power loss) loses those not yet committed (at most the last 10 ms' worth and 10,000), and a store that fails keeps them for later as on_error = accept does."),
        Setting(key: "identity_rule", type: .lines, defaults: ["sasl macro {auth_authen} lowercase"],
                doc: "How the sender is named; ordered, first match wins. Forms: PREFIX macro {NAME} | PREFIX header NAME /regex with (?<id>...)/ | PREFIX envelope_from /regex/ | PREFIX client_address; add `lowercase` to fold the value. The identity is PREFIX:value. A pattern gets 50 ms for all the fields of its name in one message (past that: no match, and a warning in the log)."),
        Setting(key: "identity_header", type: .choice(["keep", "remove", "token"]), defaults: ["keep"],
                doc: "What happens to the header a header rule matched: keep it, remove it, or replace it with X-MailWarden-ID: <token> (an HMAC of the identity, traceable in complaints without exposing a login)."),
        Setting(key: "spam_header", type: .lines,
                defaults: ["X-Spam-Flag /^\\s*yes\\b/i", "X-Spam-Status /^\\s*yes,/i", "X-Spam /^\\s*yes\\b/i"],
                doc: "An upstream spam verdict: header NAME and /regex/ on its value; repeated, any match marks the message as spam. `spam_header =` with no value: none (the defaults off)."),
        Setting(key: "limit_messages", type: .rateLimit, defaults: ["500/1h"],
                doc: "Messages per identity in a sliding window (N/DURATION; `none` disables it). The message that makes the count exceed N locks the identity."),
        Setting(key: "limit_recipients", type: .rateLimit, defaults: ["2000/1h"],
                doc: "Recipients per identity in a sliding window."),
        Setting(key: "limit_spam", type: .rateLimit, defaults: ["10/1h"],
                doc: "Spam verdicts per identity in a sliding window. With 5/1h, verdicts 1-5 pass and the 6th locks."),
        Setting(key: "limit_complaints", type: .rateLimit, defaults: ["3/1d"],
                doc: "Abuse complaints traced to the identity in a sliding window."),
        Setting(key: "lock_action", type: .choice(["reject", "hold", "tempfail"]), defaults: ["reject"],
                doc: "What a locked identity's mail gets: reject (550), hold (Postfix hold queue; release with postsuper -H), tempfail (451). Local submissions are always held."),
        Setting(key: "lock_reply", type: .text, defaults: ["Sending from this account is suspended; please contact support"],
                doc: "The SMTP reply text for reject and tempfail (the code is 550 5.7.1 or 451 4.7.1)."),
        Setting(key: "lock_cooldown", type: .duration, defaults: ["0"],
                doc: "An automatic lock lifts itself after this long; 0 keeps it until an admin unlocks."),
        Setting(key: "exempt", type: .list, defaults: [],
                doc: "Identities (PREFIX:value, as `mailwarden identities` lists them) that are counted but never locked (repeat or list them)."),
        Setting(key: "trusted_networks", type: .list, defaults: [],
                doc: "Client networks (CIDR) whose unauthenticated mail is counted as outbound, e.g. web servers relaying through this MTA."),
        Setting(key: "local_daemon_name", type: .text, defaults: ["mailwarden-local"],
                doc: "The {daemon_name} macro value that marks local submissions (sendmail/pickup via non_smtpd_milters); set it with -o milter_macro_daemon_name in master.cf."),
        Setting(key: "notify_email", type: .text, defaults: [],
                doc: "Where a lock notice is mailed: one address, for several an alias of your MTA (empty: none)."),
        Setting(key: "notify_from", type: .text, defaults: ["mailwarden@localhost"],
                doc: "Envelope and header sender of lock notices."),
        Setting(key: "notify_smtp", type: .text, defaults: ["127.0.0.1:25"],
                doc: "SMTP server (host:port) that lock notices go through; not the sendmail binary, which does not work under the hardened unit. Best a port where MailWarden is not a milter: notices are also sent while mailwardend stops. A 4xx or no connection is tried again 2, 8 and 20 s later (once more at once when the process stops)."),
        Setting(key: "notify_command", type: .text, defaults: [],
                doc: "A command run on each automatic lock with the lock as JSON on stdin (empty: none)."),
        Setting(key: "outbound_log_retention", type: .duration, defaults: ["30d"],
                doc: "How long the outbound log (Message-ID, queue id, identity) is kept for tracing complaints. A number without a unit is seconds: below a day one is refused (write 30d)."),
        Setting(key: "max_header_length", type: .number, defaults: ["4096"],
                doc: "Characters of a header value that rules examine; the rest is ignored."),
        Setting(key: "max_headers", type: .number, defaults: ["200"],
                doc: "Headers of one message that rules examine."),
        Setting(key: "log", type: .choice(["stderr", "syslog"]), defaults: ["stderr"],
                doc: "stderr (journald under systemd) or syslog with the mail facility, beside Postfix's lines."),
        Setting(key: "log_level", type: .choice(["debug", "info", "warning", "error"]), defaults: ["info"],
                doc: "Least severity logged; info is one line per message."),
        Setting(key: "metrics_listen", type: .text, defaults: [],
                doc: "IP:PORT where mailwardend serves Prometheus metrics at /metrics, e.g. 127.0.0.1:9890 (empty: off). The endpoint has no authentication: keep it on a loopback address. Changing it takes a restart."),
        Setting(key: "abuse_mailboxes", type: .list, defaults: [],
                doc: "Recipients whose mail is an abuse report: full addresses or patterns with * (abuse@*, *@abuse.example.net). Such mail is stored as a report before the milter answers."),
        Setting(key: "abuse_domains", type: .list, defaults: [],
                doc: "The domains whose abuse mailboxes are ours (example.com, example.net). Empty: a recipient is ours when the MTA delivers it here, as its {rcpt_mailer} macro tells (local, virtual, lmtp: here; smtp or relay: elsewhere; another name: a stranger's mail is ours, a customer's is not; Postfix sends it by default). Mail from a customer to another provider's abuse@ is never taken, whatever abuse_mailboxes says."),
        Setting(key: "abuse_keep_delivery", type: .choice(["no", "yes"]), defaults: ["no"],
                doc: "yes also delivers reports to the abuse mailboxes; no removes those recipients (a message with no other recipient is discarded once stored)."),
        Setting(key: "abuse_max_size", type: .number, defaults: ["52428800"],
                doc: "Largest report (bytes) the milter stores, at most 1000000000 (what SQLite stores in one value); a larger one is delivered normally and logged."),
        Setting(key: "milter_memory", type: .number, defaults: ["1073741824"],
                doc: "Most bytes of messages mailwardend holds at once, over all connections, for reports to the abuse mailboxes and for the scanners (each message up to abuse_max_size or scanner_max_size); the memory they take may reach about twice this while a message grows and is copied for the store or a scanner. Past it a report is answered per on_error (tempfail: its sender tries again later) and a customer's message goes unscanned, so that many strangers sending large reports at once cannot exhaust the daemon's memory. At least abuse_max_size and scanner_max_size."),
        Setting(key: "complaint_min_reporters", type: .number, defaults: ["2"],
                doc: "Complaints count toward an identity's lock only from this many distinct reporters (any recipient of a customer's mail can complain)."),
        Setting(key: "authserv_id", type: .list, defaults: [],
                doc: "The authserv-id of the Authentication-Results fields your own MX (OpenDKIM, OpenDMARC, rspamd) writes; only those are trusted. Empty: no complaint counts toward a lock."),
        Setting(key: "remove_forged_authentication_results", type: .choice(["no", "yes"]), defaults: ["no"],
                doc: "yes: mailwardend is listed before your authenticating milters and deletes, from every message, the Authentication-Results fields that carry one of your authserv_id: at that point only the sender can have written them (RFC 8601 section 5); a message with more than 32 of them is refused (550 5.7.1). A report then counts only when it reaches the desk through the pipe transport, after every milter: the milter stores a report before later milters add their field."),
        Setting(key: "public_suffix_list", type: .text, defaults: ["/usr/share/publicsuffix/public_suffix_list.dat"],
                doc: "The Public Suffix List (Debian's publicsuffix package), for the organisational domain of a reporter (RFC 7489), and for the top-level domains a reported name must be under to be a case's subject. If it cannot be read, the last two labels of a name are used: reporters under suffixes such as co.uk then merge into one, a complaint counts only from a recipient's own domain or a name above or below it, and any reported name can be a subject."),
        Setting(key: "complaint_trusted_reporters", type: .list, defaults: [],
                doc: "Domains of the feedback loops you registered with, as their reports' authenticated From: says, e.g. fbl.isp.example; a name also takes its subdomains. When set, only complaints from these count. An organisational domain such as isp.example also trusts every mailbox there, a webmail provider's free accounts included. Empty: an authenticated reporter counts only for a message that our outbound log shows was sent to its organisation (a recipient's domain), so that nobody can get a customer locked with complaints from domains of their own about a message they received."),
        Setting(key: "report_retention", type: .duration, defaults: ["365d"],
                doc: "How long raw reports and their evidence are kept. A number without a unit is seconds: below a day one is refused (write 365d)."),
        Setting(key: "desk_parse_timeout", type: .duration, defaults: ["5s"],
                doc: "The longest the desk worker's parser process may take over one report (1s to 300s); past it the parser is killed. A report whose parse dies or runs over twice goes to triage with its raw bytes and the reason."),
        Setting(key: "desk_parse_memory", type: .number, defaults: ["1073741824"],
                doc: "Address space (bytes) of the desk worker's parser process (134217728 to 17179869184); a report that needs more kills only that parse."),
        Setting(key: "scanner", type: .lines, defaults: [],
                doc: "A spam scanner asked at end-of-message: `spamd IP:PORT`, `spamd unix:/path`, `rspamd IP:PORT` or `rspamd unix:/path` (spamd usually listens on 783, rspamd's normal worker on 11333). No host names: no DNS lookup may stall the message path. Repeat to ask several. None: no scanning."),
        Setting(key: "scanner_connect_timeout", type: .duration, defaults: ["1s"],
                doc: "How long to wait for a scanner to accept the connection (1s to 30s)."),
        Setting(key: "scanner_timeout", type: .duration, defaults: ["10s"],
                doc: "The longest one scan may take once connected: sending the message and reading the answer (1s to 240s). spamd needs about 40 ms per message on an idle machine. Keep the sum over all scanners well under Postfix's milter_content_timeout (300s)."),
        Setting(key: "scanner_max_size", type: .number, defaults: ["1024000"],
                doc: "Messages bigger than this many bytes are not sent to a scanner (they are counted as unscanned); spamc's own default is 500 KB."),
        Setting(key: "scanner_spam", type: .text, defaults: ["verdict"],
                doc: "What counts as spam: `verdict` (spamd's Spam: True; rspamd's action reject, rewrite subject, add header, quarantine or discard, but not greylist or soft reject) or `score>=N` on the scanner's score."),
        Setting(key: "scanner_failure", type: .choice(["skip", "tempfail"]), defaults: ["skip"],
                doc: "When a scanner is down, too slow or answers nonsense: skip delivers the message unscanned (the failure is counted and logged); tempfail answers 451 so the client retries."),
        Setting(key: "scanner_scope", type: .choice(["outbound", "all"]), defaults: ["outbound"],
                doc: "outbound scans only mail counted for an identity (authenticated, local submissions, trusted networks); all also scans inbound mail from strangers, which is never counted (only scanner_header shows it)."),
        Setting(key: "scanner_header", type: .text, defaults: ["none"],
                doc: "The name of a header added with the result, e.g. X-MailWarden-Spam (value `yes; score=15.0; scanner=rspamd`), or none."),
    ]

    public static func setting(_ key: String) -> Setting? { byKey[key] }

    private static let byKey: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
}
