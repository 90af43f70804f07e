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
        var pending: [IPAddress] = []
        var pendingNetworks: [IPNetwork] = []
        var sources = UniqueList<IPAddress>()
        var sourceNetworks = UniqueList<IPNetwork>()
        var impact: String?
        var methodWords: [String] = []
        for element in elements {
            switch element.name {
            case "Address" where ["ipv4-addr", "ipv6-addr"].contains(element.attributes["category"] ?? ""):
                if let ip = IPAddress(element.text) { pending.append(ip) }
            case "Address" where ["ipv4-net", "ipv4-net-mask", "ipv6-net", "ipv6-net-mask"].contains(element.attributes["category"] ?? ""):
                if let network = network(element.text.trimmingWhitespace()) {
                    if let ip = network.singleAddress { pending.append(ip) } else { pendingNetworks.append(network) }
                }
            case "System":
                if element.attributes["category"] == "source" {
                    sources.add(contentsOf: pending)
                    sourceNetworks.add(contentsOf: pendingNetworks)
                }
                pending = []
                pendingNetworks = []
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
        guard !(sources.isEmpty && sourceNetworks.isEmpty) else { return false }
        draft.format = .iodef
        for ip in sources where !ip.isNeverReported { draft.ips.add(ip) }
        for network in sourceNetworks where !network.isNeverReported { draft.networks.add(network) }
        let compromise = impact == "admin" || impact == "user"
        draft.type = (compromise ? nil : impact.flatMap(impactType))
            ?? AbuseType(keywordsIn: methodWords.joined(separator: "\n"))
            ?? AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject)
            ?? (compromise ? .malware : nil)
        return true
    }

    /// A `-net` category's `192.0.2.0/24`, or a `-net-mask` category's `192.0.2.0/255.255.255.0`
    /// (a mask whose ones are contiguous), host bits cleared.
    private static func network(_ text: String) -> IPNetwork? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        guard let mask = IPAddress(String(parts[1])) else { return IPNetwork(text)?.masked }
        let bits: [Bool] = mask.bytes.flatMap { byte in (0..<8).map { (bit: Int) -> Bool in byte & UInt8(0x80 >> bit) != 0 } }
        let length = bits.prefix(while: { $0 }).count
        guard !bits[length...].contains(true) else { return nil }
        return IPNetwork("\(parts[0])/\(length)")?.masked
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
