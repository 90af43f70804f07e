// ACNS (Automated Copyright Notice System) XML: the `<Infringement>` document that copyright
// agents embed in their notice text or attach. The `<Source>` element names the infringer.
import Foundation

enum ACNSNotice {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let attached = message.attachments.filter { $0.mediaType.contains("xml") || ($0.filename ?? "").lowercased().hasSuffix(".xml") }
            .map(ReportMessage.readableText)
        guard let xml = (attached + message.texts).lazy.compactMap(infringement).first else { return false }
        let elements = XMLScanner.elements(xml)
        func value(_ parent: String, _ name: String) -> String? {
            elements.first { $0.path.suffix(2) == [parent, name] && !$0.text.isEmpty }?.text
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
        var searchFrom = text.startIndex
        while let name = text.range(of: "Infringement", range: searchFrom..<text.endIndex) {
            searchFrom = name.upperBound
            guard let open = text[..<name.lowerBound].lastIndex(of: "<"),
                  text[text.index(after: open)..<name.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || $0 == ":" || $0 == "_" }),
                  text[name.upperBound...].first.map({ $0 == ">" || $0 == " " || $0.isNewline }) == true else { continue }
            let end = text.range(of: "Infringement>", options: .backwards, range: name.upperBound..<text.endIndex)?.upperBound ?? text.endIndex
            return String(text[open..<end])
        }
        return nil
    }
}
