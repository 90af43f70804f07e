// The `scanner*` settings, typed: which spam scanners to ask at end-of-message and where they
// listen, how long to wait for them, the biggest message to send, what counts as spam, and what a
// failed scan does. `ScannerConfig.parse` reads them from the raw config lines for Config and
// reports problems as `file:line: what is wrong`, like the rest of the config.

public enum ScannerKind: String, Sendable {
    case spamd, rspamd
}

/// Where a scanner listens: an IP address and port, or a unix socket. Host names are refused so
/// that no DNS lookup can stall the message path.
public enum ScannerAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// The longest unix socket path the kernel takes (sun_path holds 108 bytes with the NUL).
    public static let maxUnixPathBytes = 107

    /// Parses `127.0.0.1:783`, `[::1]:783` or `unix:/run/spamd.sock`.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/"), path.utf8.count <= Self.maxUnixPathBytes else { return nil }
            self = .unix(path: path)
        } else {
            guard let hostPort = HostPort(text), IPAddress(hostPort.host) != nil else { return nil }
            self = .tcp(host: hostPort.host, port: hostPort.port)
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return "unix:\(path)"
        }
    }
}

/// One `scanner` line: which daemon, and where.
public struct ScannerEndpoint: Sendable, Hashable, CustomStringConvertible {
    public let kind: ScannerKind
    public let address: ScannerAddress

    public init(kind: ScannerKind, address: ScannerAddress) {
        self.kind = kind
        self.address = address
    }

    public var description: String { "\(kind.rawValue) \(address)" }
}

/// What makes a scan result count as spam (`scanner_spam`).
public enum SpamCriterion: Sendable, Equatable, CustomStringConvertible {
    /// The scanner's own verdict: spamd's `Spam: True`, rspamd's action.
    case verdict
    /// `score>=N`, whatever the scanner's verdict.
    case scoreAtLeast(Double)

    /// Parses `verdict` or `score>=N` (spaces allowed around `>=`).
    public init?(_ text: String) {
        let compact = text.lowercased().filter { $0 != " " && $0 != "\t" }
        if compact == "verdict" {
            self = .verdict
        } else if compact.hasPrefix("score>="), let n = Double(compact.dropFirst(7)), n.isFinite {
            self = .scoreAtLeast(n)
        } else {
            return nil
        }
    }

    public func isSpam(_ result: ScanResult) -> Bool {
        switch self {
        case .verdict: return result.isSpam
        case .scoreAtLeast(let threshold): return result.score >= threshold
        }
    }

    public var description: String {
        switch self {
        case .verdict: return "verdict"
        case .scoreAtLeast(let threshold): return "score>=\(threshold)"
        }
    }
}

/// What a failed scan does to the message (`scanner_failure`).
public enum ScannerFailureAction: String, Sendable {
    /// Deliver it unscanned; the failure is counted and logged.
    case skip
    /// Answer 451 so the client retries later.
    case tempfail
}

/// Which messages are scanned (`scanner_scope`).
public enum ScannerScope: String, Sendable {
    /// Only mail counted for an identity: authenticated, local submissions, trusted networks.
    case outbound
    /// Inbound mail from strangers too (it is never counted; only the result header shows it).
    case all
}

/// The typed `scanner*` settings.
public struct ScannerConfig: Sendable {
    /// In config order; empty when nothing is scanned.
    public var scanners: [ScannerEndpoint]
    public var connectTimeout: TimeSpan
    /// The longest one scan may take after connecting: sending the message and reading the answer.
    public var timeout: TimeSpan
    /// Bigger messages are not sent to a scanner.
    public var maxMessageSize: Int
    public var spam: SpamCriterion
    public var onFailure: ScannerFailureAction
    public var scope: ScannerScope
    /// The name of the result header to add, or nil for none.
    public var resultHeader: String?

    public var isEnabled: Bool { !scanners.isEmpty }

    static let connectTimeoutRange = TimeSpan(seconds: 1)...TimeSpan(seconds: 30)
    /// Postfix gives a milter 300 s (milter_content_timeout) for the whole end-of-message.
    static let timeoutRange = TimeSpan(seconds: 1)...TimeSpan(seconds: 240)
    static let maxMessageSizeRange = 1_000...100_000_000

