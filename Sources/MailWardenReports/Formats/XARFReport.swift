// X-ARF: version 0.1 (`X-ARF: yes`) and 0.2 (`X-XARF: PLAIN`) carry a YAML `report.txt`; other
// reporters attach the same kind of YAML without the header (Webiron's `arf_report*.txt`,
// C-SIRT's `MALWARE-report.txt`). XARF v4 carries one JSON document, and so does the older
// capitalised schema Netcraft (`"Version": "1"`) and Abusix (`"3"`) send: the fields in `Report`,
// the reporter in `ReporterInfo`. Either way the report's
// fields name the source, the type and the reporter; the human text adds only what the fields
// corroborate (an address when the fields give none, URLs on the reported hosts).
import Foundation
import MailWardenCore

enum XARFTextReport {
    /// Keys only an X-ARF style report has; two of them make a YAML attachment a report.
    private static let markerKeys: Set<String> = ["reported-from", "report-type", "category", "source-type", "schema-url", "report-id"]
    /// Keys that name what is reported, for YAML reports without the X-ARF vocabulary.
    private static let subjectKeys: Set<String> = ["source", "ip", "uri", "url", "domain"]

    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let headers = message.headers
        let declared = headers.value("X-XARF") != nil || headers.value("X-ARF") != nil || headers.value("Open-ARF") != nil
        var documents: [(name: String, fields: [HeaderField])] = []
        for part in message.attachments where part.body.count <= ReportLimits.maxDocumentBytes {
            let name = part.filename ?? ""
            let lowerName = name.lowercased()
            // YAML comes as text, or as a file whose name says text (Webiron sends octet-stream).
            let yamlName = lowerName.hasSuffix(".yaml") || lowerName.hasSuffix(".yml")
            guard part.mediaType.hasPrefix("text/") || part.mediaType.hasSuffix("yaml") || yamlName || lowerName.hasSuffix(".txt") else { continue }
            let fields = YAMLSubset.fields(ReportMessage.readableText(part))
            let keys = Set(fields.map { $0.name.lowercased() })
            let named = declared || yamlName || lowerName.includes("report")
            if keys.intersection(markerKeys).count >= 2 || (named && !keys.isDisjoint(with: subjectKeys)) {
                documents.append((name, fields))
            }
        }
        guard !documents.isEmpty else { return false }

        let all = documents.flatMap(\.fields)
        draft.fields = all
        if headers.value("X-XARF") != nil {
            draft.format = .xarf02
        } else if headers.value("X-ARF") != nil || all.value("Version")?.hasPrefix("0.1") == true {
            draft.format = .xarf01
        } else {
            draft.format = .xarf02
        }
        for (name, fields) in documents {
            read(fields, into: &draft)
            if draft.type == nil { draft.type = AbuseType(keywordsIn: name + " " + (fields.value("signature") ?? "")) }
        }
        if let reporter = all.value("Reported-From").flatMap(ReportMessage.address) { draft.reporter = reporter }
        draft.receivedAt = ["Date", "first_seen", "first-seen", "timestamp", "last_seen"].lazy
            .compactMap { all.value($0).flatMap(ReportDate.parse) }.first
        if draft.type == nil { draft.type = AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject) }
        draft.addCorroborated(from: message)
        return true
    }

    private static func read(_ fields: [HeaderField], into draft: inout ReportDraft) {
        let sourceType = fields.value("Source-Type")?.lowercased() ?? ""
        for field in fields {
            switch field.name.lowercased() {
            case "source":
                if sourceType.hasPrefix("ip") || IPAddress(field.value) != nil {
                    draft.addIP(field.value)
                } else if sourceType == "uri" || sourceType == "url" || field.value.contains("://") {
                    draft.addURL(field.value)
                } else if sourceType == "email", let address = ReportMessage.address(field.value) {
                    draft.emails.add(address)
                } else {
                    draft.addDomain(field.value)
                }
            case "ip", "source-ip", "src-ip", "ip-address": draft.addIP(field.value)
            case "domain", "reported-domain": draft.addDomain(field.value)
            case "uri", "url", "download-link", "source-url", "reported-uri": draft.addURL(field.value)
            default: break
            }
        }
        if draft.type == nil {
            draft.type = fields.value("Report-Type").flatMap(AbuseType.init(named:)) ?? fields.value("Category").flatMap(AbuseType.init(named:))
        }
    }
}

enum XARFJSONReport {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let candidates = message.attachments.filter { $0.mediaType.contains("json") || ($0.filename ?? "").lowercased().hasSuffix(".json") }
            .map { $0.body } + message.texts.filter { $0.includes("\"xarf_version\"") }.map { Array($0.utf8) }
        guard let document = candidates.lazy.compactMap(parse).first else { return false }

        draft.format = .xarfJSON
        draft.fields = flattened(document)
        // The older schema keeps the report in `Report` under other names; v4's are looked up first.
        let older = document["Report"] as? [String: Any]
        func text(_ v4: String, _ olderKey: String? = nil) -> String? {
            document[v4] as? String ?? olderKey.flatMap { older?[$0] as? String }
        }
        // Fields first; a type the fields do not name (`"ReportType": "Other"`) is the text's vote.
        draft.type = [text("type", "ReportType"), text("category")].lazy.compactMap { $0.flatMap(AbuseType.init(named:)) }.first
            ?? AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject)
        for value in [text("source_identifier", "SourceIp"), text("source_ip"), text("source")].compactMap({ $0 }) {
            if IPAddress(value) != nil { draft.addIP(value) } else if value.contains("://") { draft.addURL(value) } else { draft.addDomain(value) }
        }
        for value in [text("url", "Url"), text("source_url", "SourceUrl")].compactMap({ $0 }) { draft.addURL(value) }
        let reporter = document["reporter"] as? [String: Any]
        let reporterInfo = document["ReporterInfo"] as? [String: Any]
        if let contact = (reporter?["contact"] ?? reporter?["email"] ?? reporterInfo?["ReporterOrgEmail"]) as? String,
           let address = ReportMessage.address(contact) {
            draft.reporter = address
        }
        draft.receivedAt = [text("timestamp", "Date"), text("first_seen"), text("reported_at")].lazy.compactMap { $0.flatMap(ReportDate.parse) }.first
        draft.addCorroborated(from: message)
        return true
    }

    /// A JSON object that looks like an XARF report: v4, or the older schema with its `Report`.
    private static func parse(_ bytes: [UInt8]) -> [String: Any]? {
        guard bytes.count <= ReportLimits.maxDocumentBytes,
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        let isV4 = object["xarf_version"] != nil || (object["category"] != nil && object["source_identifier"] != nil)
        // Abusix's legacy feedback reports carry the version in their `message/feedback-report` part, not here.
        let isCapitalised = object["ReporterInfo"] is [String: Any] && object["Report"] is [String: Any]
        return isV4 || isCapitalised ? object : nil
    }

    /// Top-level members as fields, nested objects as `outer.inner`, for storing with the report.
    private static func flattened(_ object: [String: Any], prefix: String = "") -> [HeaderField] {
        object.keys.sorted().flatMap { key -> [HeaderField] in
            let name = prefix + key
            switch object[key] {
            case let nested as [String: Any]: return flattened(nested, prefix: name + ".")
            case let text as String: return [HeaderField(name: name, value: text)]
            case let number as NSNumber: return [HeaderField(name: name, value: number.stringValue)]
            case let list as [Any]: return [HeaderField(name: name, value: list.map { "\($0)" }.joined(separator: ", "))]
            default: return []
            }
        }
    }
}
