import Foundation
import Testing
@testable import MailWardenCore

@Suite struct ConfigTests {
    @Test func emptyFileGivesTheTableDefaults() throws {
        let c = try Config.parse(text: "", file: "t.conf")
        #expect(c.socket == "inet:8890@127.0.0.1")
        #expect(c.mode == .enforce)
        #expect(c.onError == .tempfail)
        #expect(c.lockAction == .reject)
        #expect(c.identityRules.rules.map(\.description) == ["sasl macro {auth_authen} lowercase"])
        #expect(c.spamHeaders.map(\.name) == ["X-Spam-Flag", "X-Spam-Status", "X-Spam"])
        #expect(c.limits.spam == RateLimit(count: 10, window: .hours(1)))
        #expect(c.outboundLogRetention == .days(30))
    }

    /// Logs, `status` and the daemon's start line show the store as `storeForDisplay`: never a password.
    @Test(arguments: [
        ("/var/lib/mailwarden/mailwarden.db", "/var/lib/mailwarden/mailwarden.db", false),
        ("postgresql://mailwarden:s3cr%40t@db1.example.net/mailwarden?sslmode=verify-full",
         "postgresql://mailwarden@db1.example.net/mailwarden?sslmode=verify-full", true),
        ("postgres://mw@db1.example.net,db2.example.net/mw?password=s3cret&target_session_attrs=read-write",
         "postgres://mw@db1.example.net,db2.example.net/mw?target_session_attrs=read-write", true),
        ("postgresql://mw:pw@db.example.net?password=pw", "postgresql://mw@db.example.net", true),
    ])
    func aPostgreSQLStoreIsShownWithoutItsPassword(store: String, shown: String, isPostgreSQL: Bool) throws {
        let c = try Config.parse(text: "store = \(store)", file: "t.conf")
        #expect(c.storeIsPostgreSQL == isPostgreSQL)
        #expect(c.storeForDisplay == shown)
    }

    @Test func aMilterSocketIsLoopbackOrUnixUnlessRemoteIsAllowedOutright() throws {
        for socket in ["inet:8890@127.0.0.1", "inet:8890@127.0.0.2", "inet:8890@localhost", "inet6:8890@::1",
                       "unix:/var/spool/postfix/mailwarden/mailwarden.sock"] {
            #expect(try Config.parse(text: "socket = \(socket)", file: "t.conf").socket == socket)
        }
        let remote = try Config.parse(text: "socket = inet:8890@192.0.2.10\nsocket_allow_remote = yes", file: "t.conf")
        #expect(remote.socket == "inet:8890@192.0.2.10" && remote.socketAllowRemote)
        #expect(throws: ConfigErrors.self) { try Config.parse(text: "socket = inet:8890\nsocket_allow_remote = yes", file: "t.conf") }
    }

    @Test func postfixSyntaxCommentsContinuationsAndRepeats() throws {
        let c = try Config.parse(text: """
            # a comment
            mode = monitor
            limit_spam = 5/10m
            lock_reply = Your account
              is suspended
            identity_rule = sasl macro {auth_authen}
            identity_rule = php header X-PHP-Originating-Script /^(?<id>[0-9]+):/
            exempt = sasl:a@x, sasl:b@x
            exempt = sasl:c@x
            trusted_networks = 192.0.2.0/24 2001:db8::/32
            mode = enforce
            """, file: "t.conf")
        #expect(c.mode == .enforce, "a later line for a single-valued key wins, as in main.cf")
        #expect(c.limits.spam == RateLimit(count: 5, window: .minutes(10)))
        #expect(c.lockReply == "Your account is suspended")
        #expect(c.identityRules.rules.map(\.prefix) == ["sasl", "php"], "rule order is kept")
        #expect(c.exempt == ["sasl:a@x", "sasl:b@x", "sasl:c@x"])
        #expect(c.isTrusted(clientAddress: "192.0.2.77"))
        #expect(c.isTrusted(clientAddress: "2001:db8::1"))
        #expect(!c.isTrusted(clientAddress: "198.51.100.1"))
    }

