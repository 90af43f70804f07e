// Idempotency for reports: the same report delivered twice (by the milter and again by a pipe
// transport, or retried after a tempfail) must be stored once. The fingerprint is a SHA-256 of the
// message without the trace fields delivery adds (Return-Path, Delivered-To, X-Original-To,
// Received), with header whitespace and line ends normalised, so the milter's reassembled copy
// (CRLF, one space after the colon) and pipe(8)'s copy (LF) agree.
//
// Fingerprints are stored, and a report queued today must match one queued by an earlier version:
// the normal form is fixed (ReportFingerprintTests holds values stored before). It is computed on
// bytes for an ASCII field, the common case; a field with other bytes keeps the String rules it
// always had (Unicode trimming and lowercasing, values split between Characters).
import Crypto
import Foundation

public enum ReportFingerprint {
    static let traceFields: Set<String> = ["return-path", "delivered-to", "x-original-to", "received"]

    public static func of(_ raw: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var fields: [[UInt8]] = []
        var i = 0
        // Header section: collect logical fields (a line starting with space/tab continues the last).
        while i < raw.count {
            let end = raw[i...].firstIndex(of: 10) ?? raw.count
            var line = raw[i..<end]
            if line.last == 13 { line = line.dropLast() }
            i = end + 1
            if line.isEmpty { break }
            if (line.first == 32 || line.first == 9), !fields.isEmpty {
                fields[fields.count - 1].append(32)
                fields[fields.count - 1] += line
            } else {
                fields.append(Array(line))
            }
        }
        for field in fields {
            guard let colon = field.firstIndex(of: 58) else {
                out += field
                out.append(10)
                continue
            }
            if field.allSatisfy({ $0 < 0x80 }) {
                appendASCII(name: field[..<colon], value: field[(colon + 1)...], to: &out)
            } else {
                appendUnicode(name: field[..<colon], value: field[(colon + 1)...], to: &out)
            }
        }
        out.append(10)
        // Body: line ends normalised to LF (a CR right before an LF goes).
        var copied = min(i, raw.count)
        for lf in copied..<raw.count where raw[lf] == 10 && lf > copied && raw[lf - 1] == 13 {
            out += raw[copied..<(lf - 1)]
            copied = lf
        }
        out += raw[copied...]
        return sha256Hex(out)
    }

    /// `name: value` with the name trimmed and lowercased and the value's runs of spaces and tabs
    /// made one space, unless it is a trace field. For ASCII, what `appendUnicode` does.
    private static func appendASCII(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>, to out: inout [UInt8]) {
        let isBlank = { (byte: UInt8) in byte == 32 || byte == 9 }
        let trimmed = name.drop(while: isBlank)
        let end = trimmed.lastIndex { !isBlank($0) }.map { $0 + 1 } ?? trimmed.startIndex
        let lowercased = trimmed[..<end].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        guard !traceFields.contains(String(decoding: lowercased, as: UTF8.self)) else { return }
        out += lowercased
        out += Array(": ".utf8)
        appendWords(of: value, to: &out)
    }

    private static func appendWords(of value: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var separate = false
        for word in value.split(whereSeparator: { $0 == 32 || $0 == 9 }) {
            if separate { out.append(32) }
            out += word
            separate = true
        }
        out.append(10)
    }

    private static func appendUnicode(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>, to out: inout [UInt8]) {
        let name = String(decoding: name, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        guard !traceFields.contains(name) else { return }
        let value = String(decoding: value, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        out += Array("\(name): \(value)\n".utf8)
    }
}

/// A SHA-256 digest in lowercase hex, as the store keeps fingerprints and evidence digests (by hand:
/// String(format:) for each byte cost more than the hash).
func sha256Hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var hex: [UInt8] = []
    hex.reserveCapacity(64)
    for byte in SHA256.hash(data: bytes) {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: hex, as: UTF8.self)
}
