// The MIME tree of one message (RFC 2045/2046): multiparts nested to `ReportLimits.maxMIMEDepth`,
// transfer encodings decoded, `message/rfc822` and `text/rfc822-headers` parsed as messages of
// their own. Never fails: a multipart whose boundary never shows (or is never declared) is read as one text part, a
// multipart with no closing boundary ends at the end of the input (and is marked truncated), and
// whatever lies past a cap is dropped and marked truncated.
import MailWardenCore

/// A `type/subtype; name=value` header such as Content-Type or Content-Disposition.
struct HeaderParameters {
    /// The part before the first `;`, lower-cased (`text/plain`, `attachment`).
    let token: String
    /// Parameter names lower-cased; RFC 2231 continuations and charsets resolved.
    let parameters: [String: String]

    init(_ header: String?) {
        let pieces = Self.splitUnquoted(header ?? "")
        token = pieces.first?.trimmingWhitespace().lowercased() ?? ""
        var plain: [String: String] = [:]
        var extended: [String: [(index: Int, value: String, encoded: Bool)]] = [:]
        for piece in pieces.dropFirst() {
            guard let eq = piece.firstIndex(of: "=") else { continue }
            let rawName = piece[..<eq].trimmingWhitespace().lowercased()
            let value = Self.unquote(piece[piece.index(after: eq)...].trimmingWhitespace())
            // RFC 2231: `name*=charset'lang'%XX`, `name*0=...`, `name*1*=...`.
            if let star = rawName.firstIndex(of: "*") {
                let base = String(rawName[..<star])
                let suffix = rawName[rawName.index(after: star)...]
                let encoded = suffix.hasSuffix("*") || suffix.isEmpty
                let index = Int(suffix.trimming(["*"])) ?? 0
                extended[base, default: []].append((index, value, encoded))
            } else {
                plain[rawName] = value
            }
        }
        for (name, sections) in extended {
            let ordered = sections.sorted { $0.index < $1.index }
            var charset: String?
            var bytes: [UInt8] = []
            for section in ordered {
                var text = Substring(section.value)
                if section.encoded && section.index == 0 {
                    let fields = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                    if fields.count == 3 {
                        charset = String(fields[0])
                        text = fields[2]
                    }
                }
                bytes += section.encoded ? Self.percentDecoded(text) : Array(text.utf8)
            }
            plain[name] = Charset(name: charset).decode(bytes)
        }
        parameters = plain
    }

    subscript(name: String) -> String? { parameters[name] }

