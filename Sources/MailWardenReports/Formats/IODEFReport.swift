// IODEF (RFC 5070, RFC 7970) incident documents, as AbuseHUB attaches them: the offending
// addresses are the `Address` elements of a `System category="source"`; the type the incident's
// `Impact type` when it names one (dos, recon, social-engineering), else the words of its `Method`
// (`ReferenceName`, `Description`) and of the text, else a compromise (`admin`, `user`) as malware.
// AbuseHUB marks every incident `admin`, whatever its feed says, so that comes last.
import MailWardenCore

enum IODEFReport {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        guard let document = message.attachments.lazy.filter({ $0.mediaType.contains("xml") }).map(ReportMessage.readableText)
            .first(where: { $0.includes("IODEF-Document") }) else { return false }
        let elements = XMLScanner.elements(document, budget: budget, truncated: &draft.isTruncated)
        // Elements come as they close: a System's addresses close before it does.
        var pending: [IPAddress] = []
        var sources = UniqueList<IPAddress>()
        var impact: String?
        var methodWords: [String] = []
        for element in elements {
            switch element.name {
            case "Address" where ["ipv4-addr", "ipv6-addr"].contains(element.attributes["category"] ?? ""):
                if let ip = IPAddress(element.text) { pending.append(ip) }
            case "System":
                if element.attributes["category"] == "source" { sources.add(contentsOf: pending) }
                pending = []
            case "Impact":
                impact = impact ?? (element.attributes["type"] == "ext-value" ? element.attributes["ext-type"] : element.attributes["type"])
            case "ReferenceName" where element.parent == "Reference", "Description" where element.parent == "Method":
                methodWords.append(element.text)
            case "DetectTime":
                draft.receivedAt = draft.receivedAt ?? ReportDate.parse(element.text)
            default:
                break
            }
        }
        guard !sources.isEmpty else { return false }
        draft.format = .iodef
        for ip in sources where !ip.isNeverReported { draft.ips.add(ip) }
        let compromise = impact == "admin" || impact == "user"
        draft.type = (compromise ? nil : impact.flatMap(impactType))
            ?? AbuseType(keywordsIn: methodWords.joined(separator: "\n"))
            ?? AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject)
            ?? (compromise ? .malware : nil)
        return true
    }

    /// RFC 5070 section 3.10.1's impact types that name a kind of abuse, in the desk's words, and
    /// an `ext-value` type by its name.
    private static func impactType(_ type: String) -> AbuseType? {
        switch type {
        case "dos", "recon", "misconfiguration": return .networkAbuse
        case "social-engineering": return .phishing
        default: return AbuseType(named: type)
        }
    }
}
