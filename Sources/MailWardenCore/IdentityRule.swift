// Identity rules: how the submitting customer, mailbox or script is named from what the MTA tells us.
// Config form (one rule per `identity_rule` line, ordered, first match wins):
//   PREFIX macro {auth_authen} [lowercase]
//   PREFIX header NAME /regex with (?<id>...)/[i] [lowercase]
//   PREFIX envelope_from /regex/[i] [lowercase]      (group `id` if present, else the whole match)
//   PREFIX client_address [lowercase]
// The identity is `PREFIX:value`, e.g. `sasl:alice@example.net`.
import Foundation

/// The name of one sender as MailWarden counts it: the rule's prefix and the captured value.
public typealias Identity = String

public enum IdentityForm {
    /// Whether `text` has the form of every identity, PREFIX:value.
    public static func holds(for text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        return colon != text.startIndex && text.index(after: colon) != text.endIndex
    }

    /// What an admin is told who named an identity otherwise.
    public static let hint = "an identity is PREFIX:VALUE as stored, e.g. sasl:alice@example.net (see 'mailwarden identities')"
}

/// What a message's envelope and headers say, as far as identity rules need it.
public protocol MessageFacts {
    func macro(_ name: String) -> String?
    var envelopeFrom: String? { get }
    var clientAddress: String? { get }
    /// Header values with this name, in message order (names compare case-insensitively).
    func headerValues(named name: String) -> [String]
}

/// One admin-configured way of naming the sender.
public struct IdentityRule: Sendable, CustomStringConvertible {
    public enum Source: Sendable {
        case macro(String)
        case header(name: String, pattern: BoundedPattern)
        case envelopeFrom(BoundedPattern)
        case clientAddress
    }

    public static let maxValueLength = 256

    public let prefix: String
    public let source: Source
    public let lowercase: Bool

    public init(prefix: String, source: Source, lowercase: Bool) {
        self.prefix = prefix
        self.source = source
        self.lowercase = lowercase
    }

    public enum ParseError: Error, CustomStringConvertible {
        case message(String)
        public var description: String { if case .message(let m) = self { return m }; return "" }
    }

