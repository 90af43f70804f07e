// ACNS (Automated Copyright Notice System) XML: the `<Infringement>` document that copyright
// agents embed in their notice text or attach. The `<Source>` element names the infringer.
import Foundation

enum ACNSNotice {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let attached = message.attachments.filter { $0.mediaType.contains("xml") || ($0.filename ?? "").lowercased().hasSuffix(".xml") }
            .map(ReportMessage.readableText)
        guard let xml = (attached + message.texts).lazy.compactMap(infringement).first else { return false }
        let elements = XMLScanner.elements(xml, budget: budget, truncated: &draft.isTruncated)
        func value(_ parent: String, _ name: String) -> String? {
            elements.first { $0.parent == parent && $0.name == name && !$0.text.isEmpty }?.text
        }

        draft.format = .acns
        draft.type = .copyright
        if let ip = value("Source", "IP_Address") { draft.addIP(ip) }
        if let url = value("Item", "URL"), url.contains("://") { draft.addURL(url) }
        draft.receivedAt = (value("Source", "TimeStamp") ?? value("Item", "TimeStamp")).flatMap(ReportDate.parse)
        let named: [(String, String?)] = [
            ("Case-ID", value("Case", "ID")), ("Source-IP", value("Source", "IP_Address")), ("Port", value("Source", "Port")),
            ("Protocol", value("Source", "Type")), ("Title", value("Item", "Title")), ("File-Name", value("Item", "FileName")),
            ("Complainant", value("Complainant", "Entity")),
        ]
        draft.fields = named.compactMap { name, value in value.map { HeaderField(name: name, value: $0) } }
        return true
    }

    /// The `<Infringement>` document inside a text (its element name may carry a namespace prefix).
    private static func infringement(_ text: String) -> String? {
        guard text.includes("Infringement") else { return nil }
        // Native searches, and a look back of at most `maxPrefix` characters for the `<`: each
        // mention must cost its own length, not the text before it.
        for name in text.ranges(of: "Infringement") {
            let before = text[..<name.lowerBound].suffix(maxPrefix + 1)
            guard let open = before.lastIndex(of: "<"),
                  text[text.index(after: open)..<name.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || $0 == ":" || $0 == "_" }),
                  text[name.upperBound...].first.map({ $0 == ">" || $0 == " " || $0.isNewline }) == true else { continue }
            let end = text[name.upperBound...].ranges(of: "Infringement>").last?.upperBound ?? text.endIndex
            return String(text[open..<end])
        }
        return nil
    }

    /// The longest namespace prefix (`acns:`) looked for before an element name.
    private static let maxPrefix = 64
}
