// ARF (RFC 5965) feedback-loop reports and their auth-failure profile (RFC 6591: DKIM, SPF and
// DMARC failure reports). The `message/feedback-report` part is a header block; its fields decide
// the type (Feedback-Type), the source (Source-IP, optional) and the reported names.
import MailWardenCore

enum FeedbackReport {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        guard let part = message.feedbackReports.first else { return false }
        let fields = splitRunOnFields(HeaderParser.parse(part.body[...], budget: budget).fields)
        let feedbackType = (fields.value("Feedback-Type") ?? "").lowercased()
        // XARF v4 wraps its JSON in an ARF envelope; without the JSON there is nothing to read.
        guard feedbackType != "xarf" else { return false }
        draft.fields = fields
        draft.format = feedbackType == "auth-failure" || fields.value("Auth-Failure") != nil ? .authFailure : .arf
        // No Feedback-Type at all (an empty feedback part): the words say; `other` and unknown values need a person.
        draft.type = AbuseType(feedbackType: feedbackType)
            ?? (feedbackType.isEmpty ? AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject) : nil)
        for value in fields.values("Source-IP") { draft.addIP(value) }
        let complainantProvider = complainantProvider(fields)
        for value in fields.values("Reported-Domain") where Hostname.normalized(value.trimmingPunctuation()) != complainantProvider {
            draft.addDomain(value)
        }
        for value in fields.values("Reported-URI") {
            // A `mailto:` Reported-URI is an address, not a web URL.
            let uri = String(value.trimming(["<", ">", " "]))
            if uri.includes("://") { draft.addURL(uri) } else if let address = ReportMessage.address(uri) { draft.emails.add(address) }
        }
        if let sender = fields.value("Original-Mail-From").flatMap(ReportMessage.address) { draft.emails.add(sender) }
        // SpamCop sends its report of a spamvertised site to the site's host: the subject is the
        // site and the address it resolved, not the spam's Source-IP (the spam source's own report
        // goes to the source's network).
        if let site = message.texts.lazy.compactMap(spamvertisedSite).first {
            draft.ips = UniqueList([site.ip])
            draft.addURL(site.url)
        }
        if draft.ips.isEmpty {
            // Source-IP is optional: the human-readable part names it, else the original's Received chain.
            for text in message.texts { draft.ips.add(contentsOf: IndicatorScanner.ips(in: text)) }
            if draft.ips.isEmpty, let hop = message.attachedOriginal?.parts.first.flatMap({ ReportMessage.offendingHop($0.headers, reporterDomains: message.reporterDomains) }) {
                draft.ips.add(hop)
            }
        }
        draft.receivedAt = (fields.value("Arrival-Date") ?? fields.value("Received-Date")).flatMap(ReportDate.parse)
            ?? message.texts.lazy.compactMap(ReportDate.first).first
        return true
    }

    /// SpamCop's `Spamvertised web site: http://…` and, below it, `http://… is 192.0.2.1; <date>`.
    private static func spamvertisedSite(_ text: String) -> (url: String, ip: IPAddress)? {
        let lines = text.prefix(ReportLimits.maxScannedTextBytes).split(separator: "\n").prefix(50).map { $0.trimmingWhitespace() }
        let label = "Spamvertised web site:"
        guard let url = lines.first(where: { $0.hasPrefix(label) })?.dropFirst(label.count).trimmingWhitespace(), url.includes("://"),
              let resolved = lines.first(where: { $0.hasPrefix(url + " is ") })?.dropFirst(url.count + 4),
              let ip = IPAddress(String(resolved.prefix { $0 != ";" && $0 != " " })) else { return nil }
        return (url, ip)
    }

    /// RFC 5965 and RFC 6591 field names, lower-cased.
    private static let fieldNames: Set<Substring> = [
        "feedback-type", "user-agent", "version", "source-ip", "reported-domain", "reported-uri", "original-mail-from",
        "original-rcpt-to", "arrival-date", "received-date", "source", "abuse-type", "incidents", "authentication-results",
        "original-envelope-id", "reporting-mta", "auth-failure", "delivery-result", "dkim-domain", "dkim-identity",
        "dkim-selector", "identity-alignment", "removal-recipient", "spf-dns",
    ]

    /// Fields some senders write one after another on one line (`Source-Ip: 192.0.2.1
    /// Reported-Domain: example.com Feedback-Type: abuse`), split where a known field name starts.
    private static func splitRunOnFields(_ fields: [HeaderField]) -> [HeaderField] {
        var split: [HeaderField] = []
        for field in fields {
            guard field.value.includes(": ") else {
                split.append(field)
                continue
            }
            var name = field.name
            var words: [Substring] = []
            for word in field.value.split(separator: " ") {
                if word.count > 1, word.hasSuffix(":"), fieldNames.contains(Substring(word.dropLast().lowercased())) {
                    split.append(HeaderField(name: name, value: words.joined(separator: " ")))
                    name = String(word.dropLast())
                    words = []
                } else {
                    words.append(word)
                }
            }
            split.append(HeaderField(name: name, value: words.joined(separator: " ")))
        }
        return split
    }

    /// The complainants' own domain, when every Original-Rcpt-To is in one domain: feedback loops
    /// run for a mailbox provider (Comcast, Cox, Bluetie) put it in Reported-Domain, and the
    /// recipients' domain is the victim's, never the offender's.
    private static func complainantProvider(_ fields: [HeaderField]) -> String? {
        let recipientDomains = Set(fields.values("Original-Rcpt-To").compactMap(ReportMessage.address)
            .compactMap { $0.split(separator: "@").last.map(String.init) })
        return recipientDomains.count == 1 ? recipientDomains.first : nil
    }
}
