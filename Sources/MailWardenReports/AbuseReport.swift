// The structured form of one abuse-mailbox message: what `ReportParser.parse` returns and what
// ingest stores and files on cases. Status, type and evidence use the desk's vocabulary in the core.
import MailWardenCore

/// The shape a report came in.
public enum ReportFormat: String, Sendable {
    /// RFC 5965 Abuse Reporting Format (a `message/feedback-report` part).
    case arf
    /// RFC 6591 authentication-failure or DMARC failure report (ARF, or a DMARC report in plain text).
    case authFailure = "authfail"
    /// X-ARF 0.1 (`X-ARF: yes`) with a `report.txt` part.
    case xarf01
    /// X-ARF 0.2 (`X-XARF: PLAIN`) or another YAML report attachment.
    case xarf02
    /// XARF v4: a JSON report.
    case xarfJSON = "xarf-json"
    /// CSV attachments, plain or in a ZIP archive: one entry per distinct IP.
    case csv
    /// An ACNS XML copyright notice.
    case acns
    /// An IODEF (RFC 5070) incident document.
    case iodef
    /// An XML list of URLs and addresses (such as Google Safe Browsing notices).
    case urlList = "url-list"
    /// A complaint with the offending message attached or quoted inline.
    case forwardedSpam = "forwarded-spam"
    /// Anything else that is read as text: complaints, lists of IPs, tables.
    case freeText = "free-text"
    /// A delivery status notification (bounce).
    case deliveryStatus = "dsn"
    /// An out-of-office or other automatic reply.
    case autoReply = "auto-reply"
    /// A DMARC aggregate report (RFC 7489 `rua`): statistics, not a complaint.
    case dmarcAggregate = "dmarc-aggregate"
    /// An Amazon SES notification (SNS JSON): a complaint, or a bounce or delivery event.
    case sesNotification = "ses"
    /// A spam trap's hit: the caught message itself, with the trap's fields naming its source.
    case spamTrap = "trap"
}

/// The message a report is about, as far as the report carries it.
public struct OriginalMessage: Sendable, Equatable {
    public let headers: [HeaderField]
    /// The original as attached (a whole message, or only its header block).
    public let bytes: [UInt8]
    /// True when the report carried only the original's headers (`text/rfc822-headers`).
    public let isHeadersOnly: Bool
    /// The original's Date, read by the parser (the desk worker itself reads no stranger's text).
    public let sentAt: Int64?

    init(headers: [HeaderField], bytes: [UInt8], isHeadersOnly: Bool) {
        self.init(headers: headers, bytes: bytes, isHeadersOnly: isHeadersOnly, sentAt: headers.value("Date").flatMap(ReportDate.parse))
    }

    init(headers: [HeaderField], bytes: [UInt8], isHeadersOnly: Bool, sentAt: Int64?) {
        self.headers = headers
        self.bytes = bytes
        self.isHeadersOnly = isHeadersOnly
        self.sentAt = sentAt
    }

    /// The first value of header `name`, such as `X-MailWarden-ID`, `Message-ID` or `X-Auth-User`.
    public func header(_ name: String) -> String? { headers.value(name) }
}

/// One distinct source of a bulk report (CSV rows, a list, a table), typed by its own row.
public struct BulkEntry: Sendable, Equatable {
    /// An address in canonical text, or a network in CIDR form (`192.0.2.8/29`) where a row names one.
    public let source: String
    public let type: AbuseType?
    public let domains: [String]
    public let urls: [String]
    public let receivedAt: Int64?

    /// What a case on this entry is about: an address, or a network.
    public var subjectKind: SubjectKind { IPAddress(source) == nil ? .network : .ip }
}

/// One abuse-mailbox message, parsed.
public struct AbuseReport: Sendable, Equatable {
    /// `filed`, `triage` or `ignored`. Triage with a `type` means only the subject is missing: a
    /// report whose original traces to one of our identities can still file on that identity, unless
    /// it `isForPerson`.
    public let status: ReportStatus
    public let format: ReportFormat
    public let type: AbuseType?
    /// Why the report is in triage or ignored; nil when filed.
    public let reason: String?
    /// In triage for a person by the parser's own judgement (a reply, an answer to a complaint, a
    /// ticket's notice, a forwarded bounce), not for want of a subject: never filed on a traced customer.
    public let isForPerson: Bool
    /// The reporter's address: an X-ARF `Reported-From` or XARF reporter contact when given, else From.
    public let reporter: String?
    /// Offending addresses in canonical text (IPv6 per RFC 5952), in order of mention.
    public let sourceIPs: [String]
    /// Offending networks in CIDR form, host bits cleared (`192.0.2.0/24`): named in a source field
    /// or a bulk report's row, never a range read from running text.
    public let sourceNetworks: [String]
    public let domains: [String]
    public let urls: [String]
    public let emails: [String]
    /// When the reported abuse happened or the reported message arrived, in Unix seconds.
    public let receivedAt: Int64?
    /// The report's own Message-ID, without angle brackets.
    public let messageID: String?
    /// The report's Subject, decoded.
    public let subject: String?
    /// The Message-IDs it answers: In-Reply-To, then References (newest first), without angle brackets.
    public let references: [String]
    /// The fields the format defines (feedback-report fields, X-ARF keys, XARF JSON members).
    public let fields: [HeaderField]
    /// For bulk reports: one entry per distinct address or network; a case per entry. Empty otherwise.
    public let bulkEntries: [BulkEntry]
    public let original: OriginalMessage?
    public let evidence: [EvidenceItem]
    /// Something was cut at a cap (`ReportLimits`) or the message ended early (no closing
    /// boundary): the report holds what arrived.
    public let isTruncated: Bool
    /// The domain of the report's own From: address, which authentication must align with.
    public let fromDomain: String?
    /// The report's own Authentication-Results fields, parsed (the first `maxAuthenticationResults`).
    public let authenticationResults: [AuthenticationResults]

    /// A report's header has one A-R field per authenticating hop; more is a stranger padding it.
    static let maxAuthenticationResults = 32

    /// The ticket id its subject carries (`[Ticket#2024…]`, `[rt.example.org #12345]`), lowercased.
    public var ticket: String? { ReportThreading.ticket(inSubject: subject) }

    /// A header of the reported original message, for tracing it to a customer.
    public func originalHeader(_ name: String) -> String? { original?.header(name) }
}
