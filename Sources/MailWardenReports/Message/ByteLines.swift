// Line splitting over raw message bytes. Mail arrives with CRLF (SMTP, milter), LF (pipe, mbox,
// Maildir) or a mix of both, so a line ends at LF and a CR right before it is not content.

/// One line: its content without the line ending, and where the next line starts.
struct ByteLine {
    let content: Range<Int>
    let next: Int
}

/// The lines of a byte slice, in order; the last one may have no line ending.
struct ByteLines: Sequence, IteratorProtocol {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    mutating func next() -> ByteLine? {
        guard position < bytes.endIndex else { return nil }
        let start = position
        // A plain loop over the buffer: attachments make for millions of bytes, and this is the
        // one place every byte of a message passes.
        let lineEnd = bytes.withUnsafeBufferPointer { buffer in
            var i = start - bytes.startIndex
            while i < buffer.count && buffer[i] != ASCII.lf { i += 1 }
            return bytes.startIndex + i
        }
        position = lineEnd < bytes.endIndex ? lineEnd + 1 : bytes.endIndex
        var contentEnd = lineEnd
        if contentEnd > start && bytes[contentEnd - 1] == ASCII.cr { contentEnd -= 1 }
        return ByteLine(content: start..<contentEnd, next: position)
    }
}

/// The few byte values the parsers compare against.
enum ASCII {
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let hyphen: UInt8 = 0x2D
    static let equals: UInt8 = 0x3D

    static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }
}
