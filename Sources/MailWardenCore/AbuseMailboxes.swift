// Which recipients are our abuse mailboxes: exact addresses or simple `*` patterns, compared
// case-insensitively on the bare address (no angle brackets, no regex: a stranger controls the input),
// and only where this server delivers the mail itself. A customer writing to another provider's
// abuse@ must reach that provider: `abuse@*` must never swallow it.

public struct AbuseMailboxes: Sendable {
    public let patterns: [String]
    /// The patterns' bytes, made once: every recipient of every message is matched against them.
    private let patternBytes: [[UInt8]]
    /// `abuse_domains`: the domains whose abuse mailboxes are ours. Empty: the MTA's {rcpt_mailer} decides.
    public let domains: Set<String>

    public init(_ patterns: [String], domains: [String] = []) {
        self.patterns = patterns.map { $0.lowercased() }
        patternBytes = self.patterns.map { Array($0.utf8) }
        self.domains = Set(domains.map { $0.lowercased() })
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// The mailers (Postfix transports, Sendmail mailers) that hand mail to another server ...
    static let remoteMailers: Set<String> = ["smtp", "relay", "esmtp", "smtp8", "dsmtp"]
    /// ... and those that deliver into this server's mailboxes, or the programs and mailbox servers behind it.
    static let localMailers: Set<String> = ["local", "virtual", "lmtp", "dovecot", "maildrop", "cyrus", "cyrusv2", "procmail",
                                            "prog", "*file*", "*include*", "mailwarden"]

    /// Whether mail to `recipient` is a report for our own desk: it matches a pattern and is
    /// delivered here. `abuse_domains`, when set, names our domains; else the MTA's {rcpt_mailer}
    /// says where the recipient goes: a local mailer, here; smtp or relay, elsewhere (another
    /// provider, or a domain we are only the backup MX of). A mailer of another name (an outbound
    /// transport an admin named, such as `smtp-ip2`, or a pipe), or none, proves nothing: then a
    /// stranger's mail is ours (the MTA accepts it only for the domains it serves), and a customer's
    /// is not, since taking a customer's complaint to another provider's abuse@ would lose it.
    public func diverts(_ recipient: String, mailer: String?, fromStranger: Bool) -> Bool {
        guard contains(recipient) else { return false }
        if !domains.isEmpty {
            let address = IdentityRule.unbracketed(recipient).lowercased()
            return address.split(separator: "@").last.map { domains.contains(String($0)) } ?? false
        }
        let mailer = mailer?.lowercased() ?? ""
        if Self.localMailers.contains(mailer) { return true }
        if Self.remoteMailers.contains(mailer) { return false }
        return fromStranger
    }

    public func contains(_ recipient: String) -> Bool {
        let bare = IdentityRule.unbracketed(recipient)
        // An ASCII address (nearly all) is lowercased byte by byte; Unicode's lowercasing costs more
        // (and may change the length, so the cap is taken after it).
        let address = bare.utf8.allSatisfy { $0 < 0x80 }
            ? bare.utf8.map(\.asciiLowercased)
            : Array(bare.lowercased().utf8)
        guard address.count <= 320 else { return false }
        return patternBytes.contains { Self.glob($0, address) }
    }

    /// `*` matches any run of characters; everything else matches itself. Greedy, going back only
    /// to the last `*`: a pattern of many stars costs at most its length times the address's,
    /// where trying every split at every star would cost the address's length to the power of the stars.
    static func glob(_ p: [UInt8], _ t: [UInt8]) -> Bool {
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
