// An `Authentication-Results` header field value (RFC 8601 section 2.2): the authserv-id, then
// `method=result` statements, each with an optional `reason=` and `ptype.property=value` pairs.
// Entry point: `AuthenticationResults(_:)`, nil when the value is too long, has too many results or
// no readable authserv-id. Comments are skipped anywhere, quoted strings are unquoted, names are
// lowercased. Real fields bend the grammar, so a statement that does not parse is dropped (up to the
// next `;` outside quotes and comments) and the rest is kept; a dropped statement can only lose a
// pass, never make one. Never traps: every read checks its index.

/// One parsed `Authentication-Results` field.
public struct AuthenticationResults: Sendable, Equatable {
    /// Longer values are refused whole, not cut: a cut could turn `header.d=isp.example.evil.net`
    /// into `header.d=isp.example`.
    public static let maxValueBytes = 8192
    /// More statements than this and the field is refused whole (no MX writes that many).
    public static let maxResults = 64

    /// Who wrote the field, lowercased; only ids the admin trusts are believed (RFC 8601 section 5).
    public let authservID: String
    /// In field order; empty for `none`.
    public let results: [MethodResult]

    /// One `method=result` statement.
    public struct MethodResult: Sendable, Equatable {
        /// Lowercased, without a `/version`: dkim, spf, dmarc, arc, ...
        public let method: String
        /// Lowercased: pass, fail, softfail, none, neutral, temperror, permerror, ...
        public let result: String
        public let reason: String?
        public let properties: [Property]

        public init(method: String, result: String, reason: String?, properties: [Property]) {
            self.method = method
            self.result = result
            self.reason = reason
            self.properties = properties
        }

        /// The first value of `ptype.property`, e.g. `value(of: "header", "d")`; names are lowercase.
        public func value(of ptype: String, _ property: String) -> String? {
            properties.first { $0.ptype == ptype && $0.property == property }?.value
        }
    }

    /// One `ptype.property=value` pair: `header.d=example.com`, `smtp.mailfrom=a@example.com`.
    public struct Property: Sendable, Equatable {
        /// Lowercased: smtp, header, body, policy.
        public let ptype: String
        /// Lowercased: mailfrom, helo, d, i, from, ...
        public let property: String
        /// As written, with quotes and comments removed.
        public let value: String

        public init(ptype: String, property: String, value: String) {
            self.ptype = ptype
            self.property = property
            self.value = value
        }
    }

    /// Whether `text` can be an authserv-id as a setting: an RFC 2045 token (a quoted one with spaces
    /// could not be listed), as MTAs write it, e.g. mx.example.net.
    public static func isAuthservID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255 && text.utf8.allSatisfy(FieldScanner.isTokenByte)
    }

    /// The authserv-id a field claims, lowercased, read as `init` reads it: what the milter needs to
    /// remove forged fields. Read from the start however long the field is, so that no field the
    /// desk would read escapes: the desk caps a field at `maxValueBytes` once unfolded, and the MTA's
    /// value has a line break more per fold, at most one per byte kept.
    public static func claimedAuthservID(_ fieldValue: String) -> String? {
        var scanner = FieldScanner(Array(fieldValue.utf8.prefix(2 * Self.maxValueBytes)))
        return scanner.readAuthservID()
    }

    /// A field as parsed before, e.g. read back from the parser process's answer.
    public init(authservID: String, results: [MethodResult]) {
        self.authservID = authservID
        self.results = results
    }

    public init?(_ fieldValue: String) {
        guard fieldValue.utf8.count <= Self.maxValueBytes else { return nil }
        var scanner = FieldScanner(Array(fieldValue.utf8))
        guard let id = scanner.readAuthservID() else { return nil }

        var results: [MethodResult] = []
        while scanner.peek() == UInt8(ascii: ";") {
            scanner.advance()
            scanner.skipCFWS()
            guard let byte = scanner.peek() else { break }
            if byte == UInt8(ascii: ";") { continue }
            if let result = scanner.readStatement() {
                results.append(result)
                guard results.count <= Self.maxResults else { return nil }
            } else {
                scanner.skipStatement()
            }
        }
        authservID = id
        self.results = results
    }
}

/// A cursor over the field's bytes with the lexical rules of RFC 5322 and RFC 2045.
private struct FieldScanner {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func advance() { if position < bytes.count { position += 1 } }

    /// Skips white space, line breaks and comments; comments nest and may hold quoted pairs. An
    /// unclosed comment runs to the end of the value.
    mutating func skipCFWS() {
        var depth = 0
        while let b = peek() {
            if b == UInt8(ascii: "\\") && depth > 0 {
                advance()
            } else if b == UInt8(ascii: "(") {
                depth += 1
            } else if b == UInt8(ascii: ")") && depth > 0 {
                depth -= 1
            } else if depth == 0 && !Self.isWhitespace(b) {
                return
            }
            advance()
        }
    }