    /// Types the `scanner*` entries of a config file; every problem goes to `problems`.
    static func parse(_ raw: Config.RawConfig, file: String, problems: inout [ConfigProblem]) -> ScannerConfig {
        func fail(_ e: Config.RawConfig.Entry, _ message: String) {
            problems.append(ConfigProblem(file: file, line: e.line, message: message))
        }
        func last(_ key: String) -> Config.RawConfig.Entry { raw.values(key).last! }

        var scanners: [ScannerEndpoint] = []
        // `scanner =` with nothing after it means no scanner, as an empty list does in main.cf.
        for e in raw.values("scanner") where !e.value.isEmpty {
            let words = e.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count == 2, let kind = ScannerKind(rawValue: words[0].lowercased()),
                  let address = ScannerAddress(words[1]) else {
                fail(e, "scanner takes KIND ADDRESS with KIND spamd or rspamd and ADDRESS IP:PORT or unix:/path "
                    + "(no host names), e.g. `spamd 127.0.0.1:783`; got `\(e.value)`")
                continue
            }
            scanners.append(ScannerEndpoint(kind: kind, address: address))
        }

        let sizeEntry = last("scanner_max_size")
        var maxMessageSize = Self.maxMessageSizeRange.lowerBound
        if let n = Int(sizeEntry.value), Self.maxMessageSizeRange.contains(n) {
            maxMessageSize = n
        } else {
            fail(sizeEntry, "scanner_max_size must be a number of bytes from \(Self.maxMessageSizeRange.lowerBound) "
                + "to \(Self.maxMessageSizeRange.upperBound); got `\(sizeEntry.value)`")
        }

        let spamEntry = last("scanner_spam")
        var spam = SpamCriterion.verdict
        if let criterion = SpamCriterion(spamEntry.value) {
            spam = criterion
        } else {
            fail(spamEntry, "scanner_spam must be `verdict` or `score>=N`, e.g. score>=6; got `\(spamEntry.value)`")
        }

        let headerEntry = last("scanner_header")
        var resultHeader: String? = headerEntry.value
        if headerEntry.value.lowercased() == "none" {
            resultHeader = nil
        } else if !Config.isHeaderName(headerEntry.value) {
            fail(headerEntry, "scanner_header must be `none` or a header name such as X-MailWarden-Spam; got `\(headerEntry.value)`")
            resultHeader = nil
        }

        return ScannerConfig(
            scanners: scanners,
            connectTimeout: raw.duration("scanner_connect_timeout", in: Self.connectTimeoutRange, file: file, problems: &problems),
            timeout: raw.duration("scanner_timeout", in: Self.timeoutRange, file: file, problems: &problems),
            maxMessageSize: maxMessageSize,
            spam: spam,
            onFailure: raw.choice("scanner_failure", .skip, file: file, problems: &problems),
            scope: raw.choice("scanner_scope", .outbound, file: file, problems: &problems),
            resultHeader: resultHeader)
    }
}

extension Config.RawConfig {
    /// The value of a `choice` key as its enum case; a value not in the table's options is reported
    /// and `fallback` returned. (Config.init's local `choice` does the same and can call this.)
    func choice<T: RawRepresentable>(_ key: String, _ fallback: T, file: String,
                                     problems: inout [ConfigProblem]) -> T where T.RawValue == String {
        guard let e = values(key).last else { return fallback }
        guard let value = T(rawValue: e.value.lowercased()) else {
            if case .choice(let options) = Settings.setting(key)!.type {
                problems.append(ConfigProblem(file: file, line: e.line,
                                              message: "\(key) must be one of \(options.joined(separator: ", ")), got `\(e.value)`"))
            }
            return fallback
        }
        return value
    }

    /// The value of a duration key within `range`; a value that is no duration or out of range is
    /// reported and the range's lower bound returned. (Config.init's local `duration` calls this.)
    func duration(_ key: String, in range: ClosedRange<TimeSpan>, file: String, problems: inout [ConfigProblem]) -> TimeSpan {
        guard let e = values(key).last else { return range.lowerBound }
        guard let span = TimeSpan(e.value), range.contains(span) else {
            let bounds = range.lowerBound == .zero ? "at most \(range.upperBound.boundDescription)" : "from \(range.lowerBound.boundDescription) to \(range.upperBound.boundDescription)"
            problems.append(ConfigProblem(file: file, line: e.line,
                                          message: "\(key) must be a duration such as 30s, 10m, 1h, 7d, \(bounds); got `\(e.value)`"))
            return range.lowerBound
        }
        return span
    }
}
