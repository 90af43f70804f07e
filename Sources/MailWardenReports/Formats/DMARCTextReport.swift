// DMARC failure reports sent as plain text instead of RFC 6591 ARF (Exim's, for one): a
// `Sender IP Address:` / `Sender Domain:` summary above a copy of the failed message's headers.
// Only the labelled summary counts; the copied headers name relays and recipients too.

enum DMARCTextReport {
    private static let ipLabels: Set<String> = ["sender ip address", "sender ip", "source ip", "source ip address", "source-ip", "ip address"]
    private static let domainLabels: Set<String> = ["sender domain", "reported domain", "header from domain", "from domain", "policy domain"]
    private static let dateLabels: Set<String> = ["received date", "arrival date", "arrival-date", "received-date"]

    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let subject = message.subject.lowercased()
        let body = message.texts.joined(separator: "\n")
        let lowerBody = body.lowercased()
        let isFailureReport = (subject.contains("dmarc") && ["failure", "forensic", "fail"].contains { subject.contains($0) })
            || lowerBody.includes("failed the published dmarc policy") || lowerBody.includes("dmarc forensic report")
        guard isFailureReport else { return false }

        draft.format = .authFailure
        draft.type = .phishing
        for line in LabelledLines.parse(body) {
            let field = HeaderField(name: line.label, value: line.value)
            if ipLabels.contains(line.label) {
                draft.addIP(line.value)
            } else if domainLabels.contains(line.label) {
                draft.addDomain(line.value)
            } else if dateLabels.contains(line.label), draft.receivedAt == nil {
                draft.receivedAt = ReportDate.parse(line.value)
            } else {
                continue
            }
            draft.fields.append(field)
        }
        if draft.ips.isEmpty { draft.ips.add(contentsOf: IndicatorScanner.ips(in: message.subject)) }
        return true
    }
}