    /// Splits at `;` outside double quotes.
    private static func splitUnquoted(_ text: String) -> [Substring] {
        var pieces: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "\\" && quoted {
                i = text.index(after: i)
                if i < text.endIndex { i = text.index(after: i) }
                continue
            }
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted {
                pieces.append(text[start..<i])
                start = text.index(after: i)
            }
            i = text.index(after: i)
        }
        pieces.append(text[start...])
        return pieces
    }

    private static func unquote(_ value: String) -> String {
        guard value.hasPrefix("\""), value.count >= 2 else { return value }
        var out = ""
        var escaped = false
        for c in value.dropFirst() {
            if escaped {
                out.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                break
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func percentDecoded(_ text: Substring) -> [UInt8] {
        let u = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let byte = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(byte)
                i += 3
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return out
    }
}

/// One node of a message's MIME tree.
struct MIMEPart {
    let headers: [HeaderField]
    /// `type/subtype`, lower-cased.
    let mediaType: String
    let contentType: HeaderParameters
    let disposition: HeaderParameters
    /// The transfer-decoded body of a leaf part; empty for a multipart. For an attached message
    /// it is the whole message, also parsed into `parts`.
    let body: [UInt8]
    /// A multipart's parts, or the one message an attached message or header part holds.
    let parts: [MIMEPart]
    /// Something was cut: a cap, a missing closing boundary, or a part past the part budget.
    let isTruncated: Bool

    var isMultipart: Bool { mediaType.hasPrefix("multipart/") }

    /// The file name from Content-Disposition, else from Content-Type's `name`.
    var filename: String? { disposition["filename"] ?? contentType["name"] }

    /// A part the sender meant as a file rather than as the text of the message.
    var isAttachment: Bool { disposition.token == "attachment" || filename != nil }

    /// The body as text in its declared charset (at most `ReportLimits.maxDocumentBytes` of it), every
    /// line ending (CRLF, bare CR) made LF, as the readers split lines at LF.
    var text: String {
        let decoded = Charset(name: contentType["charset"]).decode(Array(body.prefix(ReportLimits.maxDocumentBytes)))
        guard decoded.utf8.contains(ASCII.cr) else { return decoded }
        // Every line ends in LF for the readers: "\r\n" is one Character in Swift, so a CRLF text
        // split on "\n" is one line (its boilerplate filter dropped whole complaints with it).
        var lines: [UInt8] = []
        lines.reserveCapacity(decoded.utf8.count)
        var afterCR = false
        for byte in decoded.utf8 {
            if !(byte == ASCII.lf && afterCR) { lines.append(byte == ASCII.cr ? ASCII.lf : byte) }
            afterCR = byte == ASCII.cr
        }
        return String(decoding: lines, as: UTF8.self)
    }

    /// Parses a whole message (or an attached one, one level down).
    static func parse(_ bytes: ArraySlice<UInt8>, depth: Int = 0, budget: DecodeBudget,
                      defaultType: String = "text/plain") -> MIMEPart {
        // Every level scans its bytes again (headers, boundaries, decoding): nesting costs work.
        guard budget.spend(bytes.count) else {
            return MIMEPart(headers: [], mediaType: defaultType, contentType: HeaderParameters(nil), disposition: HeaderParameters(nil),
                            body: [], parts: [], isTruncated: true)
        }
        let (headers, bodyStart) = HeaderParser.parse(bytes, budget: budget)
        let contentType = HeaderParameters(headers.value("Content-Type"))
        let disposition = HeaderParameters(headers.value("Content-Disposition"))
        let mediaType = contentType.token.contains("/") ? contentType.token : defaultType
        let encoding = TransferEncoding(header: headers.value("Content-Transfer-Encoding"))
        let raw = bytes[bodyStart...]
        let canDescend = depth < ReportLimits.maxMIMEDepth

        func decoded() -> (bytes: [UInt8], truncated: Bool) {
            let result = encoding.decode(raw, limit: budget.bytesLeft)
            budget.consume(result.bytes.count)
            return result
        }

        if mediaType.hasPrefix("multipart/"), canDescend {
            let declared = contentType["boundary"].flatMap { $0.isEmpty ? nil : Array("--\($0)".utf8) }
            func sections(_ bytes: ArraySlice<UInt8>) -> (sections: [ArraySlice<UInt8>], closed: Bool) {
                let split = declared.map { splitMultipart(bytes, boundary: $0) } ?? (sections: [], closed: false)
                // Some generators write another boundary than the one they declare, or declare none
                // (a `boundary=` line left unfolded).
                guard split.sections.isEmpty, let written = repeatedBoundaryLine(in: bytes) else { return split }
                return splitMultipart(bytes, boundary: written)
            }
            var body = (bytes: raw, truncated: false)
            var isDecoded = false
            var split = sections(raw)
            // A transfer encoding on a multipart is not allowed, but some generators add one: some
            // encode the body, others only say so (a boundary line is never base64, so the raw
            // body splitting on it means it was not encoded).
            if split.sections.isEmpty, encoding != .identity {
                let d = decoded()
                body = (d.bytes[...], d.truncated)
                isDecoded = true
                split = sections(body.bytes)
            }
            guard split.sections.isEmpty else {
                let childType = mediaType == "multipart/digest" ? "message/rfc822" : "text/plain"
                var parts: [MIMEPart] = []
                var truncated = body.truncated || !split.closed
                for section in split.sections {
                    guard budget.takePart() else {
                        truncated = true
                        break
                    }
                    parts.append(parse(section, depth: depth + 1, budget: budget, defaultType: childType))
                }
                return MIMEPart(headers: headers, mediaType: mediaType, contentType: contentType, disposition: disposition, body: [],
                                parts: parts, isTruncated: truncated)
            }
            // No boundary line at all: the body is all there is, read as text.
            let text = isDecoded ? (bytes: Array(body.bytes), truncated: body.truncated) : decoded()
            return MIMEPart(headers: headers, mediaType: "text/plain", contentType: contentType, disposition: disposition, body: text.bytes,
                            parts: [], isTruncated: text.truncated)
        }

        let d = decoded()
        var parts: [MIMEPart] = []
        let holdsMessage = ["message/rfc822", "message/global", "text/rfc822-headers", "text/rfc822-header"].contains(mediaType)
        if holdsMessage, canDescend, budget.takePart() {
            parts = [parse(d.bytes[...], depth: depth + 1, budget: budget)]
        }
        return MIMEPart(headers: headers, mediaType: mediaType, contentType: contentType, disposition: disposition, body: d.bytes,
                        parts: parts, isTruncated: d.truncated)
    }

    /// The sections between `--boundary` lines; `closed` when the `--boundary--` line was seen.
    private static func splitMultipart(_ body: ArraySlice<UInt8>, boundary delimiter: [UInt8]) -> (sections: [ArraySlice<UInt8>], closed: Bool) {
        var sections: [ArraySlice<UInt8>] = []
        var sectionStart: Int?
        for line in ByteLines(body) {
            let content = body[line.content]
            guard content.count >= delimiter.count, content.first == ASCII.hyphen, content.starts(with: delimiter) else { continue }
            var rest = content.dropFirst(delimiter.count)
            let closes = rest.starts(with: [ASCII.hyphen, ASCII.hyphen])
            if closes { rest = rest.dropFirst(2) }
            // After the boundary only transport padding may follow; anything else is a longer boundary.
            guard rest.allSatisfy(ASCII.isWhitespace) else { continue }
            if let start = sectionStart {
                sections.append(body[start..<lineBreakStart(before: line.content.lowerBound, in: body, from: start)])
            }
            if closes { return (sections, true) }
            sectionStart = line.next
        }
        if let start = sectionStart { sections.append(body[start...]) }
        return (sections, false)
    }

    /// The first `--token` line (not a rule of dashes) that shows at least twice, counting its
    /// closing `--token--` form: the boundary a generator wrote when it is not the one it declared.
    private static func repeatedBoundaryLine(in body: ArraySlice<UInt8>) -> [UInt8]? {
        var counts: [ArraySlice<UInt8>: Int] = [:]
        var order: [ArraySlice<UInt8>] = []
        for line in ByteLines(body) where order.count < ReportLimits.maxParts {
            var content = body[line.content]
            guard (3...200).contains(content.count), content.starts(with: [ASCII.hyphen, ASCII.hyphen]),
                  !content.contains(where: ASCII.isWhitespace) else { continue }
            if content.count > 4 && content.suffix(2).allSatisfy({ $0 == ASCII.hyphen }) { content = content.dropLast(2) }
            guard content.dropFirst(2).contains(where: { $0 != ASCII.hyphen }) else { continue }
            counts[content, default: 0] += 1
            if counts[content] == 1 { order.append(content) }
        }
        return order.first { counts[$0, default: 0] >= 2 }.map(Array.init)
    }

    /// The line break before a boundary line belongs to the boundary, not to the part.
    private static func lineBreakStart(before index: Int, in body: ArraySlice<UInt8>, from start: Int) -> Int {
        var end = index
        if end > start && body[end - 1] == ASCII.lf { end -= 1 }
        if end > start && body[end - 1] == ASCII.cr { end -= 1 }
        return end
    }
}
