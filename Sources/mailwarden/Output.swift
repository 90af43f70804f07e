// How the CLI prints: aligned tables for people, one JSON document or CSV for scripts.
// A listing's columns are declared once and drive all three forms, so they cannot disagree.
import Foundation
import MailWardenCore

/// One column of a listing: its JSON key (also the CSV header; the table header is its upper-case
/// form) and how a row gives its value.
struct Column<Row>: Sendable {
    let key: String
    let value: @Sendable (Row) -> JSONValue

    init(_ key: String, _ value: @escaping @Sendable (Row) -> JSONValue) {
        self.key = key
        self.value = value
    }
}

extension Array {
    /// A row's values under the columns' keys, in column order: the fields of its JSON object.
    func fields<Row>(of row: Row) -> [(String, JSONValue)] where Element == Column<Row> {
        map { ($0.key, $0.value(row)) }
    }
}

/// Rows shown through a fixed set of columns.
struct Listing<Row> {
    let columns: [Column<Row>]
    let rows: [Row]

    var json: JSONValue { .array(rows.map { .object(columns.fields(of: $0)) }) }

    var table: String {
        TextTable(header: columns.map { $0.key.uppercased().replacingOccurrences(of: "_", with: " ") },
                  rows: rows.map { row in columns.map { TableCell($0.value(row)) } }).rendered
    }

    var csv: String {
        // In CSV a missing value is an empty field.
        let lines = [columns.map(\.key)] + rows.map { row in
            columns.map { column in
                let value = column.value(row)
                return value == .null ? "" : TableCell(value).text
            }
        }
        return lines.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A value as a table shows it: numbers right-aligned, booleans yes/no, nothing as `-`.
struct TableCell {
    let text: String
    let isNumber: Bool

    init(_ text: String) {
        self.text = Self.printable(text)
        isNumber = false
    }

    init(_ value: JSONValue) {
        switch value {
        case .number(let n): text = String(n)
        case .string(let s): text = Self.printable(s)
        case .bool(let b): text = b ? "yes" : "no"
        case .null: text = "-"
        case .array, .object: text = value.rendered(indent: nil)
        }
        isNumber = if case .number = value { true } else { false }
    }

    /// Reports carry text a stranger wrote (file names, subjects): control characters, escape
    /// sequences among them, are shown as `?` so they cannot drive the admin's terminal.
    static func printable(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
    }
}

/// Columns padded to their widest cell, two spaces apart; no trailing blanks.
struct TextTable {
    var header: [String]?
    var rows: [[TableCell]]

    init(header: [String]? = nil, rows: [[TableCell]]) {
        self.header = header
        self.rows = rows
    }

    var rendered: String {
        let all = (header.map { [$0.map(TableCell.init)] } ?? []) + rows
        let widths = all.reduce(into: [Int]()) { widths, row in
            for (i, cell) in row.enumerated() {
                if i == widths.count { widths.append(0) }
                widths[i] = max(widths[i], cell.text.count)
            }
        }
        return all.map { row in
            var line = row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.text.count)
                return cell.isNumber ? pad + cell.text : cell.text + pad
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

enum Output {
    static func print(_ json: JSONValue) { Swift.print(json.rendered()) }

    /// An error line; under systemd (the desk's unit) the journal stores it as one.
    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((JournalPriority.prefix(forLine: text, unmarked: "error", on: 2) + text + "\n").utf8))
    }

    /// A Unix time as tables show it (RFC 3339 UTC, as in JSON), `-` for none.
    static func time(_ t: Int64?) -> String { t.map(RFC3339.format) ?? "-" }
}
