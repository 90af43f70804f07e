// The configuration: Postfix-style `key = value` lines parsed into one immutable snapshot.
// Syntax as in main.cf: `#` starts a comment line, a line starting with white space continues the
// previous one, a later line for the same single-valued key wins. Keys that take a list may be
// repeated; the order of lines is kept. Every problem is reported as `file:line: what is wrong`.
import Foundation

public enum EnforcementMode: String, Sendable { case enforce, monitor }
public enum ErrorAction: String, Sendable { case tempfail, accept }
/// When a message's count commits: before the milter answers, or (for an identity far from every
/// limit) just after, in the background.
public enum CountCommit: String, Sendable { case synchronous, write_behind }
public enum IdentityHeaderMode: String, Sendable { case keep, remove, token }
public enum LockAction: String, Sendable, Codable { case reject, hold, tempfail }
public enum LogTarget: String, Sendable { case stderr, syslog }

/// An upstream filter's verdict header: the message is spam when the header's value matches.
public struct SpamHeaderRule: Sendable {
    public let name: String
    public let pattern: BoundedPattern
}

/// One problem in a config file.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// All problems found in one config file (parsing does not stop at the first).
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public let problems: [ConfigProblem]
    public init(problems: [ConfigProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// The immutable, validated configuration a daemon or CLI runs with.
public struct Config: Sendable {
    public var socket: String
    public var socketMode: UInt32
    public var socketGroup: String?
    /// An inet socket on a non-loopback address was explicitly allowed.
    public var socketAllowRemote: Bool
    /// A file (SQLite), or a `postgresql://` URI (libpq's; may carry a password: log `storeForDisplay`).
    public var storePath: String
    public var storeBusyTimeout: TimeSpan
    public var mode: EnforcementMode
    public var onError: ErrorAction
    public var countCommit: CountCommit
    public var identityRules: IdentityRules
    public var identityHeader: IdentityHeaderMode
    public var spamHeaders: [SpamHeaderRule]
    public var limits: LimitSet
    public var lockAction: LockAction
    public var lockReply: String
    public var lockCooldown: TimeSpan
    public var exempt: Set<Identity>
    public var trustedNetworks: [IPNetwork]
    public var localDaemonName: String
    public var notifyEmail: String?
    public var notifyFrom: String
    public var notifySMTP: String
    /// Where the Prometheus endpoint listens; nil: no endpoint.
    public var metricsListen: HostPort?
    public var notifyCommand: String?
    public var outboundLogRetention: TimeSpan
    public var maxHeaderLength: Int
    public var maxHeaders: Int
    public var log: LogTarget
    public var logLevel: String
    public var abuseMailboxes: AbuseMailboxes
    public var abuseKeepDelivery: Bool
    public var abuseMaxSize: Int
    /// milter_memory: the message bytes all sessions may hold at once.
    public var milterMemory: Int
    public var complaintMinReporters: Int
    /// Trusted authserv-ids, lowercased: only their Authentication-Results fields authenticate a reporter.
    public var authservIDs: Set<String>
    /// Delete Authentication-Results fields carrying one of authservIDs from every message (we run
    /// before the authenticating milters, so any such field came from the sender).
    public var removeForgedAuthenticationResults: Bool
    public var publicSuffixListPath: String
    /// Organisational domains, lowercased; empty: every authenticated reporter counts.
    public var complaintTrustedReporters: Set<String>
    public var reportRetention: TimeSpan
    /// The desk worker's parser process: its time per report and its address space.
    public var deskParseTimeout: TimeSpan
    public var deskParseMemory: Int
    /// The `scanner*` settings: which spam scanners to ask and how.
    public var scanning: ScannerConfig
    /// Where this snapshot came from, for `status` and log lines.
    public var source: String

    /// The built-in defaults, as if from an empty file.
    public static func defaults() -> Config {
        // The defaults in the table are valid by construction; a failure here is a programming error.
        try! parse(text: "", file: "(defaults)")
    }

    /// Reads and parses a config file, as every program that takes one does: UTF-8 text, a leading
    /// byte-order mark ignored (editors on other systems write one), LF or CRLF line ends. Bytes
    /// that are not UTF-8 are an error on a setting's line and ignored in a comment (a file saved in
    /// Latin-1 with `# Réglages` in it ran before, and must go on running after an upgrade).
    public static func load(path: String) throws(ConfigErrors) -> Config {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors(problems: [ConfigProblem(file: path, line: nil, message: "cannot read the config file (missing or not readable by this user)")])
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if String(validating: bytes, as: UTF8.self) == nil {
            // Name the line: a value pasted from a Latin-1 file must not be read with its bytes replaced.
            // A newline byte never falls inside a UTF-8 sequence, so each line can be checked alone.
            let isComment = { (line: ArraySlice<UInt8>) in line.first { $0 != 0x20 && $0 != 0x09 } == UInt8(ascii: "#") }
            let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            if let bad = lines.firstIndex(where: { String(validating: $0, as: UTF8.self) == nil && !isComment($0) }) {
                throw ConfigErrors(problems: [ConfigProblem(file: path, line: bad + 1, message: "not UTF-8 text: save the file as UTF-8")])
            }
        }
        return try parse(text: String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// An RFC 5322 field name: printable ASCII but the colon, at most 64 characters here.
    static func isHeaderName(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.count <= 64 && text.utf8.allSatisfy { (33...126).contains($0) && $0 != UInt8(ascii: ":") }
    }

    /// A header name as a rule writes it, without the colon some write after it (`X-Spam-Flag:`,
    /// which matched no field before it was taken off); nil when it is no field name.
    static func headerName(_ text: String) -> String? {
        let name = text.hasSuffix(":") ? String(text.dropLast()) : text
        return isHeaderName(name) ? name : nil
    }

    public static func parse(text: String, file: String) throws(ConfigErrors) -> Config {
        var raw = RawConfig()
        var problems: [ConfigProblem] = []
        raw.read(text: text, file: file, problems: &problems)
        let config = Config(raw: raw, file: file, problems: &problems)
        guard problems.isEmpty, let config else { throw ConfigErrors(problems: problems) }
        return config
    }

    /// Raw `key = value` entries with their line numbers, before typing.
    struct RawConfig {
        struct Entry { let value: String; let line: Int? }
        var entries: [String: [Entry]] = [:]

        mutating func read(text: String, file: String, problems: inout [ConfigProblem]) {
            var logical: [(line: Int, text: String)] = []
            var n = 0
            // CRLF is one Character in Swift: splitting at "\n" alone would make a CRLF file one line.
            for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                n += 1
                let line = String(rawLine)
                let trimmed = line.trimmingWhitespace()
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                if line.first == " " || line.first == "\t" {
                    if logical.isEmpty {
                        problems.append(ConfigProblem(file: file, line: n, message: "continuation line without a setting before it"))
                    } else {
                        logical[logical.count - 1].text += " " + trimmed
                    }
                    continue
                }
                logical.append((n, trimmed))
            }
            for (line, text) in logical {
                guard let eq = text.firstIndex(of: "=") else {
                    problems.append(ConfigProblem(file: file, line: line, message: "expected `key = value`, got `\(text.prefix(80))`"))
                    continue
                }
                let key = text[..<eq].trimmingWhitespace()
                let value = text[text.index(after: eq)...].trimmingWhitespace()
                guard let setting = Settings.setting(key) else {
                    problems.append(ConfigProblem(file: file, line: line, message: "unknown setting `\(key)`\(Self.suggestion(for: key))"))
                    continue
                }
                if setting.isRepeatable {
                    entries[key, default: []].append(Entry(value: value, line: line))
                } else {
                    entries[key] = [Entry(value: value, line: line)]
                }
            }
        }

        /// The configured entries of a key, or its defaults (without a line) when the file does not set it.
        func values(_ key: String) -> [Entry] {
            if let set = entries[key] { return set }
            return Settings.setting(key)!.defaults.map { Entry(value: $0, line: nil) }
        }

        /// The known key nearest to a misspelt one (edit distance of at most 3), as a hint.
        static func suggestion(for key: String) -> String {
            // The distance costs the product of the lengths; no key is longer than this.
            guard key.count <= 64 else { return "" }
            let scored = Settings.all.map { ($0.key, editDistance(Array(key), Array($0.key))) }
            guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 3 else { return "" }
            return " (did you mean `\(best.0)`?)"
        }

        static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var current = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                previous = current
            }
            return previous[b.count]
        }
    }

    private init?(raw: RawConfig, file: String, problems: inout [ConfigProblem]) {
        func fail(_ e: RawConfig.Entry, _ message: String) {
            problems.append(ConfigProblem(file: file, line: e.line, message: message))
        }
        func text(_ key: String) -> String? {
            raw.values(key).last.map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        }
        func choice<T: RawRepresentable>(_ key: String, _ fallback: T) -> T where T.RawValue == String {
            raw.choice(key, fallback, file: file, problems: &problems)
        }
        func yesNo(_ key: String) -> Bool {
            guard let e = raw.values(key).last else { return false }
            guard ["yes", "no"].contains(e.value) else {
                fail(e, "\(key) must be yes or no; got `\(e.value)`")
                return false
            }
            return e.value == "yes"
        }
        func duration(_ key: String, least: TimeSpan = .zero, most: TimeSpan = .longest) -> TimeSpan {
            raw.duration(key, in: least...most, file: file, problems: &problems)
        }
        func number(_ key: String, range: ClosedRange<Int>) -> Int {
            guard let e = raw.values(key).last else { return range.lowerBound }
            guard let n = Int(e.value), range.contains(n) else {
                fail(e, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound); got `\(e.value)`")
                return range.lowerBound
            }
            return n
        }
        func limit(_ key: String) -> RateLimit? {
            guard let e = raw.values(key).last, e.value.lowercased() != "none", !e.value.isEmpty else { return nil }
            guard let l = RateLimit(e.value) else {
                fail(e, "\(key) must be N/DURATION such as 5/10m (N at most \(RateLimit.maxCount), DURATION at most \(TimeSpan.longest)), or none; got `\(e.value)`")
                return nil
            }
            return l
        }
        func listItems(_ key: String) -> [(RawConfig.Entry, String)] {
            raw.values(key).flatMap { e in
                e.value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map { (e, String($0)) }
            }
        }

        socket = text("socket") ?? ""
        socketAllowRemote = yesNo("socket_allow_remote")
        if let e = raw.values("socket").last {
            if !Self.isValidSocket(e.value) {
                fail(e, "socket must be inet:PORT@HOST, inet6:PORT@HOST or unix:/absolute/path (libmilter form); got `\(e.value)`")
            } else if let exposure = Self.remoteExposure(ofSocket: e.value, allowRemote: socketAllowRemote) {
                fail(e, exposure)
            }
        }
        socketMode = 0o660
        if let e = raw.values("socket_mode").last {
            if let m = UInt32(e.value, radix: 8), m <= 0o777, m & 0o002 == 0 {
                socketMode = m
            } else {
                fail(e, "socket_mode must be octal permissions that are not world-writable, e.g. 0660; got `\(e.value)`")
            }
        }
        socketGroup = text("socket_group")
        storePath = text("store") ?? ""
        if storePath.isEmpty, let e = raw.values("store").last { fail(e, "store must name a file or a postgresql:// URI") }
        storeBusyTimeout = duration("store_busy_timeout")
        mode = choice("mode", .enforce)
        onError = choice("on_error", .tempfail)
        countCommit = choice("count_commit", .synchronous)
        identityHeader = choice("identity_header", .keep)
        lockAction = choice("lock_action", .reject)
        log = choice("log", .stderr)
        logLevel = text("log_level") ?? "info"
        if let e = raw.values("log_level").last, !["debug", "info", "warning", "error"].contains(e.value) {
            fail(e, "log_level must be one of debug, info, warning, error; got `\(e.value)`")
        }

        var rules: [IdentityRule] = []
        for e in raw.values("identity_rule") {
            do { rules.append(try IdentityRule(parsing: e.value)) } catch { fail(e, error.description) }
        }
        identityRules = IdentityRules(rules)

        var spam: [SpamHeaderRule] = []
        // `spam_header =` with no value: none at all (the defaults off).
        for e in raw.values("spam_header") where !e.value.isEmpty {
            let words = e.value.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count == 2 else {
                fail(e, "spam_header takes NAME /regex/, e.g. `X-Spam-Flag /^yes/i`; got `\(e.value)`")
                continue
            }
            guard let name = Self.headerName(words[0]) else {
                fail(e, "spam_header: `\(words[0])` is not a header name (printable ASCII, no spaces), e.g. X-Spam-Flag")
                continue
            }
            do {
                spam.append(SpamHeaderRule(name: name, pattern: try BoundedPattern(delimited: words[1].trimmingWhitespace())))
            } catch {
                fail(e, "spam_header \(words[0]): \(error)")
            }
        }
        spamHeaders = spam

        limits = LimitSet(messages: limit("limit_messages"), recipients: limit("limit_recipients"),
                          spam: limit("limit_spam"), complaints: limit("limit_complaints"))
        lockReply = text("lock_reply") ?? ""
        if lockReply.utf8.count > 400 || lockReply.contains(where: { $0.asciiValue.map { $0 < 0x20 } ?? false }) {
            fail(raw.values("lock_reply").last!, "lock_reply must be one line of at most 400 bytes")
        }
        lockCooldown = duration("lock_cooldown")
        exempt = Set(listItems("exempt").compactMap { e, item in
            guard IdentityForm.holds(for: item) else {
                fail(e, "exempt: `\(item)` is not an identity: \(IdentityForm.hint)")
                return nil
            }
            return item
        })
        trustedNetworks = listItems("trusted_networks").compactMap { e, item in
            guard let n = IPNetwork(item) else {
                fail(e, "trusted_networks: `\(item)` is not an address or CIDR network")
                return nil
            }
            return n
        }
        localDaemonName = text("local_daemon_name") ?? ""
        notifyEmail = text("notify_email")
        notifyFrom = text("notify_from") ?? "mailwarden@localhost"
        // Each goes into an SMTP command as it is: one address (a list: an alias of your MTA). A bare
        // local part (root) is qualified by the MTA, as Postfix does with $myorigin.
        for key in ["notify_email", "notify_from"] {
            if let e = raw.values(key).last, !e.value.isEmpty, !Self.isBareAddress(e.value) {
                fail(e, "\(key) must be one address such as ops@example.net (for several, an alias of your MTA); got `\(e.value)`")
            }
        }
        notifySMTP = text("notify_smtp") ?? "127.0.0.1:25"
        if let e = raw.values("notify_smtp").last, HostPort(e.value) == nil {
            fail(e, "notify_smtp must be HOST:PORT, e.g. 127.0.0.1:25; got `\(e.value)`")
        }
        notifyCommand = text("notify_command")
        metricsListen = nil
        if let e = raw.values("metrics_listen").last, !e.value.isEmpty {
            // An IP literal only: the endpoint must not depend on DNS, and a name hides which interface it is on.
            if let hp = HostPort(e.value), IPAddress(hp.host) != nil {
                metricsListen = hp
            } else {
                fail(e, "metrics_listen must be IP:PORT, e.g. 127.0.0.1:9890 or [::1]:9890; got `\(e.value)`")
            }
        }
        outboundLogRetention = duration("outbound_log_retention")
        maxHeaderLength = number("max_header_length", range: 64...65536)
        maxHeaders = number("max_headers", range: 10...10000)
        let abuseDomains = listItems("abuse_domains")
        for (e, domain) in abuseDomains where domain.contains("@") || domain.contains("*") || domain.hasPrefix(".") {
            fail(e, "abuse_domains takes domain names such as example.com; got `\(domain)`")
        }
        abuseMailboxes = AbuseMailboxes(listItems("abuse_mailboxes").map(\.1), domains: abuseDomains.map(\.1))
        abuseKeepDelivery = yesNo("abuse_keep_delivery")
        // At most what either store takes in one value: SQLite's default SQLITE_MAX_LENGTH (10^9
        // bytes; PostgreSQL's bytea takes 1 GiB). A larger report could never be stored, and would be
        // tempfailed until its sender gave up.
        abuseMaxSize = number("abuse_max_size", range: 1024...1_000_000_000)
        complaintMinReporters = number("complaint_min_reporters", range: 1...1000)
        authservIDs = Set(listItems("authserv_id").compactMap { e, item in
            guard AuthenticationResults.isAuthservID(item) else {
                fail(e, "authserv_id: `\(item)` is not an authserv-id; give it as your MX writes it, e.g. mx.example.net")
                return nil
            }
            return item.lowercased()
        })
        removeForgedAuthenticationResults = yesNo("remove_forged_authentication_results")
        if removeForgedAuthenticationResults, authservIDs.isEmpty, let e = raw.values("remove_forged_authentication_results").last {
            fail(e, "remove_forged_authentication_results = yes needs authserv_id: the fields to remove are those carrying it")
        }
        publicSuffixListPath = text("public_suffix_list") ?? ""
        if !publicSuffixListPath.hasPrefix("/"), let e = raw.values("public_suffix_list").last {
            fail(e, "public_suffix_list must be an absolute path, e.g. /usr/share/publicsuffix/public_suffix_list.dat; got `\(e.value)`")
        }
        complaintTrustedReporters = Set(listItems("complaint_trusted_reporters").compactMap { e, item in
            guard let domain = PublicSuffixList.normalized(item) else {
                fail(e, "complaint_trusted_reporters: `\(item)` is not a domain name")
                return nil
            }
            return domain
        })
        reportRetention = duration("report_retention")
        // What complaints are traced by and what the abuse desk keeps: a bare number is seconds, so
        // `report_retention = 365` would delete every report minutes after it came.
        for key in ["outbound_log_retention", "report_retention"] {
            guard let e = raw.values(key).last, let span = TimeSpan(e.value) else { continue }
            if span == .zero {
                fail(e, "\(key) must be longer than 0: it would keep nothing")
            } else if span < .days(1), e.value.allSatisfy(\.isASCIIDigit) {
                fail(e, "\(key) = \(e.value) is \(e.value) seconds (a number without a unit is seconds): write \(e.value)d for days")
            }
        }
        deskParseTimeout = duration("desk_parse_timeout", least: TimeSpan(seconds: 1), most: TimeSpan(seconds: 300))
        deskParseMemory = number("desk_parse_memory", range: 134_217_728...17_179_869_184)
        scanning = ScannerConfig.parse(raw, file: file, problems: &problems)
        milterMemory = number("milter_memory", range: 16_777_216...68_719_476_736)
        if let e = raw.values("milter_memory").last, Int(e.value) == milterMemory, milterMemory < max(abuseMaxSize, scanning.maxMessageSize) {
            fail(e, "milter_memory must be at least abuse_max_size (\(abuseMaxSize)) and scanner_max_size (\(scanning.maxMessageSize)): a message that size could never be held; got `\(e.value)`")
        }
        source = file
    }

    /// Why a TCP socket would let more than this machine's MTA speak the milter protocol, or nil.
    /// Whoever connects can claim any login in its macros and send "spam" until that customer is
    /// locked, so only loopback is allowed unless the admin says a firewall guards the port.
    static func remoteExposure(ofSocket s: String, allowRemote: Bool) -> String? {
        guard s.hasPrefix("inet:") || s.hasPrefix("inet6:") else { return nil }
        let parts = s.split(separator: "@", maxSplits: 1)
        guard parts.count == 2 else {
            return "socket `\(s)` has no host, so libmilter would listen on every interface: write the address, e.g. \(parts[0])@127.0.0.1"
        }
        let host = String(parts[1])
        if host == "localhost" || IPAddress(host)?.isLoopback == true || allowRemote { return nil }
        return "socket `\(s)` listens on \(host), not on loopback: anyone who reaches that address could name any identity "
            + "and get it locked; use a unix socket or 127.0.0.1, or set socket_allow_remote = yes if a firewall lets only your MTAs in"
    }

    static func isValidSocket(_ s: String) -> Bool {
        if s.hasPrefix("unix:") || s.hasPrefix("local:") {
            return s.split(separator: ":", maxSplits: 1).last?.hasPrefix("/") == true
        }
        for scheme in ["inet:", "inet6:"] where s.hasPrefix(scheme) {
            let rest = s.dropFirst(scheme.count)
            let parts = rest.split(separator: "@", maxSplits: 1)
            guard let first = parts.first, let port = Int(first), (1...65535).contains(port) else { return false }
            return parts.count == 1 || !parts[1].isEmpty
        }
        return false
    }

    /// One address as it goes between MAIL FROM's or RCPT TO's brackets (root, ops@example.net,
    /// ops@[192.0.2.1]): no list, display name, brackets or spaces.
    static func isBareAddress(_ text: String) -> Bool {
        text.utf8.count <= 254 && !text.hasPrefix("@") && !text.hasSuffix("@")
            && !text.contains(where: { $0.isWhitespace || "<>,;".contains($0) || ($0.asciiValue.map { $0 < 0x20 } ?? false) })
    }

    /// The limits for an identity, with its per-identity overrides applied.
    public func limits(with override: IdentityOverride?) -> LimitSet {
        guard let override else { return limits }
        return limits.overridden(by: override.limits)
    }

    /// How long window events are kept: the longest window any identity is counted over (the
    /// config's limits and the per-identity overrides), and at least 31 days for `show`.
    public func windowRetention(overrides: some Sequence<IdentityOverride>) -> TimeSpan {
        let sets = [limits] + overrides.map { limits(with: $0) }
        let windows = sets.flatMap { set in Counter.allCases.compactMap { set[$0]?.window } }
        return max(windows.max() ?? .days(1), .days(31))
    }

    /// The settings that differ in `new` and that only a restart puts in force: the socket, the
    /// store and the logging are set up once.
    public func restartOnlyChanges(to new: Config) -> [String] {
        let settings: [(String, Bool)] = [
            ("socket", new.socket != socket), ("socket_mode", new.socketMode != socketMode),
            ("socket_group", new.socketGroup != socketGroup), ("store", new.storePath != storePath),
            ("store_busy_timeout", new.storeBusyTimeout != storeBusyTimeout), ("log", new.log != log),
            ("log_level", new.logLevel != logLevel), ("metrics_listen", new.metricsListen != metricsListen),
        ]
        return settings.filter(\.1).map(\.0)
    }

    public func isExempt(_ identity: Identity, override: IdentityOverride?) -> Bool {
        exempt.contains(identity) || override?.exempt == true
    }

    /// Whether mail from this client counts as outbound by network (trusted_networks).
    public func isTrusted(clientAddress: String?) -> Bool {
        guard !trustedNetworks.isEmpty, let a = clientAddress.flatMap(IPAddress.init) else { return false }
        return trustedNetworks.contains { $0.contains(a) }
    }

    /// The lowercase names of headers that the message path must look at.
    public var examinedHeaders: Set<String> {
        identityRules.headerNames.union(spamHeaders.map { $0.name.lowercased() }).union(["message-id"])
    }
}

/// `host:port` (IPv6 hosts in brackets).
public struct HostPort: Sendable, Equatable {
    public let host: String
    public let port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let p = Int(text[text.index(after: colon)...]), (1...65535).contains(p) else {
            return nil
        }
        var h = text[..<colon]
        if h.hasPrefix("[") && h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        guard !h.isEmpty else { return nil }
        host = String(h)
        port = p
    }
}

extension Config {
    /// Whether `store` names a PostgreSQL database (shared by several hosts) rather than an SQLite file.
    public var storeIsPostgreSQL: Bool {
        storePath.hasPrefix("postgresql://") || storePath.hasPrefix("postgres://")
    }

    /// `store` as a log line or a status may show it: a URI's password left out.
    public var storeForDisplay: String {
        guard storeIsPostgreSQL else { return storePath }
        var shown = storePath
        // postgresql://user:secret@host/db → postgresql://user@host/db (the userinfo ends at the last
        // '@' before the path).
        if let scheme = shown.range(of: "://") {
            let rest = shown[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
               let colon = rest[..<at].firstIndex(of: ":") {
                shown.replaceSubrange(colon..<at, with: "")
            }
        }
        // …?password=secret&… → the parameter dropped.
        if let query = shown.firstIndex(of: "?") {
            let kept = shown[shown.index(after: query)...].split(separator: "&").filter { !$0.lowercased().hasPrefix("password=") }
            shown = String(shown[..<query]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        }
        return shown
    }
}
