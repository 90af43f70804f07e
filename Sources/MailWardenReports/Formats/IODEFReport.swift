// IODEF (RFC 5070, RFC 7970) incident documents, as AbuseHUB attaches them: the offending
// addresses (or networks) are the `Address` elements of a `System category="source"`; the type the incident's
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
        var pending: [IPAddressOrNetwork] = []
        var sources = UniqueList<IPAddressOrNetwork>()
        var impact: String?
        var methodWords: [String] = []
        for element in elements {
            switch element.name {
            case "Address" where ["ipv4-addr", "ipv6-addr"].contains(element.attributes["category"] ?? ""):
                if let ip = IPAddress(element.text) { pending.append(.address(ip)) }
            case "Address" where ["ipv4-net", "ipv4-net-mask", "ipv6-net", "ipv6-net-mask"].contains(element.attributes["category"] ?? ""):
                if let network = network(element.text.trimmingWhitespace()) { pending.append(network) }
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
        for source in sources where !source.isNeverReported { draft.addSource(source) }
        let compromise = impact == "admin" || impact == "user"
        draft.type = (compromise ? nil : impact.flatMap(impactType))
            ?? AbuseType(keywordsIn: methodWords.joined(separator: "\n"))
            ?? AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject)
            ?? (compromise ? .malware : nil)
        return true
    }

    /// A `-net` category's `192.0.2.0/24`, or a `-net-mask` category's `192.0.2.0/255.255.255.0`
    /// (a mask whose ones are contiguous); a /32 is an address.
    private static func network(_ text: String) -> IPAddressOrNetwork? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        guard let mask = IPAddress(String(parts[1])) else { return IPAddressOrNetwork(text) }
        let bits: [Bool] = mask.bytes.flatMap { byte in (0..<8).map { (bit: Int) -> Bool in byte & UInt8(0x80 >> bit) != 0 } }
        let length = bits.prefix(while: { $0 }).count
        guard !bits[length...].contains(true) else { return nil }
        return IPAddressOrNetwork("\(parts[0])/\(length)")
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
