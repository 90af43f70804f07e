// What the format readers have found so far, and the rules every reader shares: how a URL
// reports its host, which names are the reporter's or ours, how bulk entries merge, and how the
// status follows from type and subject.
import MailWardenCore

/// What the readers have found so far.
struct ReportDraft {
    var format = ReportFormat.freeText
    var type: AbuseType?
    var reporter: String?
    var ips = UniqueList<IPAddress>()
    /// Offending networks, where a report names a source as a network (host bits cleared).
    var networks = UniqueList<IPNetwork>()
    var domains = UniqueList<String>()
    var urls = UniqueList<String>()
    var emails = UniqueList<String>()
    var receivedAt: Int64?
    var fields: [HeaderField] = []
    private var entryDrafts: [EntryDraft] = []
    private var entryIndex: [String: Int] = [:]
    var original: OriginalMessage?
    /// Something was cut at a cap or ended early.
    var isTruncated = false
    /// Set for bounces and auto-replies.
    var ignoredBecause: String?
    /// Set when the message is for a person, whatever the readers found.
    var triageBecause: String?
    /// Registrable domains whose links and addresses are the reporter's or ours, never reported.
    let ownDomains: Set<String>

    /// Sites that publish report formats; their links in report text are never reported.
    private static let formatSites: Set<String> = [
        "x-arf.org", "xarf.org", "mipassoc.org", "ietf.org", "rfc-editor.org", "w3.org", "acns.net",
    ]

    init(_ message: ReportMessage) {
        reporter = message.from
        ownDomains = message.reporterDomains.union(message.recipientDomains).union(Self.formatSites)
    }

    /// Whether a host belongs to the reporter, to us, or to a format's publisher.
    func isOwn(_ host: String) -> Bool {
        ownDomains.contains(Hostname.registrable(host))
    }

    mutating func addIP(_ text: String) {
        for ip in IndicatorScanner.ips(in: text) { ips.add(ip) }
    }

    mutating func addDomain(_ text: String) {
        if let name = Hostname.normalized(text.trimmingPunctuation()) { domains.add(name) }
    }

    /// A reported URL; its host is reported too (as a domain, or as an address).
    mutating func addURL(_ text: String) {
        let url = IndicatorScanner.decodedEntities(IndicatorScanner.refanged(text.trimmingWhitespace()))
        guard let host = Hostname.ofURL(url) else { return }
        if let ip = IPAddress(host) {
            urls.add(url)
            if !ip.isNeverReported { ips.add(ip) }
        } else if let name = Hostname.normalized(host) {
            urls.add(url)
            domains.add(name)
        }
    }

    /// URLs, e-mail addresses and domains found in free text, less the reporter's, ours and
    /// format publishers'. (Addresses in free text need their labels: `LabelledLines`.)
    mutating func addFreeText(_ found: TextIndicators) {
        for url in found.urls where !(Hostname.ofURL(url).map(isOwn) ?? true) { addURL(url) }
        for email in found.emails {
            let domain = String(email.split(separator: "@").last ?? "")
            guard !isOwn(domain) else { continue }
            emails.add(email)
            domains.add(domain)
        }
        for name in found.domains where !isOwn(name) { domains.add(name) }
    }

    /// What the human text adds to a structured report: an address when the fields give none, and
    /// URLs on a host the fields report (the reporter's own links and other sites are left out).
    mutating func addCorroborated(from message: ReportMessage) {
        if ips.isEmpty && networks.isEmpty {
            for text in message.texts {
                let lines = LabelledLines.parse(text)
                ips.add(contentsOf: LabelledLines.offendingIPs(lines, in: text))
                networks.add(contentsOf: LabelledLines.offendingNetworks(lines))
            }
        }
        let reportedHosts = domains.items
        guard !reportedHosts.isEmpty else { return }
        for text in message.texts {
            for url in IndicatorScanner.scan(text).urls {
                guard let host = Hostname.ofURL(url),
                      reportedHosts.contains(where: { host == $0 || host.hasSuffix("." + $0) || $0.hasSuffix("." + host) }) else { continue }
                addURL(url)
            }
        }
    }

    /// A bulk entry while rows still merge into it; its lists grow in place, so merging a row
    /// costs that row, not the entry's whole list again.
    private struct EntryDraft {
        let source: String
        var type: AbuseType?
        var domains: UniqueList<String>
        var urls: UniqueList<String>
        var receivedAt: Int64?

