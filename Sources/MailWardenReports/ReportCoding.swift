// The parsed report crosses a process boundary (the isolated parser writes it, the desk worker reads
// it) as a compact binary frame: every field in declaration order; an integer as 8 little-endian
// bytes, a Bool as one byte, a string or byte array as its length and its bytes, an optional behind a
// 0 or 1 byte, an array behind its count, an enum as its raw value. Both ends are the same executable,
// so the format carries no version. A frame that does not read back exactly, to its last byte, is
// refused (`ReportFrame.Unreadable`): the worker then takes the parser process for broken.
// (It replaced JSON through Codable, which cost about a sixth of the parser's instructions per report
// and a seventh of the worker's.)
import MailWardenCore

public enum ReportFrame {
    /// The frame was cut, padded or held a value no report can have.
    public struct Unreadable: Error {}

    public static func encode(_ report: AbuseReport) -> [UInt8] {
        var frame = FrameWriter()
        report.write(to: &frame)
        return frame.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> AbuseReport {
        var frame = FrameReader(bytes)
        let report = try AbuseReport(from: &frame)
        guard frame.isAtEnd else { throw Unreadable() }
        return report
    }
}

/// A value that can be written to a report frame and read back.
protocol FrameCodable {
    func write(to frame: inout FrameWriter)
    init(from frame: inout FrameReader) throws
}

struct FrameWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write<Value: FrameCodable>(_ value: Value) { value.write(to: &self) }

    mutating func write(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(byte: UInt8) { bytes.append(byte) }

    mutating func write(bytes value: some Collection<UInt8>) {
        write(Int64(value.count))
        bytes.append(contentsOf: value)
    }
}

struct FrameReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func read<Value: FrameCodable>() throws -> Value { try Value(from: &self) }

    mutating func readInt() throws -> Int64 {
        guard bytes.count - offset >= 8 else { throw ReportFrame.Unreadable() }
        defer { offset += 8 }
        return bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
    }

    mutating func readByte() throws -> UInt8 {
        guard offset < bytes.count else { throw ReportFrame.Unreadable() }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A length or a count: never more than the bytes left, each element taking at least one.
    mutating func readCount() throws -> Int {
        let count = try readInt()
        guard count >= 0, count <= bytes.count - offset else { throw ReportFrame.Unreadable() }
        return Int(count)
    }

    mutating func readBytes() throws -> ArraySlice<UInt8> {
        let count = try readCount()
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }
}

extension Int64: FrameCodable {
    func write(to frame: inout FrameWriter) { frame.write(self) }
    init(from frame: inout FrameReader) throws { self = try frame.readInt() }
}

extension Bool: FrameCodable {
    func write(to frame: inout FrameWriter) { frame.write(byte: self ? 1 : 0) }
    init(from frame: inout FrameReader) throws {
        switch try frame.readByte() {
        case 0: self = false
        case 1: self = true
        default: throw ReportFrame.Unreadable()
        }
    }
}

extension String: FrameCodable {
    func write(to frame: inout FrameWriter) { frame.write(bytes: utf8) }
    init(from frame: inout FrameReader) throws { self = String(decoding: try frame.readBytes(), as: UTF8.self) }
}

extension Optional: FrameCodable where Wrapped: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(self != nil)
        if let wrapped = self { frame.write(wrapped) }
    }

    init(from frame: inout FrameReader) throws {
        let present: Bool = try frame.read()
        self = present ? try frame.read() as Wrapped : nil
    }
}

extension Array: FrameCodable where Element: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(Int64(count))
        for element in self { frame.write(element) }
    }

    init(from frame: inout FrameReader) throws {
        let count = try frame.readCount()
        self = []
        reserveCapacity(count)
        for _ in 0..<count { append(try frame.read()) }
    }
}

extension FrameCodable where Self: RawRepresentable, RawValue == String {
    func write(to frame: inout FrameWriter) { frame.write(rawValue) }
    init(from frame: inout FrameReader) throws {
        guard let value = Self(rawValue: try frame.read()) else { throw ReportFrame.Unreadable() }
        self = value
    }
}

extension ReportStatus: FrameCodable {}
extension ReportFormat: FrameCodable {}
extension AbuseType: FrameCodable {}

extension HeaderField: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(name)
        frame.write(value)
    }

    init(from frame: inout FrameReader) throws {
        self.init(name: try frame.read(), value: try frame.read())
    }
}

extension BulkEntry: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(source)
        frame.write(type)
        frame.write(domains)
        frame.write(urls)
        frame.write(receivedAt)
    }

    init(from frame: inout FrameReader) throws {
        self.init(source: try frame.read(), type: try frame.read(), domains: try frame.read(), urls: try frame.read(),
                  receivedAt: try frame.read())
    }
}

extension OriginalMessage: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(headers)
        frame.write(bytes: bytes)
        frame.write(isHeadersOnly)
        frame.write(sentAt)
    }

    init(from frame: inout FrameReader) throws {
        self.init(headers: try frame.read(), bytes: Array(try frame.readBytes()), isHeadersOnly: try frame.read(),
                  sentAt: try frame.read())
    }
}

extension EvidenceItem: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(filename)
        frame.write(contentType)
        frame.write(bytes: bytes)
    }

    init(from frame: inout FrameReader) throws {
        self.init(filename: try frame.read(), contentType: try frame.read(), bytes: Array(try frame.readBytes()))
    }
}

extension AuthenticationResults: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(authservID)
        frame.write(results)
    }

    init(from frame: inout FrameReader) throws {
        self.init(authservID: try frame.read(), results: try frame.read())
    }
}

extension AuthenticationResults.MethodResult: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(method)
        frame.write(result)
        frame.write(reason)
        frame.write(properties)
    }

    init(from frame: inout FrameReader) throws {
        self.init(method: try frame.read(), result: try frame.read(), reason: try frame.read(), properties: try frame.read())
    }
}

extension AuthenticationResults.Property: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(ptype)
        frame.write(property)
        frame.write(value)
    }

    init(from frame: inout FrameReader) throws {
        self.init(ptype: try frame.read(), property: try frame.read(), value: try frame.read())
    }
}

extension AbuseReport: FrameCodable {
    func write(to frame: inout FrameWriter) {
        frame.write(status)
        frame.write(format)
        frame.write(type)
        frame.write(reason)
        frame.write(isForPerson)
        frame.write(reporter)
        frame.write(sourceIPs)
        frame.write(sourceNetworks)
        frame.write(domains)
        frame.write(urls)
        frame.write(emails)
        frame.write(receivedAt)
        frame.write(messageID)
        frame.write(subject)
        frame.write(references)
        frame.write(fields)
        frame.write(bulkEntries)
        frame.write(original)
        frame.write(evidence)
        frame.write(isTruncated)
        frame.write(fromDomain)
        frame.write(authenticationResults)
    }

    init(from frame: inout FrameReader) throws {
        self.init(status: try frame.read(), format: try frame.read(), type: try frame.read(), reason: try frame.read(),
                  isForPerson: try frame.read(), reporter: try frame.read(), sourceIPs: try frame.read(), sourceNetworks: try frame.read(), domains: try frame.read(),
                  urls: try frame.read(), emails: try frame.read(), receivedAt: try frame.read(), messageID: try frame.read(), subject: try frame.read(),
                  references: try frame.read(), fields: try frame.read(), bulkEntries: try frame.read(), original: try frame.read(), evidence: try frame.read(),
                  isTruncated: try frame.read(), fromDomain: try frame.read(), authenticationResults: try frame.read())
    }
}
