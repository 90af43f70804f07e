// RFC 2047 encoded words in header values: `=?charset?B?...?=` and `=?charset?Q?...?=`.
// Adjacent words are joined without the whitespace between them, and the bytes of adjacent words
// in one charset are decoded together, because mailers split multi-byte characters across words.

enum EncodedWords {
    static func decode(_ value: String) -> String {
        guard value.includes("=?") else { return value }
        let u = Array(value.utf8)
        var out = ""
        var literalStart = 0
        var pending: (charset: String, bytes: [UInt8])?
        var i = 0
        while i < u.count {
            guard u[i] == ASCII.equals, i + 1 < u.count, u[i + 1] == UInt8(ascii: "?") else {
                i += 1
                continue
            }
            let (found, resume) = parseWord(u, at: i)
            guard let word = found else {
                i = resume
                continue
            }
            let literal = u[literalStart..<i]
            // Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
            let betweenWords = pending != nil && literal.allSatisfy { ASCII.isWhitespace($0) || $0 == ASCII.cr || $0 == ASCII.lf }
            if let p = pending, !betweenWords || !p.charset.equalsIgnoringCase(word.charset) {
                out += Charset(name: p.charset).decode(p.bytes)
                pending = nil
            }
            if !betweenWords { out += String(decoding: literal, as: UTF8.self) }
            if pending == nil {
                pending = (word.charset, word.bytes)
            } else {
                pending?.bytes += word.bytes
            }
            i = word.end
            literalStart = i
        }
        if let p = pending { out += Charset(name: p.charset).decode(p.bytes) }
        out += String(decoding: u[literalStart...], as: UTF8.self)
        return out
    }

    /// The encoded word at `start`, or else where the next one may start. A word whose text runs
    /// into whitespace or the end of the value rules out every word starting before that point
    /// (their text would run into it too), so the search resumes there: a value of thousands of
    /// unterminated `=?` costs its length, not its length squared.
    private static func parseWord(_ u: [UInt8], at start: Int) -> (word: (charset: String, bytes: [UInt8], end: Int)?, resume: Int) {
        let question = UInt8(ascii: "?")
        var i = start + 2
        let charsetStart = i
        while i < u.count && u[i] != question && !ASCII.isWhitespace(u[i]) && i - charsetStart < 64 { i += 1 }
        guard i < u.count, u[i] == question, i > charsetStart else { return (nil, start + 1) }
        let charset = String(decoding: u[charsetStart..<i], as: UTF8.self)
        guard i + 2 < u.count, u[i + 2] == question else { return (nil, start + 1) }
        let encoding = u[i + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return (nil, start + 1) }
        i += 3
        let textStart = i
        while i + 1 < u.count && !(u[i] == question && u[i + 1] == ASCII.equals) {
            if ASCII.isWhitespace(u[i]) { return (nil, i) }
            i += 1
        }
        guard i + 1 < u.count else { return (nil, u.count) }
        let text = u[textStart..<i]
        let decoded = encoding == UInt8(ascii: "b")
            ? Base64.decode(text, limit: ReportLimits.maxHeaderValueBytes).bytes
            : QuotedPrintable.decode(text, limit: ReportLimits.maxHeaderValueBytes, underscoreIsSpace: true).bytes
        return ((charset, decoded, i + 2), i + 2)
    }
}