    /// Parses the value of one `identity_rule` line.
    public init(parsing text: String) throws(ParseError) {
        var line = Substring(text.trimmingWhitespace())
        var lower = false
        if let last = line.split(whereSeparator: Self.isBlank).last, last == "lowercase", line.count > last.count {
            lower = true
            line = Substring(line[..<last.startIndex].trimmingWhitespace())
        }
        let words = line.split(whereSeparator: Self.isBlank).map(String.init)
        guard words.count >= 2 else {
            throw .message("identity_rule needs PREFIX KIND [ARGS] (e.g. `sasl macro {auth_authen} lowercase`), got `\(text)`")
        }
        let prefix = words[0]
        guard prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }), prefix.count <= 32 else {
            throw .message("identity_rule prefix `\(prefix)` may use letters, digits, `-`, `_`, `.` (32 at most)")
        }
        // The regex is the rest of the line after the fixed words, as written: spaces in it are its own.
        func pattern(after fixedWords: Int) throws(ParseError) -> BoundedPattern {
            var rest = line
            for _ in 0..<fixedWords { rest = rest.drop(while: { !Self.isBlank($0) }).drop(while: Self.isBlank) }
            do { return try BoundedPattern(delimited: String(rest)) } catch { throw .message("identity_rule \(prefix): \(error)") }
        }
        let source: Source
        switch words[1] {
        case "macro":
            guard words.count == 3, words[2].count <= 64 else {
                throw .message("identity_rule \(prefix): `macro` takes one macro name, e.g. {auth_authen}")
            }
            // The MTA knows a macro only by its exact spelling: `auth_authen` would never match.
            guard Self.isMacroName(words[2]) else {
                throw .message("identity_rule \(prefix): `\(words[2])` is not a macro name: one character (i) or a name in braces ({auth_authen})")
            }
            source = .macro(words[2])
        case "header":
            guard words.count >= 4 else {
                throw .message("identity_rule \(prefix): `header` takes NAME /regex/ with a named group (?<id>...)")
            }
            guard let name = Config.headerName(words[2]) else {
                throw .message("identity_rule \(prefix): `\(words[2])` is not a header name (printable ASCII, no spaces), e.g. X-Auth-User")
            }
            let p = try pattern(after: 3)
            guard p.hasGroup("id") else {
                throw .message("identity_rule \(prefix): the header regex \(p) has no named group (?<id>...)")
            }
            source = .header(name: name, pattern: p)
        case "envelope_from":
            guard words.count >= 3 else { throw .message("identity_rule \(prefix): `envelope_from` takes /regex/") }
            source = .envelopeFrom(try pattern(after: 2))
        case "client_address":
            guard words.count == 2 else { throw .message("identity_rule \(prefix): `client_address` takes no argument") }
            source = .clientAddress
        default:
            throw .message("identity_rule \(prefix): unknown kind `\(words[1])` (use macro, header, envelope_from or client_address)")
        }
        self.init(prefix: prefix, source: source, lowercase: lower)
    }

    private static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }

    /// Sendmail's spelling, which Postfix shares: `i`, or `{auth_authen}`.
    static func isMacroName(_ name: String) -> Bool {
        let isNameCharacter = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        if name.count == 1 { return name.first.map { $0.isASCII && !$0.isWhitespace && $0 != "{" && $0 != "}" } ?? false }
        return name.count > 2 && name.hasPrefix("{") && name.hasSuffix("}") && name.dropFirst().dropLast().allSatisfy(isNameCharacter)
    }

    /// Whether this rule can be decided before the headers arrive (at MAIL FROM).
    public var isEnvelopeRule: Bool {
        if case .header = source { return false }
        return true
    }

    /// The header this rule reads, if any.
    public var headerName: String? {
        if case .header(let name, _) = source { return name }
        return nil
    }

    /// The identity this rule names for the message, or nil when it does not match (a pattern that
    /// ran out of time does not match, and `onTimeout` is told).
    public func identity(for facts: MessageFacts, onTimeout: () -> Void = {}) -> Identity? {
        let raw: String?
        switch source {
        case .macro(let name):
            raw = facts.macro(name)
        case .header(let name, let p):
            raw = p.firstMatch(inAny: facts.headerValues(named: name), group: "id", onTimeout: onTimeout)
        case .envelopeFrom(let p):
            raw = facts.envelopeFrom.flatMap { p.firstMatch(in: Self.unbracketed($0), group: "id", onTimeout: onTimeout) }
        case .clientAddress:
            raw = facts.clientAddress
        }
        guard let value = raw.map(sanitized), !value.isEmpty else { return nil }
        return "\(prefix):\(Self.composed(lowercase ? value.lowercased() : value))"
    }

    /// A name in one spelling (NFC): the daemon's maps take canonically equivalent spellings (é as one
    /// scalar, or e and an accent) as one String, the store as two rows, and a lock or a count would
    /// hold for one and not the other. ASCII (nearly every name) is NFC already.
    public static func composed(_ name: String) -> String {
        name.utf8.allSatisfy { $0 < 0x80 } ? name : name.precomposedStringWithCanonicalMapping
    }

    /// Identities end up in logs, SQL and CSV: no control characters or spaces, bounded length.
    private func sanitized(_ value: String) -> String {
        let trimmed = value.trimmingWhitespace()
        let isControlOrSpace: (UInt8) -> Bool = { $0 <= 0x20 || $0 == 0x7f }
        // Nearly every identity is already clean: keep it without rebuilding it scalar by scalar.
        if trimmed.utf8.count <= Self.maxValueLength && !trimmed.utf8.contains(where: isControlOrSpace) { return trimmed }
        var kept = String.UnicodeScalarView()
        for scalar in trimmed.unicodeScalars.prefix(Self.maxValueLength) where !(scalar.isASCII && isControlOrSpace(UInt8(scalar.value))) {
            kept.append(scalar)
        }
        return String(kept)
    }

    /// On bytes: every recipient of every message passes here (twice), and Character-wise
    /// prefix tests cost more than the rest of a recipient's handling.
    static func unbracketed(_ address: String) -> String {
        let trimmed = address.trimmingWhitespace()
        let bytes = trimmed.utf8
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "<"), bytes.last == UInt8(ascii: ">") else { return trimmed }
        return String(trimmed[bytes.index(after: bytes.startIndex)..<bytes.index(before: bytes.endIndex)])
    }

    public var description: String {
        let lower = lowercase ? " lowercase" : ""
        switch source {
        case .macro(let m): return "\(prefix) macro \(m)\(lower)"
        case .header(let n, let p): return "\(prefix) header \(n) \(p)\(lower)"
        case .envelopeFrom(let p): return "\(prefix) envelope_from \(p)\(lower)"
        case .clientAddress: return "\(prefix) client_address\(lower)"
        }
    }
}

