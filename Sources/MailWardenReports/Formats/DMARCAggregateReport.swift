// DMARC aggregate reports (RFC 7489 section 7.2): a domain's daily statistics, sent by receivers to
// the address in its `rua=` tag, as XML in a ZIP or gzip attachment. They accuse nobody: the XML
// names the schema's site and every sending IP, good or bad. Kept, never a case. Asked before the
// structured readers, which would take the XML's addresses and domains for subjects.
enum DMARCAggregateReport {
    /// The RFC's subject (`Report Domain: example.com Submitter: google.com Report-ID: …`), its file
    /// name (`receiver!policy-domain!begin!end.xml.gz`), or the XML itself.
    static func recognises(_ message: ReportMessage) -> Bool {
        let subject = message.subject.lowercased()
        if subject.includes("report domain:") && subject.includes("submitter:") { return true }
        return message.attachments.contains { part in
            let name = part.filename?.lowercased() ?? ""
            if name.split(separator: "!").count >= 4, [".xml", ".xml.gz", ".gz", ".zip"].contains(where: name.hasSuffix) { return true }
            guard part.mediaType.hasSuffix("/xml") else { return false }
            // Its opening only: the whole document need not be decoded to be told apart.
            let head = String(decoding: part.body.prefix(4_096), as: UTF8.self)
            return head.includes("<feedback") && head.includes("<policy_published")
        }
    }
}
