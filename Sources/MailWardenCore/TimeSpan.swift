// Durations as admins write them in the config and on the command line: `45s`, `10m`, `1h`, `7d`, `2w`.
// A bare number is seconds, as in Postfix time parameters.

/// A length of time in whole seconds.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static let zero = TimeSpan(seconds: 0)
    public static func minutes(_ n: Int64) -> TimeSpan { TimeSpan(seconds: n * 60) }
    public static func hours(_ n: Int64) -> TimeSpan { TimeSpan(seconds: n * 3600) }
    public static func days(_ n: Int64) -> TimeSpan { TimeSpan(seconds: n * 86400) }

    static let units: [(suffix: Character, seconds: Int64)] = [("w", 604_800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]

    /// The longest duration read from text: 100 years of 365 days. Longer is a typo, and the bound keeps
    /// every use (now plus a cooldown, milliseconds of a busy timeout) far from overflowing.
    public static let longest = TimeSpan.days(36_500)

    /// Parses `N[smhdw]` up to `longest`; nil when the text is not such a duration.
    public init?(_ text: String) {
        let t = text.trimmingWhitespace().lowercased()
        guard let last = t.last, t.count <= 12 else { return nil }
        var digits = Substring(t)
        var scale: Int64 = 1
        if let unit = Self.units.first(where: { $0.suffix == last }) {
            scale = unit.seconds
            digits = t.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let n = Int64(digits),
              n <= Self.longest.seconds / scale else { return nil }
        seconds = n * scale
    }

    /// The shortest exact form: `90m` stays `90m`, `3600` becomes `1h`.
    public var description: String {
        guard seconds != 0 else { return "0" }
        for unit in Self.units where seconds % unit.seconds == 0 {
            return "\(seconds / unit.seconds)\(unit.suffix)"
        }
        return "\(seconds)s"
    }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }

    /// Seconds, or days when whole (`300s`, `1d`, `36500d`): how a setting's bounds are stated.
    var boundDescription: String { seconds != 0 && seconds % 86400 == 0 ? "\(seconds / 86400)d" : "\(seconds)s" }
}

/// A limit of `count` events within a sliding window, written `5/10m`.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public var count: Int
    public var window: TimeSpan

    public init(count: Int, window: TimeSpan) {
        self.count = count
        self.window = window
    }

    /// The largest count a limit may have.
    public static let maxCount = 100_000_000

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let n = Int(parts[0].trimmingWhitespace()), n >= 0, n <= Self.maxCount,
              let w = TimeSpan(String(parts[1])), w.seconds > 0 else { return nil }
        count = n
        window = w
    }

    public var description: String { "\(count)/\(window)" }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    /// Trims spaces, tabs and line ends (Foundation-free, so it is cheap on the message path).
    /// It reads bytes: breaking the text into Characters cost more than the rest of a message's rules.
    public func trimmingWhitespace() -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d || $0 == 0x0a }
        let text = Substring(self)
        guard let first = text.utf8.firstIndex(where: { !isSpace($0) }),
              let last = text.utf8.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[first..<text.utf8.index(after: last)])
    }
}
