// Readers for the small structured documents reports carry: the YAML subset of X-ARF
// `report.txt` files, CSV and pipe-drawn tables, and XML elements. Each reads at most
// `ReportLimits.maxDocumentBytes` (tables at most `maxTableRows` rows) and never fails: what it
// cannot read it leaves out.
import Foundation
import MailWardenCore

enum YAMLSubset {
    /// The `key: value` pairs of a flat YAML map, in order. Quoted scalars are unquoted, tags
    /// (`!!python/unicode 'x'`) dropped, `- item` lines under a key give one pair per item, and
    /// comments and document markers are skipped.
    static func fields(_ text: String) -> [HeaderField] {
        var fields: [HeaderField] = []
        var listKey: String?
        for line in text.prefix(ReportLimits.maxDocumentBytes).split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed == "---" || trimmed == "..." || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("- "), let key = listKey {
                fields.append(HeaderField(name: key, value: scalar(trimmed.dropFirst(2))))
                continue
            }
            guard line.first != " ", line.first != "\t", let colon = line.firstIndex(of: ":"), colon > line.startIndex else {
                listKey = nil
                continue
            }
            let key = line[..<colon].trimmingWhitespace()
            let rest = line[line.index(after: colon)...]
            // `Key: value` needs the space; `http://x` or `12:30` in a stray line is no pair.
            guard !key.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" }), rest.isEmpty || rest.first == " " || rest.first == "\t" else {
                listKey = nil
                continue
            }
            let value = scalar(rest.trimmingWhitespace()[...])
            if value.isEmpty {
                listKey = key
            } else {
                listKey = nil
                fields.append(HeaderField(name: key, value: value))
            }
        }
        return fields
    }

    private static func scalar(_ raw: Substring) -> String {
        var value = raw
        while value.hasPrefix("!") {
            guard let space = value.firstIndex(of: " ") else { return "" }
            value = value[value.index(after: space)...].drop(while: { $0 == " " })
        }
        if value.hasPrefix("'"), value.count >= 2, let end = value.dropFirst().lastIndex(of: "'") {
            return value[value.index(after: value.startIndex)..<end].replacingOccurrences(of: "''", with: "'")
        }
        if value.hasPrefix("\""), value.count >= 2, let end = value.dropFirst().lastIndex(of: "\"") {
            return value[value.index(after: value.startIndex)..<end].replacingOccurrences(of: "\\\"", with: "\"")
        }
        // A comment starts at ` #`.
        if let hash = value.indices.first(where: { value[$0] == "#" && $0 > value.startIndex && value[value.index(before: $0)] == " " }) {
            value = value[..<hash]
        }
        return value.trimmingWhitespace()
    }
}

/// The records of a table; `isTruncated` when rows or cells past a cap were dropped.
struct TableRecords {
    var records: [[String]] = []
    var isTruncated = false
}

enum TextTable {
    /// The records of CSV text (RFC 4180 quoting; the delimiter is whichever of `,` `;` and tab
    /// the first line holds most of). The first record is the header.
    static func csv(_ text: String) -> TableRecords {
        let bytes = Array(text.utf8.prefix(ReportLimits.maxDocumentBytes))
        let firstLine = bytes.prefix { $0 != ASCII.lf }
        let counts = [UInt8(ascii: ","), UInt8(ascii: ";"), ASCII.tab].map { d in (d, firstLine.count(where: { $0 == d })) }
        let delimiter = counts.max { $0.1 < $1.1 }?.0 ?? UInt8(ascii: ",")
        let quote = UInt8(ascii: "\"")
        var table = TableRecords(isTruncated: bytes.count < text.utf8.count)
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var i = 0
        func endField() {
            if record.count < ReportLimits.maxTableColumns {
                record.append(String(decoding: field, as: UTF8.self).trimmingWhitespace())
            } else {
                table.isTruncated = true
            }
            field = []
        }
        func endRecord() {
            endField()
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
            record = []
        }
        while i < bytes.count && records.count < ReportLimits.maxTableRows {
            let b = bytes[i]
            if quoted {
                if b == quote {
                    if i + 1 < bytes.count && bytes[i + 1] == quote {
                        field.append(quote)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == quote && field.allSatisfy(ASCII.isWhitespace) {
                field = []
                quoted = true
            } else if b == delimiter {
                endField()
            } else if b == ASCII.lf {
                endRecord()
            } else if b != ASCII.cr {
                field.append(b)
            }
            i += 1
        }
        if i < bytes.count { table.isTruncated = true }
        if !field.isEmpty || !record.isEmpty { endRecord() }
        table.records = records
        return table
    }

    /// An event list in JSON, as IntelMQ writes it and CERTs such as SWITCH attach it: an array of
    /// flat objects (or one object per line), one event each. The keys become the header, sorted,
    /// and each event a record; nested values are not read. nil when the document is no such list.
    static func jsonEvents(_ bytes: [UInt8]) -> TableRecords? {
        guard bytes.count <= ReportLimits.maxDocumentBytes, let first = bytes.first(where: { !ASCII.isWhitespace($0) }),
              first == UInt8(ascii: "[") || first == UInt8(ascii: "{") else { return nil }
        let events: [[String: Any]]
        if let array = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] {
            events = array
        } else {
            var objects: [[String: Any]] = []
            for line in bytes.split(separator: ASCII.lf) where !line.allSatisfy(ASCII.isWhitespace) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
                objects.append(object)
            }
            events = objects
        }
        let kept = events.prefix(ReportLimits.maxTableRows)
        let columns = Array(Set(kept.flatMap(\.keys))).sorted()
        guard !kept.isEmpty, columns.count <= ReportLimits.maxTableColumns else { return nil }
        func cell(_ value: Any?) -> String {
            switch value {
            case let text as String: return text
            case let number as NSNumber: return number.stringValue
            default: return ""
            }
        }
        return TableRecords(records: [columns] + kept.map { event in columns.map { cell(event[$0]) } },
                            isTruncated: kept.count < events.count)
    }

    /// The rows of a table drawn with `|` between cells (`|date |ip |domain |url`); rule lines
    /// (`+-----`) and other text are skipped. The first row is the header.
    static func pipeRows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        for line in text.prefix(ReportLimits.maxDocumentBytes).split(whereSeparator: \.isNewline) where rows.count < ReportLimits.maxTableRows {
            let trimmed = line.trimmingWhitespace()
            guard trimmed.hasPrefix("|"), trimmed.filter({ $0 == "|" }).count >= 3 else { continue }
            rows.append(trimmed.dropFirst().split(separator: "|", maxSplits: ReportLimits.maxTableColumns - 1, omittingEmptySubsequences: false)
                .map { $0.trimmingWhitespace() })
        }
        return rows
    }
}

