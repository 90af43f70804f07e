// The abuse desk's vocabulary: report statuses, abuse types, case subjects, and what the desk needs
// from storage. Parsing lives in MailWardenReports; deciding where a report files lives in
// MailWardenDesk; SQLite implements CaseStore.

public enum ReportStatus: String, Sendable, Codable, CaseIterable {
    /// Filed on a case.
    case filed
    /// Type or subject unknown: waits for a person.
    case triage
    /// Kept but makes no case (bounces, auto-replies).
    case ignored
    /// A person decided it needs no case.
    case dismissed
    /// A reply or follow-up in the thread of a case (it answers one of the case's reports, or
    /// carries the same reporter's ticket id): kept on that case; it opens none and counts toward
    /// no lock.
    case correspondence
}

/// What ties a report to earlier ones: the Message-IDs it answers and the reporter's ticket id.
public struct ReportThread: Sendable, Equatable {
    /// In-Reply-To, then References (newest first), without angle brackets.
    public let references: [String]
    /// `organisational-domain id`: a ticket id is the reporter's, so it is scoped to its domain.
    public let ticket: String?

    public init(references: [String], ticket: String?) {
        self.references = references
        self.ticket = ticket
    }
}

public enum AbuseType: String, Sendable, Codable, CaseIterable {
    case spam, phishing, malware
    case networkAbuse = "network-abuse"
    case copyright
    case accountMisuse = "account-misuse"
}

public enum SubjectKind: String, Sendable, Codable {
    case identity, ip, network, domain
}

/// What a case is about: one identity, IP, network (CIDR, as a blocklist or a report names one) or
/// domain, and one type of abuse.
public struct CaseSubject: Sendable, Hashable {
    public let kind: SubjectKind
    public let value: String
    public let type: AbuseType

    public init(kind: SubjectKind, value: String, type: AbuseType) {
        self.kind = kind
        self.value = value
        self.type = type
    }
}

/// How a complaint was traced to one of our identities.
public enum TraceMethod: String, Sendable, Codable {
    case token = "token-header"
    case outboundLog = "outbound-log"
    case identityRule = "identity-rule"
}

/// An attachment kept as evidence.
public struct EvidenceItem: Sendable, Equatable {
    public let filename: String
    public let contentType: String
    public let bytes: [UInt8]

    public init(filename: String, contentType: String, bytes: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// A report as the milter or the pipe received it: raw bytes nobody has read yet.
public struct RawReport: Sendable {
    public let receivedAt: Int64
    public let envelopeSender: String?
    public let envelopeRecipient: String?
    /// The MTA's queue id of the message that carried it, when the milter received it.
    public let queueID: String?
    public let raw: [UInt8]

    public init(receivedAt: Int64, envelopeSender: String?, envelopeRecipient: String?, queueID: String?, raw: [UInt8]) {
        self.receivedAt = receivedAt
        self.envelopeSender = envelopeSender
        self.envelopeRecipient = envelopeRecipient
        self.queueID = queueID
        self.raw = raw
    }
}

/// What storing a raw report did.
public enum EnqueueOutcome: Sendable, Equatable {
    /// Stored durably; the desk worker will parse it.
    case queued(reportID: Int64)
    /// The same message was stored before (fingerprint match); nothing changed.
    case duplicate(reportID: Int64)

    public var reportID: Int64 {
        switch self { case .queued(let id), .duplicate(let id): id }
    }
}

/// A stored report still waiting for the desk worker.
public struct QueuedReport: Sendable {
    public let id: Int64
    public let raw: [UInt8]
    /// Parses of it that died or ran over their budget so far.
    public let failedParses: Int
    /// When it arrived (as an import found it delivered), in Unix seconds.
    public let receivedAt: Int64

    public init(id: Int64, raw: [UInt8], failedParses: Int, receivedAt: Int64) {
        self.id = id
        self.raw = raw
        self.failedParses = failedParses
        self.receivedAt = receivedAt
    }
}

/// Why the isolated parser gave no answer for a report.
public enum ParseFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The parser process died (a trap, or the address-space limit), by this signal or exit status.
    case died(signal: Int32?, status: Int32?)
    /// The parser process ran over its time budget and was killed.
    case overBudget(seconds: Int)

    public var description: String {
        switch self {
        case .died(let signal?, _): "parser died: signal \(signal)"
        case .died(nil, let status): "parser died: exit status \(status ?? -1)"
        case .overBudget(let seconds): "parser over its \(seconds) s budget"
        }
    }

    /// The metric label: died or timeout.
    public var kind: String {
        if case .overBudget = self { return "timeout" }
        return "died"
    }
}

/// The durable queue between the MTA-facing processes (milter, pipe) and the desk worker.
public protocol ReportQueue: Sendable {
    /// Stores the raw reports in one durable commit before returning, each deduplicated by its
    /// fingerprint (also against those before it in `reports`); one outcome per report, in order.
    func enqueue(_ reports: [RawReport]) throws -> [EnqueueOutcome]
    /// Ids of queued reports, oldest first.
    func queuedReportIDs(limit: Int) throws -> [Int64]
    /// A queued report; nil once it has been parsed (or was never queued).
    func queuedReport(id: Int64) throws -> QueuedReport?
    /// Counts one failed parse of a queued report; at `giveUpAfter` failures the report leaves the
    /// queue for triage, raw bytes kept, with the failure as its reason. Returns true when it did.
    func recordParseFailure(reportID: Int64, _ failure: ParseFailure, giveUpAfter: Int) throws -> Bool
}

extension ReportQueue {
    /// Stores the raw report before returning (a durable commit), deduplicated by its fingerprint.
    public func enqueue(_ report: RawReport) throws -> EnqueueOutcome {
        try enqueue([report])[0]
    }
}

/// One message in the outbound log, as the desk needs it to prove a complaint is about our mail.
public struct OutboundRecord: Sendable, Equatable {
    public let identity: Identity
    public let queueID: String?
    public let at: Int64
    /// Its recipients' domains; nil for a message logged before they were kept.
    public let recipientDomains: [String]?
    /// How many messages of one Message-ID the desk looks at: more is no sender's reuse but a flood.
    public static let maxPerMessageID = 20

