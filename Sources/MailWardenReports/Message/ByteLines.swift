// Line splitting over raw message bytes. Mail arrives with CRLF (SMTP, milter), LF (pipe, mbox,
// Maildir), a mix of both, or bare CR (old Mac mailers, some appliances' bounces), so a line ends
// at CRLF, LF or a CR that no LF follows.

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
        let (lineEnd, endingLength) = bytes.withUnsafeBufferPointer { buffer -> (Int, Int) in
            var i = start - bytes.startIndex
            while i < buffer.count && buffer[i] != ASCII.lf && buffer[i] != ASCII.cr { i += 1 }
            guard i < buffer.count else { return (bytes.startIndex + i, 0) }
            let crlf = buffer[i] == ASCII.cr && i + 1 < buffer.count && buffer[i + 1] == ASCII.lf
            return (bytes.startIndex + i, crlf ? 2 : 1)
        }
        position = lineEnd + endingLength
        return ByteLine(content: start..<lineEnd, next: position)
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
