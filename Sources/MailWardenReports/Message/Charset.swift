// Charsets of MIME text and RFC 2047 words. Foundation on Linux knows UTF-8/16/32, ISO-8859-1/-2,
// windows-1250..1254 and some CJK sets, but not the other ISO-8859 parts, and it refuses
// windows-1252 text that holds one of its five unassigned bytes. windows-1252, ISO-8859-15 and
// ISO-8859-5 are therefore decoded here; ISO-8859-9 and -7 borrow their windows twins (the same
// letters at 0xA0-0xFF, which is what mail uses). Decoding never fails: an unknown or lying
// charset falls back to UTF-8 when the bytes are valid UTF-8, else to windows-1252.
import Foundation
import MailWardenCore

/// A text charset as named in a MIME `charset` parameter.
enum Charset: Equatable {
    case utf8
    case windows1252
    case iso8859_15
    case iso8859_5
    case foundation(String.Encoding)
    /// A name we cannot decode; bytes are read as UTF-8 or windows-1252.
    case unknown

    init(name: String?) {
        guard let raw = name?.trimmingWhitespace().lowercased(), !raw.isEmpty else {
            self = .unknown
            return
        }
        // RFC 2231 allows a language suffix: `utf-8*en`.
        let label = raw.split(separator: "*", maxSplits: 1).first.map(String.init) ?? raw
        switch label {
        case "utf-8", "utf8", "unicode-1-1-utf-8": self = .utf8
        case "us-ascii", "ascii", "ansi_x3.4-1968": self = .utf8
        case "windows-1252", "cp1252", "x-cp1252", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "iso_8859-1", "l1":
            // ISO-8859-1 assigns C1 controls where windows-1252 has letters; mail that says latin-1
            // means windows-1252 (as browsers and the WHATWG encoding standard assume).
            self = .windows1252
        case "iso-8859-15", "iso8859-15", "latin-9", "latin9": self = .iso8859_15
        case "iso-8859-5", "iso8859-5": self = .iso8859_5
        case "iso-8859-9", "iso8859-9", "latin5": self = .foundation(.windowsCP1254)
        case "iso-8859-7", "iso8859-7": self = .foundation(.windowsCP1253)
        case "iso-8859-2", "iso8859-2", "latin2": self = .foundation(.isoLatin2)
        default:
            if let encoding = String.Encoding(ianaName: label) {
                self = .foundation(encoding)
            } else {
                self = .unknown
            }
        }
    }

    func decode(_ bytes: [UInt8]) -> String {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .windows1252:
            return Self.decodeSingleByte(bytes) { b in
                (0x80...0x9F).contains(b) ? Self.windows1252C1[Int(b - 0x80)] : UInt32(b)
            }
        case .iso8859_15:
            return Self.decodeSingleByte(bytes) { b in Self.latin9Overrides[b] ?? UInt32(b) }
        case .iso8859_5:
            return Self.decodeSingleByte(bytes) { b in
                switch b {
                case 0..<0xA1, 0xAD: return UInt32(b)
                case 0xF0: return 0x2116
                case 0xFD: return 0xA7
                default: return UInt32(b) - 0xA0 + 0x400
                }
            }
        case .foundation(let encoding):
            if let text = String(bytes: bytes, encoding: encoding) { return text }
            return String(mailBytes: bytes)
        case .unknown:
            return String(mailBytes: bytes)
        }
    }

    private static func decodeSingleByte(_ bytes: [UInt8], _ scalar: (UInt8) -> UInt32) -> String {
        var out = String.UnicodeScalarView()
        out.reserveCapacity(bytes.count)
        for b in bytes {
            out.append(Unicode.Scalar(scalar(b)) ?? "\u{FFFD}")
        }
        return String(out)
    }

    /// windows-1252 at 0x80-0x9F; the five unassigned bytes keep their C1 code points.
    private static let windows1252C1: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// The eight places where ISO-8859-15 differs from ISO-8859-1.
    private static let latin9Overrides: [UInt8: UInt32] = [
        0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D,
        0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178,
    ]
}

extension String {
    /// Text of bytes whose charset is unknown: UTF-8 when they are valid UTF-8, else windows-1252,
    /// the usual charset of undeclared 8-bit mail.
    init(mailBytes bytes: some Collection<UInt8>) {
        if let utf8 = String(validating: bytes, as: UTF8.self) {
            self = utf8
        } else {
            self = Charset.windows1252.decode(Array(bytes))
        }
    }
}
