// A small JSON value with ordered object keys, so CLI output and notices read in a fixed, natural order,
// and RFC 3339 UTC timestamps for Unix times.

public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case number(Int64)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    public static func time(_ t: Int64?) -> JSONValue { t.map { .string(RFC3339.format($0)) } ?? .null }
    public static func text(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    public static func int(_ n: Int?) -> JSONValue { n.map { .number(Int64($0)) } ?? .null }

    /// The same value with U+0000 in its strings as U+FFFD, as the store keeps text: PostgreSQL's
    /// jsonb, which reads a report's fields, refuses \u0000.
    public func replacingNUL() -> JSONValue {
        switch self {
        case .string(let s): .string(s.replacingNUL())
        case .array(let items): .array(items.map { $0.replacingNUL() })
        case .object(let fields): .object(fields.map { ($0.0.replacingNUL(), $0.1.replacingNUL()) })
        case .number, .bool, .null: self
        }
    }

    /// Compact when `indent` is nil (one line, as NDJSON wants), else pretty.
    public func rendered(indent: Int? = 2) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0)
        return out
    }

    /// Appends piece by piece (no temporary strings): the desk renders every filed report's fields.
    private func write(to out: inout String, indent: Int?, level: Int) {
        func newline(_ level: Int) {
            guard let indent else { return }
            out += "\n"
            out += String(repeating: " ", count: indent * level)
        }
        switch self {
        case .string(let s): Self.appendQuoted(s, to: &out)
        case .number(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case .object(let fields):
            guard !fields.isEmpty else { out += "{}"; return }
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                Self.appendQuoted(k, to: &out)
                out += indent == nil ? ":" : ": "
                v.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }

    private static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        // Most text needs no escape and is copied whole.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out += s
        } else {
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where u.value < 0x20:
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

public enum RFC3339 {
    /// `2026-11-24T05:40:00Z` for a Unix time.
    public static func format(_ t: Int64) -> String {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = t - days * 86400
        // Civil-from-days (H. Hinnant's algorithm), valid for the proleptic Gregorian calendar.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        // Bytes, not interpolated Strings: the daemon stamps every log line with this.
        var text = Array(String(y).utf8)
        text.reserveCapacity(text.count + 16)
        func two(_ separator: UInt8, _ n: Int64) {
            text.append(separator)
            text.append(UInt8(ascii: "0") + UInt8(n / 10))
            text.append(UInt8(ascii: "0") + UInt8(n % 10))
        }
        two(UInt8(ascii: "-"), m)
        two(UInt8(ascii: "-"), d)
        two(UInt8(ascii: "T"), secs / 3600)
        two(UInt8(ascii: ":"), secs % 3600 / 60)
        two(UInt8(ascii: ":"), secs % 60)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}

extension LockRecord {
    /// The JSON form shared by `locks --json`, `show --json` and the notify_command's stdin.
    public var json: JSONValue {
        .object([
            ("identity", .string(identity)),
            ("locked_at", .time(lockedAt)),
            ("reason", .string(reason)),
            ("locked_by", .string(lockedBy)),
            ("automatic", .bool(automatic)),
            ("expires_at", .time(expiresAt)),
            ("counter", .text(counter?.rawValue)),
            ("count", .int(count)),
            ("limit", .text(limit)),
            ("attempts", .number(Int64(attempts))),
        ])
    }
}

extension String {
    /// The text with U+0000 as U+FFFD, as the store keeps text (PostgreSQL's text and jsonb refuse
    /// U+0000). Most texts hold none: a byte scan spares them the rewrite (the desk files every
    /// report's fields).
    public func replacingNUL() -> String {
        guard utf8.contains(0) else { return self }
        return String(decoding: Array(utf8.split(separator: 0, omittingEmptySubsequences: false).joined(separator: "\u{FFFD}".utf8)), as: UTF8.self)
    }
}