        var entry: BulkEntry { BulkEntry(source: source, type: type, domains: domains.items, urls: urls.items, receivedAt: receivedAt) }
    }

    var entries: [BulkEntry] { entryDrafts.map(\.entry) }

    /// An offending address, or network, as the report's source.
    mutating func addSource(_ source: IPAddressOrNetwork) {
        switch source {
        case .address(let ip): ips.add(ip)
        case .network(let network): networks.add(network)
        }
    }

    /// Adds or merges the entry for `source` (one per distinct address or network).
    mutating func addEntry(_ source: IPAddressOrNetwork, type: AbuseType?, domains: [String] = [], urls: [String] = [], receivedAt: Int64? = nil) {
        let key = source.description
        if let index = entryIndex[key] {
            entryDrafts[index].type = entryDrafts[index].type ?? type
            entryDrafts[index].domains.add(contentsOf: domains)
            entryDrafts[index].urls.add(contentsOf: urls)
            entryDrafts[index].receivedAt = entryDrafts[index].receivedAt ?? receivedAt
        } else if entryDrafts.count < ReportLimits.maxIndicators {
            entryIndex[key] = entryDrafts.count
            entryDrafts.append(EntryDraft(source: key, type: type, domains: UniqueList(domains), urls: UniqueList(urls), receivedAt: receivedAt))
        }
        addSource(source)
    }

    /// Untyped entries take the report's type; an untyped report takes its entries' commonest
    /// type (the first seen of equally common ones).
    mutating func settleEntryTypes(fallback: AbuseType?) {
        for i in entryDrafts.indices where entryDrafts[i].type == nil { entryDrafts[i].type = fallback }
        if type == nil {
            let types = entryDrafts.compactMap(\.type)
            let counts = Dictionary(grouping: types, by: { $0 }).mapValues(\.count)
            type = UniqueList(types).items.max { counts[$0, default: 0] < counts[$1, default: 0] } ?? fallback
        }
        if receivedAt == nil { receivedAt = entryDrafts.compactMap(\.receivedAt).min() }
    }

    /// `delivered`: the headers of the message as it arrived. The reporter's From and Authentication-Results
    /// come from them, not from a message it wraps (certified mail, a redirect): only the delivered
    /// message passed our MX, whose fields the milter vouches for; a wrapped one's are its sender's words.
    func report(_ message: ReportMessage, delivered: [HeaderField]) -> AbuseReport {
        let status: ReportStatus
        let reason: String?
        let hasSubject = !(ips.isEmpty && networks.isEmpty && domains.isEmpty && entryDrafts.isEmpty)
        if let ignored = ignoredBecause {
            (status, reason) = (.ignored, ignored)
        } else if let forPerson = triageBecause {
            (status, reason) = (.triage, forPerson)
        } else if type == nil {
            (status, reason) = (.triage, hasSubject ? "the type of abuse could not be determined"
                                                    : "neither the type of abuse nor an IP address or domain could be determined")
        } else if !hasSubject {
            (status, reason) = (.triage, "no IP address or domain to file the report on")
        } else {
            (status, reason) = (.filed, nil)
        }
        let messageID = message.headers.value("Message-ID")?.trimming(["<", ">", " ", "\t"])
        return AbuseReport(
            status: status, format: format, type: type, reason: reason, isForPerson: ignoredBecause == nil && triageBecause != nil,
            reporter: reporter,
            sourceIPs: ips.map(\.description), sourceNetworks: networks.map(\.description), domains: Array(domains), urls: Array(urls), emails: Array(emails),
            receivedAt: receivedAt ?? message.headers.value("Date").flatMap(ReportDate.parse),
            messageID: messageID.flatMap { $0.isEmpty ? nil : String($0) },
            subject: message.subject.isEmpty ? nil : message.subject,
            references: ReportThreading.references(message.headers), fields: fields, bulkEntries: entries, original: original,
            evidence: Evidence.collect(message), isTruncated: isTruncated,
            fromDomain: delivered.value("From").flatMap(ReportMessage.address).flatMap { $0.split(separator: "@").last.map(String.init) },
            authenticationResults: delivered.lazy.filter { $0.name.lowercased() == "authentication-results" }
                .prefix(AbuseReport.maxAuthenticationResults).compactMap { AuthenticationResults($0.value) })
    }
}
