// The parsed report crosses a process boundary (the isolated parser writes it, the desk worker reads
// it), so it is Codable; byte fields travel as Data, which JSON carries as base64 rather than as an
// array of numbers four times the size.
import Foundation
import MailWardenCore

extension OriginalMessage: Codable {
    enum CodingKeys: String, CodingKey { case headers, bytes, isHeadersOnly, sentAt }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(headers: try c.decode([HeaderField].self, forKey: .headers), bytes: [UInt8](try c.decode(Data.self, forKey: .bytes)),
                  isHeadersOnly: try c.decode(Bool.self, forKey: .isHeadersOnly), sentAt: try c.decodeIfPresent(Int64.self, forKey: .sentAt))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(headers, forKey: .headers)
        try c.encode(Data(bytes), forKey: .bytes)
        try c.encode(isHeadersOnly, forKey: .isHeadersOnly)
        try c.encodeIfPresent(sentAt, forKey: .sentAt)
    }
}

extension EvidenceItem: Codable {
    enum CodingKeys: String, CodingKey { case filename, contentType, bytes }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(filename: try c.decode(String.self, forKey: .filename), contentType: try c.decode(String.self, forKey: .contentType),
                  bytes: [UInt8](try c.decode(Data.self, forKey: .bytes)))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(filename, forKey: .filename)
        try c.encode(contentType, forKey: .contentType)
        try c.encode(Data(bytes), forKey: .bytes)
    }
}