    /// A `method=result` statement with its reason and properties, or nil when it does not parse
    /// (the cursor is then somewhere inside it). `none` alone also gives nil: it states no result.
    mutating func readStatement() -> AuthenticationResults.MethodResult? {
        guard let method = readKeyword() else { return nil }
        skipCFWS()
        if peek() == UInt8(ascii: "/") {
            // A method version (`dkim/1`); nothing here depends on it.
            advance()
            skipCFWS()
            guard skipDigits() else { return nil }
            skipCFWS()
        }
        guard peek() == UInt8(ascii: "=") else { return nil }
        advance()
        skipCFWS()
        guard let result = readKeyword() else { return nil }

        var reason: String?
        var properties: [AuthenticationResults.Property] = []
        while true {
            skipCFWS()
            guard let b = peek(), b != UInt8(ascii: ";") else { break }
            guard let name = readKeyword() else { return nil }
            skipCFWS()
            if peek() == UInt8(ascii: ".") {
                advance()
                skipCFWS()
                guard let property = readKeyword() else { return nil }
                skipCFWS()
                guard peek() == UInt8(ascii: "=") else { return nil }
                advance()
                skipCFWS()
                guard let value = readPropertyValue() else { return nil }
                properties.append(.init(ptype: name, property: property, value: value))
            } else if peek() == UInt8(ascii: "=") {
                advance()
                skipCFWS()
                // `reason=` is the RFC's; other bare `key=value` pairs (Exchange's `action=none`)
                // are not in the grammar, carry nothing we use and are read past.
                guard let value = readPropertyValue() else { return nil }
                if name == "reason" { reason = value }
            } else {
                return nil
            }
        }
        return AuthenticationResults.MethodResult(method: method, result: result, reason: reason, properties: properties)
    }

    /// Moves past the rest of a statement that did not parse: to the next `;` outside quoted
    /// strings and comments, or to the end.
    mutating func skipStatement() {
        while let b = peek(), b != UInt8(ascii: ";") {
            if b == UInt8(ascii: "\"") {
                _ = readQuoted()
            } else if b == UInt8(ascii: "(") {
                skipCFWS()
            } else {
                advance()
            }
        }
    }

    /// RFC 5321 Keyword (letters, digits, `-`; `_` too, which some filters use), lowercased.
    mutating func readKeyword() -> String? {
        let start = position
        while let b = peek(), Self.isKeywordByte(b) { advance() }
        guard position > start else { return nil }
        return String(decoding: bytes[start..<position], as: UTF8.self).lowercased()
    }

    /// The authserv-id and optional version up to the first `;`, lowercased. Without a `;` the
    /// "authserv-id" was really a statement (Exchange writes fields without an id): nil.
    mutating func readAuthservID() -> String? {
        skipCFWS()
        guard let id = readValue(), !id.isEmpty else { return nil }
        skipCFWS()
        // The optional authres-version; nothing here depends on it.
        if skipDigits() { skipCFWS() }
        guard peek() == UInt8(ascii: ";") else { return nil }
        return id.asciiLowercased
    }

    /// Moves past a run of digits (a version number); false when there is none.
    mutating func skipDigits() -> Bool {
        let start = position
        while let b = peek(), b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { advance() }
        return position > start
    }

    /// RFC 2045 value: a quoted string or a token.
    mutating func readValue() -> String? {
        if peek() == UInt8(ascii: "\"") { return readQuoted() }
        let start = position
        while let b = peek(), Self.isTokenByte(b) { advance() }
        guard position > start else { return nil }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A property's value: a quoted string (followed by `@domain` when it was a quoted local-part),
    /// or a run of visible characters. Wider than RFC 2045's token because real fields write
    /// `header.b=ab+/cd`, `smtp.mailfrom=a@b` and UTF-8 local-parts unquoted.
    mutating func readPropertyValue() -> String? {
        var value = ""
        if peek() == UInt8(ascii: "\"") {
            guard let quoted = readQuoted() else { return nil }
            value = quoted
            guard peek() == UInt8(ascii: "@") else { return value }
        }
        let start = position
        while let b = peek(), Self.isBareValueByte(b) { advance() }
        value += String(decoding: bytes[start..<position], as: UTF8.self)
        return value.isEmpty ? nil : value
    }

    /// The unescaped content of a quoted string, or nil when it is not closed.
    mutating func readQuoted() -> String? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        advance()
        var content: [UInt8] = []
        while let b = peek() {
            advance()
            if b == UInt8(ascii: "\"") { return String(decoding: content, as: UTF8.self) }
            if b == UInt8(ascii: "\\") {
                guard let escaped = peek() else { return nil }
                advance()
                content.append(escaped)
            } else {
                content.append(b)
            }
        }
        return nil
    }

    static func isWhitespace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
    }

    static func isKeywordByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    /// RFC 2045 token: visible ASCII except tspecials.
    static func isTokenByte(_ b: UInt8) -> Bool {
        b > 0x20 && b < 0x7F && !"()<>@,;:\\\"/[]?=".utf8.contains(b)
    }

    /// Visible characters (UTF-8 included) that cannot end a value: not white space, control
    /// characters, `;`, comment parentheses or quotes.
    static func isBareValueByte(_ b: UInt8) -> Bool {
        b > 0x20 && b != 0x7F && b != UInt8(ascii: ";") && b != UInt8(ascii: "(") && b != UInt8(ascii: ")")
            && b != UInt8(ascii: "\"")
    }
}