    static let badLines: [(String, Int, String)] = [
        ("mode = monitr", 2, "mode must be one of enforce, monitor"),
        ("limit_spam = 5 per hour", 2, "limit_spam must be N/DURATION"),
        ("frobnicate = yes", 2, "unknown setting `frobnicate`"),
        ("identity_rule = user header X-Auth-User /(?<id>[a-z+/", 2, "invalid regular expression"),
        ("identity_rule = user header X-Auth-User /^(.*)$/", 2, "no named group (?<id>...)"),
        ("identity_rule = sasl telepathy", 2, "unknown kind `telepathy`"),
        // The MTA would never send a macro so spelt: the rule would silently never match.
        ("identity_rule = sasl macro auth_authen", 2, "`auth_authen` is not a macro name"),
        ("identity_rule = sasl macro {auth authen}", 2, "`macro` takes one macro name"),
        ("identity_rule = sasl macro {auth-authen}", 2, "`{auth-authen}` is not a macro name"),
        ("trusted_networks = 10.0.0.0/33", 2, "`10.0.0.0/33` is not an address or CIDR network"),
        ("lock_cooldown = soon", 2, "lock_cooldown must be a duration"),
        ("socket = 8890", 2, "socket must be inet:PORT@HOST"),
        // Whoever reaches the milter can name any identity: every interface, or a public one, is refused.
        ("socket = inet:8890", 2, "has no host, so libmilter would listen on every interface"),
        ("socket = inet:8890@0.0.0.0", 2, "listens on 0.0.0.0, not on loopback"),
        ("socket = inet6:8890@::", 2, "listens on ::, not on loopback"),
        ("socket = inet:8890@mx.example.com", 2, "not on loopback"),
        ("socket_allow_remote = maybe", 2, "socket_allow_remote must be yes or no"),
        ("socket_mode = 0666", 2, "not world-writable"),
        ("just some words", 2, "expected `key = value`"),
        ("spam_header = X-Spam-Flag", 2, "spam_header takes NAME /regex/"),
        // An exemption that names no identity never matches: the customer it meant gets locked.
        ("exempt = newsletter@example.com", 2, "exempt: `newsletter@example.com` is not an identity"),
        ("notify_email = ops@example.net, boss@example.net", 2, "notify_email must be one address"),
        ("notify_from = MailWarden <mw@example.net>", 2, "notify_from must be one address"),
        // A bare number is seconds: a year of reports meant, gone minutes after each came.
        ("report_retention = 365", 2, "report_retention = 365 is 365 seconds (a number without a unit is seconds): write 365d for days"),
        ("outbound_log_retention = 30", 2, "outbound_log_retention = 30 is 30 seconds"),
        ("report_retention = 0d", 2, "report_retention must be longer than 0"),
        ("desk_parse_timeout = 301s", 2, "desk_parse_timeout must be a duration such as 30s, 10m, 1h, 7d, from 1s to 300s"),
        ("identity_rule = php header X-PHP-Script\u{e9} /^(?<id>\\d+):/", 2, "`X-PHP-Script\u{e9}` is not a header name"),
        ("spam_header = X-Spam-Flag:: /^\\s*yes/i", 2, "spam_header: `X-Spam-Flag::` is not a header name"),
    ]

    /// What MTAs take as one address stays valid: a bare local part (qualified by Postfix with
    /// $myorigin) and an address literal.
    @Test(arguments: ["root", "ops@example.net", "ops@[192.0.2.1]", "mailwarden"])
    func aNoticeAddressMayBeAnyOneAddress(address: String) throws {
        let config = try Config.parse(text: "notify_email = \(address)\nnotify_from = \(address)\n", file: "a.conf")
        #expect(config.notifyEmail == address && config.notifyFrom == address)
    }

    /// A reload names the changed settings it cannot put in force (the README lists them), and only those.
    @Test func aReloadNamesTheChangesThatTakeARestart() throws {
        let old = try Config.parse(text: "socket = unix:/run/a.sock\nlog_level = info\nlimit_messages = 10/1h\n", file: "a.conf")
        let new = try Config.parse(text: "socket = unix:/run/b.sock\nlog_level = debug\nlimit_messages = 20/1h\n", file: "a.conf")
        #expect(old.restartOnlyChanges(to: new) == ["socket", "log_level"])
        #expect(old.restartOnlyChanges(to: old).isEmpty)
    }

