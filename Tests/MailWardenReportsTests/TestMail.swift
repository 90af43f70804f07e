// Building test messages: text with a chosen line ending, and base64 the way mailers wrap it.
import Foundation
@testable import MailWardenReports

enum TestMail {
    /// `text` (written with LF) as bytes with `ending` between lines.
    static func bytes(_ text: String, ending: String = "\n") -> [UInt8] {
        Array((ending == "\n" ? text : text.replacingOccurrences(of: "\n", with: ending)).utf8)
    }

    /// Base64 in 76-character lines.
    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
    }

    static func parse(_ text: String, ending: String = "\n") -> AbuseReport {
        ReportParser.parse(bytes(text, ending: ending))
    }

    /// A ZIP archive holding `files` uncompressed (method 0), as Info-ZIP writes it.
    static func storedZIP(_ files: [(name: String, content: [UInt8])]) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
        var out: [UInt8] = []
        var directory: [UInt8] = []
        for file in files {
            let name = Array(file.name.utf8)
            let offset = out.count
            let sizes = u32(0) + u32(file.content.count) + u32(file.content.count)
            out += u32(0x0403_4B50) + u16(10) + u16(0) + u16(0) + u16(0) + u16(0) + sizes + u16(name.count) + u16(0) + name + file.content
            directory += u32(0x0201_4B50) + u16(20) + u16(10) + u16(0) + u16(0) + u16(0) + u16(0) + sizes
                + u16(name.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + name
        }
        let directoryOffset = out.count
        out += directory
        out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(files.count) + u16(files.count) + u32(directory.count) + u32(directoryOffset) + u16(0)
        return out
    }
}
