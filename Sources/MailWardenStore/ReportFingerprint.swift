// Idempotency for reports: the same report delivered twice (by the milter and again by a pipe
// transport, or retried after a tempfail) must be stored once. The fingerprint is a SHA-256 of the
// message without the trace fields delivery adds (Return-Path, Delivered-To, X-Original-To,
// Received), with header whitespace and line ends normalised, so the milter's reassembled copy
// (CRLF, one space after the colon) and pipe(8)'s copy (LF) agree.
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
            var end = i
            while end < raw.count && raw[end] != 10 { end += 1 }
            var line = Array(raw[i..<end])
            if line.last == 13 { line.removeLast() }
            i = end + 1
            if line.isEmpty { break }
            if (line.first == 32 || line.first == 9), !fields.isEmpty {
                fields[fields.count - 1] += [32] + line
            } else {
                fields.append(line)
            }
        }
        for field in fields {
            guard let colon = field.firstIndex(of: 58) else { out += field + [10]; continue }
            let name = String(decoding: field[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
            guard !traceFields.contains(name) else { continue }
            let value = String(decoding: field[(colon + 1)...], as: UTF8.self)
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            out += Array("\(name): \(value)\n".utf8)
        }
        out.append(10)
        // Body: line ends normalised to LF.
        var previous: UInt8 = 0
        for b in raw[min(i, raw.count)...] {
            if b == 10 && previous == 13 { out.removeLast() }
            out.append(b)
            previous = b
        }
        return SHA256.hash(data: Data(out)).map { String(format: "%02x", $0) }.joined()
    }
}
