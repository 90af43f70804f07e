// ReportParser: one raw abuse-mailbox message in, one `AbuseReport` out. Pure: no I/O, no clock.
//
// The story of one message:
//   1. MIME: the bytes become a tree of parts (MIMEPart), every input bounded (ReportLimits); a
//      certified-mail (PEC) envelope gives way to the message it wraps.
//   2. Sorting: the report's own text, its files, its feedback-report parts and the originals it
//      carries are told apart (ReportMessage).
//   3. Report content decides: a DMARC aggregate report (statistics) is ignored as such; else the
//      structured readers are asked in turn (XARF JSON, Amazon SES notifications, spam traps' hits,
//      ARF and auth-failure, X-ARF text, DMARC failure text, ACNS, IODEF, bulk CSV, URL lists); the
//      first that recognises its format fills the draft. Only a message none of them recognises can
//      be a bounce or an auto-reply (ignored); else it is a forwarded complaint or free text, left
//      in triage when it is a bounce a person forwarded (AutomaticReply's verdict).
//   4. Status: filed when the type and a subject (IP, network, domain, or bulk entries) are known, else
//      triage with the reason. Who sent it (From's domain, Authentication-Results) is read from the
//      message as delivered, never from one it wraps.
// It never throws and never traps on any input: garbage comes out as triage with a reason.
import MailWardenCore

public enum ReportParser {
    /// Parses one message as it arrived (any line endings).
    public static func parse(_ bytes: [UInt8]) -> AbuseReport {
        let input = bytes.prefix(ReportLimits.maxMessageBytes)
        let budget = DecodeBudget()
        let root = MIMEPart.parse(input, budget: budget)
        let message = ReportMessage(WrappedMessage.inside(root) ?? root)
        var draft = ReportDraft(message)

        // In order. A trap passes on whatever hit it whole, a bounce (backscatter) included; after it, a
        // bounce or receipt told by its machine part is read by no reader of complaints.
        let structuredReaders: [(ReportMessage, inout ReportDraft, DecodeBudget) -> Bool] = [
            XARFJSONReport.read, SESNotification.read, SpamTrapReport.read, AutomaticReply.readMachineNotice, FeedbackReport.read,
            XARFTextReport.read, DMARCTextReport.read, ACNSNotice.read, IODEFReport.read, BulkCSVReport.read, URLListReport.read,
        ]
        if DMARCAggregateReport.recognises(message) {
            draft.format = .dmarcAggregate
            draft.ignoredBecause = "DMARC aggregate report: statistics for the domain's owner, not a complaint"
        } else if !structuredReaders.contains(where: { $0(message, &draft, budget) }) {
            let verdict = AutomaticReply.classify(message)
            if case .ignored(let format, let reason)? = verdict {
                draft.format = format
                draft.ignoredBecause = reason
            } else {
                if case .forPerson(let reason)? = verdict { draft.triageBecause = reason }
                if !ForwardedComplaint.read(message, &draft, budget) {
                    FreeTextComplaint.read(message, &draft, budget)
                }
            }
        }
        if draft.original == nil, let attached = message.attachedOriginal, let inner = attached.parts.first {
            draft.original = OriginalMessage(headers: inner.headers, bytes: attached.body, isHeadersOnly: attached.mediaType.hasPrefix("text/"))
        }
        draft.isTruncated = draft.isTruncated || message.isTruncated || bytes.count > input.count || budget.isExhausted
        return draft.report(message, delivered: root.headers)
    }
}