/// The ordered rule list; the first rule that names an identity wins.
public struct IdentityRules: Sendable {
    public let rules: [IdentityRule]

    public init(_ rules: [IdentityRule]) { self.rules = rules }

    public struct Match: Sendable, Equatable {
        public let identity: Identity
        /// The rule's position (1-based) and text, for the per-message log line.
        public let ruleIndex: Int
        public let rule: String
    }

    /// The first rule's identity; `onTimeout` hears of each rule whose pattern ran out of time.
    public func resolve(_ facts: MessageFacts, onTimeout: (IdentityRule) -> Void = { _ in }) -> Match? {
        for (i, rule) in rules.enumerated() {
            if let id = rule.identity(for: facts, onTimeout: { onTimeout(rule) }) {
                return Match(identity: id, ruleIndex: i + 1, rule: rule.description)
            }
        }
        return nil
    }

    /// Resolves at MAIL FROM only when no header rule stands before the envelope rule that matches:
    /// otherwise a header seen later could still win, and deciding early would name the wrong sender.
    public func resolveBeforeHeaders(_ facts: MessageFacts, onTimeout: (IdentityRule) -> Void = { _ in }) -> Match? {
        for (i, rule) in rules.enumerated() {
            guard rule.isEnvelopeRule else { return nil }
            if let id = rule.identity(for: facts, onTimeout: { onTimeout(rule) }) {
                return Match(identity: id, ruleIndex: i + 1, rule: rule.description)
            }
        }
        return nil
    }

    /// Why no rule here can name `identity` (a prefix no rule has, capitals where every rule of its
    /// prefix lower-cases, a space), or nil when one can: a lock or an exemption of such a name
    /// would never apply to any message.
    public func whyNoRuleNames(_ identity: Identity) -> String? {
        guard let colon = identity.firstIndex(of: ":") else { return IdentityForm.hint }
        let prefix = String(identity[..<colon])
        let value = identity[identity.index(after: colon)...]
        let naming = rules.filter { $0.prefix == prefix }
        guard !naming.isEmpty else {
            let known = Set(rules.map(\.prefix)).sorted().joined(separator: ", ")
            return "no identity_rule names identities \(prefix):… (this config's prefixes: \(known.isEmpty ? "none" : known))"
        }
        if value.unicodeScalars.count > IdentityRule.maxValueLength || value.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) {
            return "no identity holds spaces or control characters, or more than \(IdentityRule.maxValueLength) characters after its prefix"
        }
        if naming.allSatisfy(\.lowercase), value.lowercased() != value {
            return "identity_rule \(prefix) lower-cases what it names: \(prefix):\(value.lowercased())"
        }
        return nil
    }

    /// Lower-cased names of the headers some rule reads.
    public var headerNames: Set<String> { Set(rules.compactMap { $0.headerName?.lowercased() }) }
}
