// Lists of URLs with their addresses in XML (Google Safe Browsing's `<url_info url=... ip=...>`):
// a bulk report grouped by address, one entry per distinct IP with its URLs.
import MailWardenCore

enum URLListReport {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let documents = message.attachments.filter { $0.mediaType.contains("xml") }.map(ReportMessage.readableText)
            + message.texts.filter { $0.includes("url=") && $0.includes("<") }
        var found = false
        for document in documents {
            let elements = XMLScanner.elements(document, budget: budget, truncated: &draft.isTruncated)
            for element in elements {
                guard let url = element.attributes["url"], url.contains("://") else { continue }
                draft.addURL(url)
                let host = Hostname.ofURL(url)
                guard let ip = element.attributes["ip"].flatMap(IPAddress.init) ?? host.flatMap(IPAddress.init) else { continue }
                draft.addEntry(.address(ip), type: nil, domains: host.flatMap { Hostname.normalized($0) }.map { [$0] } ?? [], urls: [url])
                found = true
            }
            if found, draft.receivedAt == nil {
                draft.receivedAt = elements.lazy.compactMap { $0.attributes["date"].flatMap(ReportDate.parse) }.first
            }
        }
        guard found else { return false }
        let reportType = AbuseType(keywordsIn: message.texts.joined(separator: "\n"), subject: message.subject)
        draft.format = .urlList
        draft.type = reportType
        draft.settleEntryTypes(fallback: reportType)
        return true
    }
}
