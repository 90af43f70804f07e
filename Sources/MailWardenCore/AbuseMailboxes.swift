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

    /// `*` matches any run of characters; everything else matches itself. Greedy, going back only
    /// to the last `*`: a pattern of many stars costs at most its length times the address's,
    /// where trying every split at every star would cost the address's length to the power of the stars.
    static func glob(_ pattern: Substring, _ text: Substring) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        let star = UInt8(ascii: "*")
        var pi = 0
        var ti = 0
        var lastStar: (pattern: Int, text: Int)?
        while ti < t.count {
            if pi < p.count && p[pi] == star {
                lastStar = (pi, ti)
                pi += 1
            } else if pi < p.count && p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if let s = lastStar {
                // The last star takes one more character; everything after it is matched again.
                lastStar = (s.pattern, s.text + 1)
                pi = s.pattern + 1
                ti = s.text + 1
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == star { pi += 1 }
        return pi == p.count
    }
}
