// Content-Transfer-Encoding decoders (RFC 2045) and the B and Q forms of RFC 2047. Both are
// lenient the way real mail needs: base64 skips line breaks and stray characters, quoted-printable
// keeps a malformed `=` as it is. Both stop at the byte budget they are given.
import MailWardenCore

enum TransferEncoding {
    case identity
    case base64
    case quotedPrintable

    init(header: String?) {
        switch header?.trimmingWhitespace().lowercased() {
        case "base64": self = .base64
        case "quoted-printable": self = .quotedPrintable
        default: self = .identity
        }
    }

    /// Decodes at most `limit` output bytes; `truncated` says whether input was left over.
    func decode(_ input: ArraySlice<UInt8>, limit: Int) -> (bytes: [UInt8], truncated: Bool) {
        switch self {
        case .identity:
            let kept = input.prefix(limit)
            return (Array(kept), kept.count < input.count)
        case .base64:
            return Base64.decode(input, limit: limit)
        case .quotedPrintable:
            return QuotedPrintable.decode(input, limit: limit, underscoreIsSpace: false)
        }
    }
}

enum Base64 {
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(c)] = UInt8(i)
        }
        // The URL-safe alphabet turns up in the wild; it cannot be confused with the standard one.
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    static func decode(_ input: ArraySlice<UInt8>, limit: Int) -> (bytes: [UInt8], truncated: Bool) {
        let capacity = min(limit, input.count / 4 * 3 + 3)
        var truncated = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
            values.withUnsafeBufferPointer { table in
                input.withUnsafeBufferPointer { input in
                    (count, truncated) = decode(input, table: table, into: out)
                }
            }
        }
        return (out, truncated)
    }

    /// The loop itself, on raw buffers: a 10 MB attachment is 14 million symbols.
    private static func decode(_ input: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt8>,
                               into out: UnsafeMutableBufferPointer<UInt8>) -> (written: Int, truncated: Bool) {
        var written = 0
        var quantum: UInt32 = 0
        var filled = 0
        var i = 0
        while i <= input.count {
            // Padding, and the end of the input, close a partial quantum: 2 symbols carry 1 byte,
            // 3 carry 2. Anything after padding starts a new quantum (concatenated blobs).
            if i == input.count || input[i] == ASCII.equals {
                let tail = filled == 3 ? 2 : filled == 2 ? 1 : 0
                guard written + tail <= out.count else { return (written, true) }
                if tail >= 1 { out[written] = UInt8(truncatingIfNeeded: quantum >> (tail == 2 ? 10 : 4)) }
                if tail == 2 { out[written + 1] = UInt8(truncatingIfNeeded: quantum >> 2) }
                written += tail
                quantum = 0
                filled = 0
                i += 1
                continue
            }
            let v = table[Int(input[i])]
            i += 1
            if v == 0xFF { continue }
            quantum = quantum << 6 | UInt32(v)
            filled += 1
            if filled == 4 {
                guard written + 3 <= out.count else { return (written, true) }
                out[written] = UInt8(truncatingIfNeeded: quantum >> 16)
                out[written + 1] = UInt8(truncatingIfNeeded: quantum >> 8)
                out[written + 2] = UInt8(truncatingIfNeeded: quantum)
                written += 3
                quantum = 0
                filled = 0
            }
        }
        return (written, false)
    }
}

enum QuotedPrintable {
    /// `underscoreIsSpace` is the RFC 2047 Q form.
    static func decode(_ input: ArraySlice<UInt8>, limit: Int, underscoreIsSpace: Bool) -> (bytes: [UInt8], truncated: Bool) {
        // Every output byte takes at least one input byte.
        let capacity = min(limit, input.count)
        var truncated = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
            input.withUnsafeBufferPointer { input in
                (count, truncated) = decode(input, into: out, underscoreIsSpace: underscoreIsSpace)
            }
        }
        return (out, truncated)
    }

    /// The loop itself, on raw buffers, like Base64's: 48 MB of it took a third of a second.
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>,
                               underscoreIsSpace: Bool) -> (written: Int, truncated: Bool) {
        var written = 0
        var i = 0
        while i < bytes.count {
            guard written < out.count else { return (written, true) }
            let c = bytes[i]
            if c == ASCII.equals {
                if let hi = hexValue(at: i + 1, in: bytes), let lo = hexValue(at: i + 2, in: bytes) {
                    out[written] = hi << 4 | lo
                    written += 1
                    i += 3
                    continue
                }
                // A soft line break: `=`, optional transport padding, then the line ending.
                var j = i + 1
                while j < bytes.count && ASCII.isWhitespace(bytes[j]) { j += 1 }
                if j < bytes.count && bytes[j] == ASCII.cr { j += 1 }
                if j < bytes.count && bytes[j] == ASCII.lf {
                    i = j + 1
                    continue
                }
                if j == bytes.count {
                    break
                }
                out[written] = c
            } else if underscoreIsSpace && c == UInt8(ascii: "_") {
                out[written] = ASCII.space
            } else {
                out[written] = c
            }
            written += 1
            i += 1
        }
        return (written, false)
    }

    private static func hexValue(at index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return bytes[index] - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return bytes[index] - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return bytes[index] - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
