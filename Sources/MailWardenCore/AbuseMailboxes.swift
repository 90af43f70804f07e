// Which recipients are abuse mailboxes: exact addresses or simple `*` patterns, compared
// case-insensitively on the bare address (no angle brackets, no regex: a stranger controls the input).

public struct AbuseMailboxes: Sendable {
    public let patterns: [String]

    public init(_ patterns: [String]) { self.patterns = patterns.map { $0.lowercased() } }

    public var isEmpty: Bool { patterns.isEmpty }

    public func contains(_ recipient: String) -> Bool {
        let address = IdentityRule.unbracketed(recipient).lowercased()
        guard address.utf8.count <= 320 else { return false }
        return patterns.contains { Self.glob($0[...], address[...]) }
    }

    /// `*` matches any run of characters; everything else matches itself.
    static func glob(_ pattern: Substring, _ text: Substring) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return pattern == text }
        let head = pattern[..<star]
        guard text.hasPrefix(head) else { return false }
        let rest = pattern[pattern.index(after: star)...]
        var t = text.dropFirst(head.count)
        while true {
            if glob(rest, t) { return true }
            guard !t.isEmpty else { return false }
            t = t.dropFirst()
        }
    }
}