    public init(identity: Identity, queueID: String?, at: Int64, recipientDomains: [String]? = nil) {
        self.identity = identity
        self.queueID = queueID
        self.at = at
        self.recipientDomains = recipientDomains
    }
}

/// What the desk decided for a parsed, queued report.
public struct ReportFiling: Sendable {
    /// The queued report this files.
    public var reportID: Int64
    public var messageID: String?
    public var status: ReportStatus
    public var format: String
    public var type: AbuseType?
    public var reporter: String?
    /// `dkim:isp.example` (method and organisational domain), or `unauthenticated: why`.
    public var reporterAuthentication: String
    public var reason: String?
    public var identity: Identity?
    public var tracedBy: TraceMethod?
    /// The parsed fields, for `case show` and searching.
    public var fields: JSONValue
    /// Every indicator the report names, as (kind, value): ip, domain, url, email.
    public var indicators: [(kind: String, value: String)]
    public var evidence: [EvidenceItem]
    /// The cases it files on (one, or one per distinct IP for bulk CSV); empty unless status is filed.
    public var subjects: [CaseSubject]
    /// The reporter's ticket id (ReportThread.ticket), kept so that follow-ups on it find the case.
    public var ticket: String?
    /// The cases it is correspondence on; empty unless status is correspondence.
    public var threadCases: [Int64]

    public init(reportID: Int64, messageID: String?, status: ReportStatus, format: String, type: AbuseType?, reporter: String?,
                reporterAuthentication: String, reason: String?, identity: Identity?, tracedBy: TraceMethod?, fields: JSONValue,
                indicators: [(kind: String, value: String)], evidence: [EvidenceItem], subjects: [CaseSubject],
                ticket: String? = nil, threadCases: [Int64] = []) {
        self.reportID = reportID
        self.messageID = messageID
        self.status = status
        self.format = format
        self.type = type
        self.reporter = reporter
        self.reporterAuthentication = reporterAuthentication
        self.reason = reason
        self.identity = identity
        self.tracedBy = tracedBy
        self.fields = fields
        self.indicators = indicators
        self.evidence = evidence
        self.subjects = subjects
        self.ticket = ticket
        self.threadCases = threadCases
    }
}

/// One case a report was filed on.
public struct FiledCase: Sendable, Equatable {
    public let id: Int64
    public let subject: CaseSubject
    /// False when the report joined a case that was already open.
    public let opened: Bool

    public init(id: Int64, subject: CaseSubject, opened: Bool) {
        self.id = id
        self.subject = subject
        self.opened = opened
    }
}

public enum FilingOutcome: Sendable, Equatable {
    case filed(cases: [FiledCase])
    /// The report was no longer queued (another worker filed it); nothing changed.
    case notQueued
}

public protocol CaseStore: TransactionalStore {
    /// Records what the desk made of a queued report and files it on its subjects' open cases
    /// (opening them as needed). Idempotent: a report no longer queued is left as it is.
    func file(_ report: ReportFiling) throws -> FilingOutcome
    /// Files a queued report on some of its subjects ahead of `file(_:)`, a few per transaction, so
    /// that a report naming thousands never holds the store's writer for long (SQLite has one, which
    /// the milter's counts wait for). Idempotent: a subject already filed on is not counted again,
    /// so a filing cut short is simply done again. nil when the report is no longer queued.
    func fileAhead(reportID: Int64, subjects: [CaseSubject], identity: Identity?, tracedBy: TraceMethod?) throws -> [FiledCase]?
    /// The cases of the earlier reports `thread` ties to: those whose Message-ID it answers, and those
    /// that carried its ticket. Oldest case first.
    func cases(inThreadOf thread: ReportThread) throws -> [FiledCase]
    /// The latest messages (at most `OutboundRecord.maxPerMessageID`, newest first) with this Message-ID in
    /// the outbound log: who sent each, with what queue id, when, to which domains. A sender may
    /// reuse one Message-ID (a list manager's chunks, a Bcc sent apart).
    func outboundMessages(withMessageID messageID: String) throws -> [OutboundRecord]
    /// The identity an X-MailWarden-ID token was minted for.
    func identity(forToken token: String) throws -> Identity?
}
