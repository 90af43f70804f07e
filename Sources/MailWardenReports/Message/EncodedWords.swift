// RFC 2047 encoded words in header values: `=?charset?B?...?=` and `=?charset?Q?...?=`.
// Adjacent words are joined without the whitespace between them, and the bytes of adjacent words
// in one charset are decoded together, because mailers split multi-byte characters across words.

enum EncodedWords {
    static func decode(_ value: String) -> String {
        guard value.includes("=?") else { return value }
        let u = Array(value.utf8)
        let ends = WordEnds(u)
        var out = ""
        var literalStart = 0
        var pending: (charset: String, bytes: [UInt8])?
        var i = 0
        while i < u.count {
            guard u[i] == ASCII.equals, i + 1 < u.count, u[i + 1] == UInt8(ascii: "?"),
                  let word = parseWord(u, at: i, ends: ends) else {
                i += 1
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

    /// For each position of a value, where the next `?=` and the next whitespace are: with them a
    /// candidate word is checked in constant time, so a value of thousands of unterminated `=?`
    /// costs its length, not its length squared.
    private struct WordEnds {
        let nextTerminator: [Int]
        let nextWhitespace: [Int]

        init(_ u: [UInt8]) {
            var terminator = [Int](repeating: u.count, count: u.count + 1)
            var whitespace = [Int](repeating: u.count, count: u.count + 1)
            for i in u.indices.reversed() {
                terminator[i] = i + 1 < u.count && u[i] == UInt8(ascii: "?") && u[i + 1] == ASCII.equals ? i : terminator[i + 1]
                whitespace[i] = ASCII.isWhitespace(u[i]) ? i : whitespace[i + 1]
            }
            nextTerminator = terminator
            nextWhitespace = whitespace
        }
    }

    private static func parseWord(_ u: [UInt8], at start: Int, ends: WordEnds) -> (charset: String, bytes: [UInt8], end: Int)? {
        let question = UInt8(ascii: "?")
        var i = start + 2
        let charsetStart = i
        while i < u.count && u[i] != question && !ASCII.isWhitespace(u[i]) && i - charsetStart < 64 { i += 1 }
        guard i < u.count, u[i] == question, i > charsetStart else { return nil }
        let charset = String(decoding: u[charsetStart..<i], as: UTF8.self)
        guard i + 2 < u.count, u[i + 2] == question else { return nil }
        let encoding = u[i + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        let textStart = i + 3
        i = ends.nextTerminator[textStart]
        guard i < u.count, ends.nextWhitespace[textStart] > i else { return nil }
        let text = u[textStart..<i]
        let decoded = encoding == UInt8(ascii: "b")
            ? Base64.decode(text, limit: ReportLimits.maxHeaderValueBytes).bytes
            : QuotedPrintable.decode(text, limit: ReportLimits.maxHeaderValueBytes, underscoreIsSpace: true).bytes
        return (charset, decoded, i + 2)
    }
}