/// One XML element: its local name and its parent's (nil at the root), attributes, and its own text.
struct XMLElement {
    let name: String
    let parent: String?
    let attributes: [String: String]
    let text: String
}

enum XMLScanner {
    /// The elements of an XML document in document order. Namespace prefixes are dropped, names
    /// keep their case; comments, processing instructions and DOCTYPE are skipped. `truncated` is
    /// set when the document or its tags run past a cap or the work budget.
    static func elements(_ text: String, budget: DecodeBudget, truncated: inout Bool) -> [XMLElement] {
        var out: [XMLElement] = []
        var stack: [(name: String, attributes: [String: String], text: String)] = []
        var rest = Substring(text.prefix(ReportLimits.maxDocumentBytes))
        guard budget.spend(rest.utf8.count) else {
            truncated = true
            return []
        }
        var tags = 0
        // Native searches: Foundation's `range(of:)` copies the rest of the document on every call.
        while let open = rest.firstIndex(of: "<") {
            if !stack.isEmpty { stack[stack.count - 1].text += rest[..<open] }
            let tag = rest[open...]
            if tag.hasPrefix("<!--") {
                rest = tag.firstRange(of: "-->").map { tag[$0.upperBound...] } ?? ""
                continue
            }
            if tag.hasPrefix("<![CDATA[") {
                let end = tag.firstRange(of: "]]>")
                if !stack.isEmpty { stack[stack.count - 1].text += tag[tag.index(tag.startIndex, offsetBy: 9)..<(end?.lowerBound ?? tag.endIndex)] }
                rest = end.map { tag[$0.upperBound...] } ?? ""
                continue
            }
            guard let close = tag.firstIndex(of: ">") else { break }
            guard tags < ReportLimits.maxXMLElements else {
                truncated = true
                break
            }
            tags += 1
            let inside = tag[tag.index(after: tag.startIndex)..<close]
            rest = tag[tag.index(after: close)...]
            if inside.hasPrefix("?") || inside.hasPrefix("!") { continue }
            if inside.hasPrefix("/") {
                let name = localName(inside.dropFirst())
                if let index = stack.lastIndex(where: { $0.name == name }) {
                    // Elements left open inside it (bad XML) close with it.
                    while stack.count > index {
                        let element = stack.removeLast()
                        out.append(XMLElement(name: element.name, parent: stack.last?.name, attributes: element.attributes,
                                              text: IndicatorScanner.decodedEntities(element.text).trimmingWhitespace()))
                    }
                }
                continue
            }
            let selfClosing = inside.hasSuffix("/")
            let body = selfClosing ? inside.dropLast() : inside
            let name = localName(body.prefix { !$0.isWhitespace })
            let attributes = parseAttributes(body.drop { !$0.isWhitespace })
            if selfClosing {
                out.append(XMLElement(name: name, parent: stack.last?.name, attributes: attributes, text: ""))
            } else if stack.count < ReportLimits.maxXMLDepth {
                stack.append((name, attributes, ""))
            }
        }
        return out
    }

    private static func localName(_ qualified: Substring) -> String {
        let name = qualified.trimmingWhitespace()
        return name.split(separator: ":").last.map(String.init) ?? name
    }

    private static func parseAttributes(_ text: Substring) -> [String: String] {
        var attributes: [String: String] = [:]
        var rest = text
        while let eq = rest.firstIndex(of: "=") {
            let name = localName(rest[..<eq])
            var after = rest[rest.index(after: eq)...].drop { $0.isWhitespace }
            guard let quote = after.first, quote == "\"" || quote == "'" else { break }
            after = after.dropFirst()
            guard let end = after.firstIndex(of: quote) else { break }
            attributes[name] = IndicatorScanner.decodedEntities(String(after[..<end]))
            rest = after[after.index(after: end)...]
        }
        return attributes
    }
}
