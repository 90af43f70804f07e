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
}

public enum AbuseType: String, Sendable, Codable, CaseIterable {
    case spam, phishing, malware
    case networkAbuse = "network-abuse"
    case copyright
    case accountMisuse = "account-misuse"
}

public enum SubjectKind: String, Sendable, Codable {
    case identity, ip, domain
}

/// What a case is about: one identity, IP or domain, and one type of abuse.
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
public struct EvidenceItem: Sendable {
    public let filename: String
    public let contentType: String
    public let bytes: [UInt8]

    public init(filename: String, contentType: String, bytes: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// A report as it is stored: the raw message, what was parsed from it, and where it files.
public struct ReportFiling: Sendable {
    public var receivedAt: Int64
    public var messageID: String?
    /// Identifies the same message delivered twice (trace headers excluded).
    public var contentHash: String
    public var status: ReportStatus
    public var format: String
    public var type: AbuseType?
    public var reporter: String?
    public var envelopeSender: String?
    public var envelopeRecipient: String?
    public var reason: String?
    public var identity: Identity?
    public var tracedBy: TraceMethod?
    /// The parsed fields, for `case show` and searching.
    public var fields: JSONValue
    public var raw: [UInt8]
    /// Every indicator the report names, as (kind, value): ip, domain, url, email.
    public var indicators: [(kind: String, value: String)]
    public var evidence: [EvidenceItem]
    /// The cases it files on (one, or one per distinct IP for bulk CSV); empty unless status is filed.
    public var subjects: [CaseSubject]

    public init(receivedAt: Int64, messageID: String?, contentHash: String, status: ReportStatus, format: String,
                type: AbuseType?, reporter: String?, envelopeSender: String?, envelopeRecipient: String?, reason: String?,
                identity: Identity?, tracedBy: TraceMethod?, fields: JSONValue, raw: [UInt8],
                indicators: [(kind: String, value: String)], evidence: [EvidenceItem], subjects: [CaseSubject]) {
        self.receivedAt = receivedAt
        self.messageID = messageID
        self.contentHash = contentHash
        self.status = status
        self.format = format
        self.type = type
        self.reporter = reporter
        self.envelopeSender = envelopeSender
        self.envelopeRecipient = envelopeRecipient
        self.reason = reason
        self.identity = identity
        self.tracedBy = tracedBy
        self.fields = fields
        self.raw = raw
        self.indicators = indicators
        self.evidence = evidence
        self.subjects = subjects
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
    case stored(reportID: Int64, cases: [FiledCase])
    /// The same message was stored before; nothing changed.
    case duplicate(reportID: Int64)
}

public protocol CaseStore: Sendable {
    /// Stores the report and files it on its subjects' open cases (opening them as needed), in one
    /// transaction committed before returning. Idempotent on `contentHash`.
    func file(_ report: ReportFiling) throws -> FilingOutcome
    /// The identity that sent a message, from the outbound log.
    func senderIdentity(ofMessageID messageID: String) throws -> Identity?
    /// The identity an X-MailWarden-ID token was minted for.
    func identity(forToken token: String) throws -> Identity?
}