    /// Window events are kept for the longest window any identity is counted over, overrides included.
    @Test func windowRetentionCoversTheOverridesWindows() throws {
        let config = try Config.parse(text: "limit_messages = 10/1h\n", file: "a.conf")
        #expect(config.windowRetention(overrides: []) == .days(31))
        let longer = IdentityOverride(limits: [.spam: try #require(LimitOverride("5/60d"))])
        #expect(config.windowRetention(overrides: [longer]) == .days(60))
    }

    /// `spam_header =` (no value) turns the default upstream headers off.
    @Test func anEmptySpamHeaderTurnsTheDefaultsOff() throws {
        #expect(try Config.parse(text: "", file: "a.conf").spamHeaders.count == 3)
        #expect(try Config.parse(text: "spam_header =\n", file: "a.conf").spamHeaders.isEmpty)
    }

    /// An editor on another system saves CRLF line ends; in Swift "\r\n" is one Character, and a
    /// file split at "\n" alone was one line: the whole file a comment, every setting its default.
    @Test func crlfLineEndsAreLinesToo() throws {
        let c = try Config.parse(text: "# MailWarden\r\nstore = /x/mw.db\r\nmode = monitor\r\nlock_action = hold\r\n", file: "t.conf")
        #expect(c.storePath == "/x/mw.db")
        #expect(c.mode == .monitor)
        #expect(c.lockAction == .hold)
        do {
            _ = try Config.parse(text: "# one\r\n# two\r\nmode = monitr\r\n", file: "t.conf")
            Issue.record("a bad third line was accepted")
        } catch {
            #expect(error.description.hasPrefix("t.conf:3: mode must be one of"), "\(error)")
        }
    }

    /// mailwardend and `mailwarden check-config` read the file alike: a byte-order mark is no part of
    /// the first key, and bytes that are not UTF-8 are an error at their line, not replaced.
    @Test func aConfigFileIsReadAsUTF8WithoutItsByteOrderMark() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bom = dir.appendingPathComponent("bom.conf").path
        #expect(FileManager.default.createFile(atPath: bom, contents: Data([0xEF, 0xBB, 0xBF] + Array("store = /x/mw.db\nmode = monitor\n".utf8))))
        let c = try Config.load(path: bom)
        #expect(c.storePath == "/x/mw.db" && c.mode == .monitor)

        let latin1 = dir.appendingPathComponent("latin1.conf").path
        #expect(FileManager.default.createFile(atPath: latin1, contents: Data(Array("# ok\nmode = monitor\nlock_reply = Compte suspendu, appelez le support t".utf8) + [0xE9, 0x6C, 0xE9, 0x0A])))
        do {
            _ = try Config.load(path: latin1)
            Issue.record("Latin-1 text was accepted")
        } catch {
            #expect(error.description == "\(latin1):3: not UTF-8 text: save the file as UTF-8")
        }
        // In a comment such bytes are ignored: the file ran before, and must after an upgrade.
        let comment = dir.appendingPathComponent("comment.conf").path
        #expect(FileManager.default.createFile(atPath: comment, contents: Data(Array("# R".utf8) + [0xE9] + Array("glages\n  # \u{e9}t\u{e9}\nmode = monitor\n".utf8))))
        #expect(try Config.load(path: comment).mode == .monitor)
        do {
            _ = try Config.load(path: dir.appendingPathComponent("missing.conf").path)
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.description.contains("cannot read the config file"))
        }
    }

    /// A header name written with its colon matched no field; the colon is taken off. A retention
    /// with its unit may be short (an admin's choice, for privacy), and one in seconds long.
    @Test func settingsThatRanBeforeStillParse() throws {
        let c = try Config.parse(text: """
            identity_rule = php header X-PHP-Originating-Script: /^(?<id>\\d+):/
            spam_header = X-Spam-Flag: /^\\s*yes/i
            outbound_log_retention = 12h
            report_retention = 31536000
            """, file: "t.conf")
        #expect(c.identityRules.rules.first?.headerName == "X-PHP-Originating-Script")
        #expect(c.spamHeaders.map(\.name) == ["X-Spam-Flag"])
        #expect(c.outboundLogRetention == .hours(12) && c.reportRetention == .days(365))
    }

    /// The regex is the rest of the line as written: its spaces are its own.
    @Test func anIdentityRulesPatternKeepsItsSpaces() throws {
        let c = try Config.parse(text: "identity_rule = web\theader  X-Auth  /(?<id>a  b)/i   lowercase\n", file: "t.conf")
        let rule = try #require(c.identityRules.rules.first)
        #expect(rule.description == "web header X-Auth /(?<id>a  b)/i lowercase")
        #expect(rule.lowercase)
    }

