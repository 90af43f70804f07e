// Just enough ZIP to read the CSV that bulk reporters (Shadowserver and others) attach zipped:
// the central directory, stored and deflated entries, an inflater (RFC 1951, after zlib's puff.c).
// Written here rather than taken from ZIPFoundation: that package needs the system zlib and its
// headers (one more Debian package and a C module), reads through file handles or fmemopen, and
// trusts the sizes an archive declares; this one is pure Swift, works on bytes in memory, and
// stops every entry at the decode budget, so a ZIP bomb costs at most that budget.

/// One file in an archive; `isTruncated` when the decode budget or a damaged stream cut it.
struct ZIPEntry {
    let name: String
    let bytes: [UInt8]
    let isTruncated: Bool
}

enum ZIPArchive {
    /// Whether `bytes` starts like a ZIP archive.
    static func looksLikeZIP(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0x50, 0x4B, 0x03, 0x04])
    }

    /// The readable entries (stored or deflated, not encrypted), each cut at the budget.
    static func entries(_ bytes: [UInt8], budget: DecodeBudget) -> [ZIPEntry] {
        guard let directory = centralDirectory(bytes) else { return [] }
        var entries: [ZIPEntry] = []
        var offset = directory.offset
        for _ in 0..<min(directory.count, ReportLimits.maxZIPEntries) {
            guard offset + 46 <= bytes.count, u32(bytes, offset) == 0x0201_4B50 else { break }
            let flags = u16(bytes, offset + 8)
            let method = u16(bytes, offset + 10)
            let compressedSize = Int(u32(bytes, offset + 20))
            let nameLength = Int(u16(bytes, offset + 28))
            let extraLength = Int(u16(bytes, offset + 30))
            let commentLength = Int(u16(bytes, offset + 32))
            let localOffset = Int(u32(bytes, offset + 42))
            guard offset + 46 + nameLength <= bytes.count else { break }
            let name = String(mailBytes: bytes[(offset + 46)..<(offset + 46 + nameLength)])
            offset += 46 + nameLength + extraLength + commentLength

            // The data starts after the local header, whose name and extra lengths may differ.
            guard flags & 1 == 0, localOffset + 30 <= bytes.count, u32(bytes, localOffset) == 0x0403_4B50 else { continue }
            let dataStart = localOffset + 30 + Int(u16(bytes, localOffset + 26)) + Int(u16(bytes, localOffset + 28))
            guard dataStart <= bytes.count else { continue }
            let data = bytes[dataStart..<min(bytes.count, dataStart + compressedSize)]
            let limit = budget.bytesLeft
            switch method {
            case 0:
                let kept = Array(data.prefix(limit))
                budget.consume(kept.count)
                entries.append(ZIPEntry(name: name, bytes: kept, isTruncated: kept.count < data.count))
            case 8:
                var inflater = Inflater(data, limit: limit)
                let (out, truncated) = inflater.run()
                budget.consume(out.count)
                entries.append(ZIPEntry(name: name, bytes: out, isTruncated: truncated))
            default:
                continue
            }
        }
        return entries
    }

    /// The end-of-central-directory record, searched backwards past an archive comment.
    private static func centralDirectory(_ bytes: [UInt8]) -> (offset: Int, count: Int)? {
        guard bytes.count >= 22 else { return nil }
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while i >= lowest {
            if u32(bytes, i) == 0x0605_4B50 {
                return (Int(u32(bytes, i + 16)), Int(u16(bytes, i + 10)))
            }
            i -= 1
        }
        return nil
    }

    private static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(u16(b, i)) | UInt32(u16(b, i + 2)) << 16 }
}

/// A raw DEFLATE stream decoder that produces at most `limit` bytes.
struct Inflater {
    private let input: ArraySlice<UInt8>
    private let limit: Int
    private var position: Int
    private var bitBuffer: UInt32 = 0
    private var bitCount = 0
    private var output: [UInt8] = []

    init(_ input: ArraySlice<UInt8>, limit: Int) {
        self.input = input
        self.limit = limit
        position = input.startIndex
    }

    private enum Stop: Error {
        case inputEnded, outputFull, corrupt
    }

    /// Canonical Huffman code: how many codes of each length, and the symbols in code order.
    private struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        init(lengths: [Int]) {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }
    }

    mutating func run() -> (bytes: [UInt8], truncated: Bool) {
        do {
            var last = false
            while !last {
                last = try bits(1) == 1
                switch try bits(2) {
                case 0: try stored()
                case 1: try codes(Self.fixedLiteral, Self.fixedDistance)
                case 2: try dynamic()
                default: throw Stop.corrupt
                }
            }
            return (output, false)
        } catch {
            return (output, true)
        }
    }

    private mutating func bits(_ need: Int) throws(Stop) -> Int {
        while bitCount < need {
            guard position < input.endIndex else { throw .inputEnded }
            bitBuffer |= UInt32(input[position]) << UInt32(bitCount)
            position += 1
            bitCount += 8
        }
        let value = Int(bitBuffer & ((1 << UInt32(need)) - 1))
        bitBuffer >>= UInt32(need)
        bitCount -= need
        return value
    }

    private mutating func emit(_ byte: UInt8) throws(Stop) {
        guard output.count < limit else { throw .outputFull }
        output.append(byte)
    }

    private mutating func stored() throws(Stop) {
        bitBuffer = 0
        bitCount = 0
        guard position + 4 <= input.endIndex else { throw .inputEnded }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
        guard length == ~complement & 0xFFFF else { throw .corrupt }
        position += 4
        for _ in 0..<length {
            guard position < input.endIndex else { throw .inputEnded }
            try emit(input[position])
            position += 1
        }
    }

    private mutating func decode(_ h: Huffman) throws(Stop) -> Int {
        var code = 0, first = 0, index = 0
        for len in 1..<16 {
            code |= try bits(1)
            let count = h.counts[len]
            if code - count < first { return h.symbols[index + (code - first)] }
            index += count
            first += count
            first <<= 1
            code <<= 1
        }
        throw .corrupt
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                                       4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    private static let fixedLiteral = Huffman(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })
    private static let fixedDistance = Huffman(lengths: [Int](repeating: 5, count: 30))

    private mutating func codes(_ literal: Huffman, _ distance: Huffman) throws(Stop) {
        while true {
            let symbol = try decode(literal)
            if symbol < 256 {
                try emit(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let l = symbol - 257
                guard l < 29 else { throw .corrupt }
                let length = Self.lengthBase[l] + (try bits(Self.lengthExtra[l]))
                let d = try decode(distance)
                guard d < 30 else { throw .corrupt }
                let back = Self.distanceBase[d] + (try bits(Self.distanceExtra[d]))
                guard back <= output.count else { throw .corrupt }
                for _ in 0..<length { try emit(output[output.count - back]) }
            }
        }
    }

    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private mutating func dynamic() throws(Stop) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeCount = try bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .corrupt }
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<codeCount { codeLengths[Self.codeLengthOrder[i]] = try bits(3) }
        let lengthCode = Huffman(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(lengthCode)
            switch symbol {
            case 0..<16:
                lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw .corrupt }
                lengths += [Int](repeating: previous, count: 3 + (try bits(2)))
            case 17:
                lengths += [Int](repeating: 0, count: 3 + (try bits(3)))
            default:
                lengths += [Int](repeating: 0, count: 11 + (try bits(7)))
            }
        }
        guard lengths.count == literalCount + distanceCount, lengths[256] != 0 else { throw .corrupt }
        try codes(Huffman(lengths: Array(lengths[..<literalCount])), Huffman(lengths: Array(lengths[literalCount...])))
    }
}
