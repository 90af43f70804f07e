// RFC 5322 header blocks: fields, folding, encoded words. Lenient where real abuse mail is broken:
// an mbox `From ` line or blank-looking lines of spaces before the first field are skipped; a line
// that is neither a field nor a continuation continues the field before it when a header block goes
// on after it to its blank line (a field hard-wrapped by a mail client or a copy); else it ends the
// block (the body starts there), as if the blank line were missing.

/// One header field, unfolded, with RFC 2047 encoded words decoded.
public struct HeaderField: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == HeaderField {
    /// The first value of field `name` (compared case-insensitively).
    public func value(_ name: String) -> String? {
        first { $0.name.equalsIgnoringCase(name) }?.value
    }

    /// Every value of field `name`, in order.
    public func values(_ name: String) -> [String] {
        filter { $0.name.equalsIgnoringCase(name) }.map(\.value)
    }
}

extension String {
    /// ASCII case-insensitive equality, enough for header and parameter names.
    func equalsIgnoringCase(_ other: String) -> Bool {
        utf8.count == other.utf8.count && lowercased() == other.lowercased()
    }
}

enum HeaderParser {
    /// Structured fields, where RFC 2047 allows no encoded words. Decoded, an Authentication-Results
    /// field could show an authserv-id only here: the milter, which reads the field as written, would
    /// not remove it as forged in our name, and the desk would then believe it.
    static let undecodedFields: Set<String> = ["authentication-results"]

    /// Reads the header block at the start of `bytes`: its fields and where the body starts.
    /// Encoded words are decoded while the work budget lasts; past it a value stays as written.
    static func parse(_ bytes: ArraySlice<UInt8>, budget: DecodeBudget = DecodeBudget()) -> (fields: [HeaderField], bodyStart: Int) {
        var fields: [HeaderField] = []
        var name: String?
        var value: [UInt8] = []
        var sawLine = false
        var wrapsLeft = maxHardWrappedLines

        func flush() {
            guard let n = name else { return }
            if fields.count < ReportLimits.maxHeaderCount {
                let start = value.firstIndex { !ASCII.isWhitespace($0) } ?? value.endIndex
                let end = value.lastIndex { !ASCII.isWhitespace($0) }.map { $0 + 1 } ?? start
                let text = String(mailBytes: value[start..<max(start, end)])
                let decodes = text.includes("=?") && !undecodedFields.contains(n.lowercased())
                    && budget.spend(text.utf8.count * ReportLimits.stepsPerEncodedWordByte)
                fields.append(HeaderField(name: n, value: decodes ? EncodedWords.decode(text) : text))
            }
            name = nil
            value = []
        }

        for line in ByteLines(bytes) {
            let content = bytes[line.content]
            defer { sawLine = true }
            guard let first = content.first else {
                flush()
                return (fields, line.next)
            }
            if ASCII.isWhitespace(first) && name != nil {
                // Unfolding removes the line break and keeps the whitespace that follows it.
                value.append(contentsOf: content.prefix(ReportLimits.maxHeaderValueBytes - value.count))
                continue
            }
            if !sawLine && (content.starts(with: Array("From ".utf8)) || content.starts(with: Array(">From ".utf8)))
                || fields.isEmpty && name == nil && content.allSatisfy(ASCII.isWhitespace) {
                continue
            }
            guard let fieldName = Self.fieldName(content) else {
                if name != nil && wrapsLeft > 0 && Self.headerBlockGoesOn(bytes[line.next...]) {
                    wrapsLeft -= 1
                    value.append(contentsOf: ([ASCII.space] + content).prefix(max(0, ReportLimits.maxHeaderValueBytes - value.count)))
                    continue
                }
                flush()
                return (fields, line.content.lowerBound)
            }
            flush()
            name = fieldName.name
            value = Array(content[(fieldName.colon + 1)...].prefix(ReportLimits.maxHeaderValueBytes))
        }
        flush()
        return (fields, bytes.endIndex)
    }

    /// Hard-wrapped lines taken back into their field, at most, per block: each costs a look ahead.
    private static let maxHardWrappedLines = 16

    /// Whether `rest` is the remainder of a header block: mostly fields and folded lines, then the
    /// blank line, within 200 lines and 256 KiB. A body that merely starts with a field has more
    /// lines of text than fields before its first blank line, or none.
    private static func headerBlockGoesOn(_ rest: ArraySlice<UInt8>) -> Bool {
        var fields = 0
        var otherLines = 0
        let window = rest.prefix(256 << 10)
        for line in ByteLines(window).prefix(200) {
            let content = window[line.content]
            guard let first = content.first else { return fields > otherLines }
            if ASCII.isWhitespace(first) { continue }
            if fieldName(content) != nil { fields += 1 } else { otherLines += 1 }
        }
        return false
    }

    /// The field name of a line `Name: value` (whitespace before the colon tolerated), or nil.
    private static func fieldName(_ line: ArraySlice<UInt8>) -> (name: String, colon: Int)? {
        guard let colon = line.firstIndex(of: ASCII.colon), colon > line.startIndex, colon - line.startIndex <= 128 else {
            return nil
        }
        var nameEnd = colon
        while nameEnd > line.startIndex && ASCII.isWhitespace(line[nameEnd - 1]) { nameEnd -= 1 }
        let name = line[line.startIndex..<nameEnd]
        guard !name.isEmpty, name.allSatisfy({ (33...126).contains($0) }) else { return nil }
        return (String(decoding: name, as: UTF8.self), colon)
    }
}