    /// A lock or exemption on a name no rule can give never applies: the CLI and check-config say why.
    @Test func whyNoRuleNamesAnIdentity() throws {
        let rules = try Config.parse(text: "identity_rule = sasl macro {auth_authen} lowercase\nidentity_rule = ip client_address\n", file: "t.conf").identityRules
        #expect(rules.whyNoRuleNames("sasl:mallory@example.net") == nil)
        #expect(rules.whyNoRuleNames("ip:192.0.2.1") == nil)
        #expect(rules.whyNoRuleNames("sasl:Mallory@Example.NET") == "identity_rule sasl lower-cases what it names: sasl:mallory@example.net")
        #expect(rules.whyNoRuleNames("smtp:mallory@example.net") == "no identity_rule names identities smtp:… (this config's prefixes: ip, sasl)")
        #expect(rules.whyNoRuleNames("sasl:a b") != nil)
    }

    @Test(arguments: badLines)
    func aBadLineNamesFileLineAndProblem(line: String, number: Int, message: String) {
        do {
            _ = try Config.parse(text: "# first line\n\(line)\n", file: "/etc/mailwarden/mailwarden.conf")
            Issue.record("`\(line)` was accepted")
        } catch {
            #expect(error.problems.count == 1)
            let text = error.description
            #expect(text.hasPrefix("/etc/mailwarden/mailwarden.conf:\(number): "), "\(text)")
            #expect(text.contains(message), "\(text)")
        }
    }

    /// Values that trapped the parser or a later use of their value (a reload with them killed the
    /// daemon); each must be refused at its line, so a reload keeps the old config.
    static let outOfRangeLines: [(String, String)] = [
        ("socket = inet:", "socket must be inet:PORT@HOST"),
        ("socket = inet6:", "socket must be inet:PORT@HOST"),
        ("socket = inet:@127.0.0.1", "socket must be inet:PORT@HOST"),
        ("socket = inet:99999999999999999999@127.0.0.1", "socket must be inet:PORT@HOST"),
        ("store_busy_timeout = 99999999999999999d", "store_busy_timeout must be a duration"),
        ("store_busy_timeout = 99999999999w", "store_busy_timeout must be a duration"),
        ("lock_cooldown = 36501d", "lock_cooldown must be a duration"),
        ("outbound_log_retention = 9223372036854775807", "outbound_log_retention must be a duration"),
        ("report_retention = 99999999999w", "report_retention must be a duration"),
        ("limit_messages = 5/99999999999w", "limit_messages must be N/DURATION"),
        ("limit_spam = 99999999999999999999/1h", "limit_spam must be N/DURATION"),
        ("limit_recipients = -1/1h", "limit_recipients must be N/DURATION"),
        ("max_headers = 99999999999999999999", "max_headers must be a whole number"),
        ("max_header_length = -9223372036854775808", "max_header_length must be a whole number"),
        ("abuse_max_size = 9223372036854775807", "abuse_max_size must be a whole number"),
        ("abuse_max_size = 1073741824", "abuse_max_size must be a whole number from 1024 to 1000000000"),
        ("complaint_min_reporters = 99999999999999999999", "complaint_min_reporters must be a whole number"),
        ("socket_mode = 77777777777777777777", "socket_mode must be octal"),
        ("metrics_listen = 127.0.0.1:99999999999999999999", "metrics_listen must be IP:PORT"),
        ("notify_smtp = 127.0.0.1:-1", "notify_smtp must be HOST:PORT"),
        ("trusted_networks = 10.0.0.0/99999999999999999999", "is not an address or CIDR network"),
        ("scanner_timeout = 99999999999w", "scanner_timeout must be a duration"),
        ("scanner_max_size = 99999999999999999999", "scanner_max_size must be a number"),
        ("scanner_spam = score>=1e999", "scanner_spam must be"),
        ("milter_memory = 99999999999999999999", "milter_memory must be a whole number"),
        ("milter_memory = 33554432", "milter_memory must be at least abuse_max_size (52428800)"),
    ]

    @Test(arguments: outOfRangeLines)
    func anOutOfRangeValueIsAFileLineError(line: String, message: String) {
        aBadLineNamesFileLineAndProblem(line: line, number: 2, message: message)
    }

