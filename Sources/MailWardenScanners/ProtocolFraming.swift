// The framing spamd's SPAMC/SPAMD protocol and HTTP/1.1 share: a request line or status line,
// `Name: value` fields, a blank line, a body. Requests are built here with their field values made
// safe; answers are parsed incrementally (nil until enough has arrived), and anything that is not
// the expected protocol fails at once with a printable excerpt instead of waiting for a timeout.
import MailWardenCore

/// The head of a spamd or HTTP request.
struct RequestHead {
    private var text: String

    init(_ requestLine: String) { text = requestLine + "\r\n" }

    /// Adds `Name: value`. Control characters are dropped from the value (an envelope value must
    /// not add fields of its own) and it is cut at 512 characters.
    mutating func add(_ name: String, _ value: String) {
        let safe = value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(512)
        text += "\(name): \(String(String.UnicodeScalarView(safe)))\r\n"
    }

    var bytes: [UInt8] { Array((text + "\r\n").utf8) }
}

/// The status line and fields of a spamd or HTTP answer, and where its body starts.
struct ResponseHead {
    let statusLine: String
    /// Field names lowercased, in order.
    let fields: [(name: String, value: String)]
    let bodyStart: Int

    /// A status line longer than this is not one.
    static let maxStatusLineBytes = 1024

    /// The first line once it has arrived; garbled as soon as the answer cannot start with `prefix`.
    static func statusLine(of received: [UInt8], prefix: String) throws(ScanFailure) -> String? {
        let expected = Array(prefix.utf8)
        guard received.prefix(expected.count).elementsEqual(expected.prefix(received.count)) else {
            throw .garbled(excerpt: excerpt(received))
        }
        guard let end = received.prefix(maxStatusLineBytes).firstIndex(of: lineFeed) else {
            if received.count >= maxStatusLineBytes { throw .garbled(excerpt: excerpt(received)) }
            return nil
        }
        return line(received[..<end])
    }

    /// The head once the blank line after it has arrived.
    static func parse(_ received: [UInt8], prefix: String) throws(ScanFailure) -> ResponseHead? {
        guard let statusLine = try statusLine(of: received, prefix: prefix) else { return nil }
        var fields: [(name: String, value: String)] = []
        var start = received.firstIndex(of: lineFeed)! + 1
        while let end = received[start...].firstIndex(of: lineFeed) {
            let text = line(received[start..<end])
            start = end + 1
            if text.isEmpty { return ResponseHead(statusLine: statusLine, fields: fields, bodyStart: start) }
            guard let colon = text.firstIndex(of: ":") else { throw .garbled(excerpt: excerpt(Array(text.utf8))) }
            fields.append((text[..<colon].trimmingWhitespace().lowercased(), text[text.index(after: colon)...].trimmingWhitespace()))
        }
        return nil
    }

    func field(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// The body once it is complete: by Content-Length, by HTTP chunks, or up to the close.
    func body(of received: [UInt8], ended: Bool) throws(ScanFailure) -> ArraySlice<UInt8>? {
        let rest = received[bodyStart...]
        if field("transfer-encoding")?.lowercased().contains("chunked") == true {
            return try Self.dechunk(rest).map { ArraySlice($0) }
        }
        if let text = field("content-length") {
            guard let length = Int(text), length >= 0 else { throw .garbled(excerpt: "Content-Length: \(text.prefix(20))") }
            return rest.count >= length ? rest.prefix(length) : nil
        }
        return ended ? rest : nil
    }

    /// HTTP/1.1 chunked transfer coding: `SIZE-in-hex[;ext]` CRLF, data, CRLF, ..., `0`, trailers, CRLF.
    static func dechunk(_ bytes: ArraySlice<UInt8>) throws(ScanFailure) -> [UInt8]? {
        var body: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let sizeEnd = bytes[index...].firstIndex(of: lineFeed) else { return nil }
            let sizeText = line(bytes[index..<sizeEnd]).split(separator: ";", maxSplits: 1).first?.trimmingWhitespace() ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw .garbled(excerpt: excerpt(Array(bytes[index..<sizeEnd])))
            }
            index = sizeEnd + 1
            if size == 0 {
                // Trailer fields, if any, up to an empty line.
                while let end = bytes[index...].firstIndex(of: lineFeed) {
                    let trailer = line(bytes[index..<end])
                    index = end + 1
                    if trailer.isEmpty { return body }
                }
                return nil
            }
            guard size <= bytes.endIndex - index - 2 else { return nil }
            body += bytes[index..<index + size]
            index += size
            guard bytes[index] == carriageReturn, bytes[index + 1] == lineFeed else {
                throw .garbled(excerpt: excerpt(Array(bytes[index...].prefix(60))))
            }
            index += 2
        }
    }

    /// The start of an answer, printable, for a log line.
    static func excerpt(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes.prefix(60) {
            switch byte {
            case carriageReturn: text += "\\r"
            case lineFeed: text += "\\n"
            case 0x20...0x7e: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return bytes.count > 60 ? text + "..." : text
    }

    /// A line without its line end (CRLF or a bare LF).
    private static func line(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.last == carriageReturn ? bytes.dropLast() : bytes, as: UTF8.self)
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
}