    @Test func durationsStopAtTheLongest() throws {
        #expect(TimeSpan("36500d") == TimeSpan.longest)
        #expect(TimeSpan("36501d") == nil)
        #expect(TimeSpan("\(TimeSpan.longest.seconds + 1)") == nil)
        let c = try Config.parse(text: "lock_cooldown = 36500d\nlimit_spam = 100000000/36500d\n", file: "f")
        #expect(c.lockCooldown == .longest)
        #expect(c.limits.spam == RateLimit(count: RateLimit.maxCount, window: .longest))
    }

    @Test func allProblemsAreReportedNotJustTheFirst() {
        do {
            _ = try Config.parse(text: "mode = x\nlog = y\nlimit_spam = z\n", file: "f")
            Issue.record("accepted")
        } catch {
            #expect(error.problems.count == 3)
            #expect(Set(error.problems.compactMap(\.line)) == [1, 2, 3])
        }
    }

    @Test func anUnknownKeySuggestsTheNearestOne() {
        #expect(throws: ConfigErrors.self) { try Config.parse(text: "limit_spams = 1/1h", file: "f") }
        do { _ = try Config.parse(text: "limit_spams = 1/1h", file: "f") } catch {
            #expect(error.description.contains("did you mean `limit_spam`"))
        }
    }

    @Test func noneDisablesALimit() throws {
        let c = try Config.parse(text: "limit_messages = none", file: "f")
        #expect(c.limits.messages == nil)
    }

    @Test func everySettingInTheTableHasDocAndParsesItsDefault() throws {
        for s in Settings.all {
            #expect(!s.doc.isEmpty, "\(s.key)")
            let text = s.defaults.map { "\(s.key) = \($0)" }.joined(separator: "\n")
            _ = try Config.parse(text: text, file: s.key)
        }
    }
}

@Suite struct TimeAndNetworkTests {
    @Test(arguments: [("45s", 45), ("10m", 600), ("1h", 3600), ("7d", 604_800), ("2w", 1_209_600), ("90", 90), ("0", 0)])
    func durations(text: String, seconds: Int64) {
        #expect(TimeSpan(text)?.seconds == seconds)
    }

    @Test(arguments: ["", "h", "-5m", "5 m x", "1y", "99999999999999999999d"])
    func badDurations(text: String) {
        #expect(TimeSpan(text) == nil)
    }

    @Test func durationsPrintInTheirShortestExactForm() {
        #expect(TimeSpan(seconds: 3600).description == "1h")
        #expect(TimeSpan(seconds: 5400).description == "90m")
        #expect(RateLimit("5/10m")?.description == "5/10m")
        #expect(RateLimit("5/0") == nil)
    }

    @Test func networks() throws {
        let v4 = try #require(IPNetwork("10.1.0.0/16"))
        #expect(v4.contains(IPAddress("10.1.255.3")!))
        #expect(!v4.contains(IPAddress("10.2.0.1")!))
        #expect(v4.contains(IPAddress("::ffff:10.1.2.3")!), "IPv4-mapped IPv6 matches the IPv4 network")
        let v6 = try #require(IPNetwork("2001:db8:abcd::/48"))
        #expect(v6.contains(IPAddress("2001:db8:abcd:12::1")!))
        #expect(!v6.contains(IPAddress("2001:db8:abce::1")!))
        #expect(IPNetwork("127.0.0.1")?.prefixLength == 32)
        #expect(IPAddress("[IPv6:::1]")?.description == "::1")
        #expect(IPAddress("2001:0DB8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1", "RFC 5952: the first longest zero run")
        #expect(IPAddress("2001:db8:0:1:1:1:1:1")?.description == "2001:db8:0:1:1:1:1:1", "a single zero group stays")
        #expect(IPAddress("fe80::")?.description == "fe80::")
        #expect(IPAddress("256.1.1.1") == nil)
        #expect(IPAddress("1:2:3:4:5:6:7:8:9") == nil)
    }

    @Test func rfc3339() {
        #expect(RFC3339.format(0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(1_795_500_000) == "2026-11-24T06:00:00Z")
        #expect(RFC3339.format(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.format(-1) == "1969-12-31T23:59:59Z")
        #expect(RFC3339.format(253_402_300_799) == "9999-12-31T23:59:59Z")
    }
}
