// What the store answers the admin CLI and the metrics: plain values, the same whichever database
// holds them.

/// Whether a case still takes reports. A resolved case stays resolved: the next report on its
/// subject and type opens a new case.
public enum CaseStatus: String, Sendable, CaseIterable {
    case open, resolved
}

/// One line of a case listing.
public struct CaseSummary: Sendable, Equatable {
    public let id: Int64
    public let subject: CaseSubject
    public let status: CaseStatus
    public let openedAt: Int64
    public let lastReportAt: Int64
    public let reportCount: Int
    /// The customer the complaints were traced to, and how.
    public let identity: Identity?
    public let tracedBy: TraceMethod?

    public init(id: Int64, subject: CaseSubject, status: CaseStatus, openedAt: Int64, lastReportAt: Int64, reportCount: Int, identity: Identity?, tracedBy: TraceMethod?) {
        self.id = id
        self.subject = subject
        self.status = status
        self.openedAt = openedAt
        self.lastReportAt = lastReportAt
        self.reportCount = reportCount
        self.identity = identity
        self.tracedBy = tracedBy
    }
}

/// How a case was closed.
public struct CaseResolution: Sendable, Equatable {
    public let resolvedAt: Int64
    public let resolvedBy: String
    public let note: String?

    public init(resolvedAt: Int64, resolvedBy: String, note: String?) {
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.note = note
    }
}

/// An evidence attachment as listed; its bytes are read only for extraction.
public struct EvidenceRecord: Sendable, Equatable {
    public let id: Int64
    public let reportID: Int64
    public let filename: String
    public let contentType: String
    public let size: Int64
    public let sha256: String

    public init(id: Int64, reportID: Int64, filename: String, contentType: String, size: Int64, sha256: String) {
        self.id = id
        self.reportID = reportID
        self.filename = filename
        self.contentType = contentType
        self.size = size
        self.sha256 = sha256
    }
}

/// An evidence attachment with its bytes, for `case evidence --extract`. `filename` is as the
/// report named it: untrusted.
public struct EvidenceFile: Sendable, Equatable {
    public let filename: String
    public let bytes: [UInt8]
    public let sha256: String

    public init(filename: String, bytes: [UInt8], sha256: String) {
        self.filename = filename
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// A report's indicators by kind (ip, domain, url, email), each in the order the report named them.
public typealias IndicatorsByKind = [String: [String]]

/// A report as `case show` lists it.
public struct CaseReport: Sendable, Equatable {
    public let id: Int64
    public let receivedAt: Int64
    public let format: String
    public let type: AbuseType?
    public let reporter: String?
    /// `dkim:isp.example`, or `unauthenticated: why` (nil: filed before reporters were checked).
    public let reporterAuthentication: String?
    public let status: ReportStatus
    public let identity: Identity?
    public let tracedBy: TraceMethod?
    public let messageID: String?
    public let indicators: IndicatorsByKind
    public let evidence: [EvidenceRecord]

    public init(id: Int64, receivedAt: Int64, format: String, type: AbuseType?, reporter: String?, reporterAuthentication: String?, status: ReportStatus, identity: Identity?, tracedBy: TraceMethod?, messageID: String?, indicators: IndicatorsByKind, evidence: [EvidenceRecord]) {
        self.id = id
        self.receivedAt = receivedAt
        self.format = format
        self.type = type
        self.reporter = reporter
        self.reporterAuthentication = reporterAuthentication
        self.status = status
        self.identity = identity
        self.tracedBy = tracedBy
        self.messageID = messageID
        self.indicators = indicators
        self.evidence = evidence
    }
}

/// Everything `case show` tells about one case.
public struct CaseDetail: Sendable, Equatable {
    public let summary: CaseSummary
    /// Oldest first.
    public let reports: [CaseReport]
    /// nil while the case is open.
    public let resolution: CaseResolution?

    public init(summary: CaseSummary, reports: [CaseReport], resolution: CaseResolution?) {
        self.summary = summary
        self.reports = reports
        self.resolution = resolution
    }
}

/// A report waiting for a person to categorize or dismiss it.
public struct TriageReport: Sendable, Equatable {
    public let id: Int64
    public let receivedAt: Int64
    public let reporter: String?
    public let reporterAuthentication: String?
    public let format: String
    /// Why the machine could not file it.
    public let reason: String?
    /// The report's Subject: line, when the parser kept it in the report's fields (key `subject`).
    public let subjectLine: String?
    /// Its first indicators (a stranger's report may name thousands); `indicatorCount` says how many in all.
    public let indicators: IndicatorsByKind
    public let indicatorCount: Int

    public init(id: Int64, receivedAt: Int64, reporter: String?, reporterAuthentication: String?, format: String, reason: String?, subjectLine: String?,
                indicators: IndicatorsByKind, indicatorCount: Int) {
        self.id = id
        self.receivedAt = receivedAt
        self.reporter = reporter
        self.reporterAuthentication = reporterAuthentication
        self.format = format
        self.reason = reason
        self.subjectLine = subjectLine
        self.indicators = indicators
        self.indicatorCount = indicatorCount
    }
}

/// A case or triage action that was refused, worded for the admin who asked for it.
public enum CaseAdminError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownCase(Int64)
    case alreadyResolved(caseID: Int64, at: Int64, by: String)
    case unknownReport(Int64)
    case notInTriage(reportID: Int64, status: String)

    public var description: String {
        switch self {
        case .unknownCase(let id):
            "case \(id) does not exist (see 'mailwarden cases')"
        case .alreadyResolved(let id, let at, let by):
            "case \(id) was already resolved at \(RFC3339.format(at)) by \(by); the next report on its subject opens a new case"
        case .unknownReport(let id):
            "report \(id) does not exist (see 'mailwarden triage' for the reports waiting there)"
        case .notInTriage(let id, let status):
            "report \(id) is \(status), not in triage: only reports listed by 'mailwarden triage' can be categorized or dismissed"
        }
    }
}

/// A lock with how it ended; `liftedAt` is nil while it stands.
public struct LockHistoryEntry: Sendable, Equatable {
    public let lock: LockRecord
    public let liftedAt: Int64?
    public let liftedBy: String?
    public let liftReason: String?

    public init(lock: LockRecord, liftedAt: Int64?, liftedBy: String?, liftReason: String?) {
        self.lock = lock
        self.liftedAt = liftedAt
        self.liftedBy = liftedBy
        self.liftReason = liftReason
    }
}

/// What an identity listing is sorted by (highest first).
public enum IdentityOrder: String, CaseIterable, Sendable {
    case messages, spam, recipients
}

/// One line of an identity listing.
public struct IdentitySummary: Sendable, Equatable {
    public let identity: Identity
    public let messages: Int
    public let recipients: Int
    public let spam: Int
    /// nil in a listing over a period: the outbound log holds only messages, recipients and spam.
    public let complaints: Int?
    public let refused: Int?
    public let autoLocks: Int?
    /// First and last message; in a listing over a period, the first and last within it.
    public let firstSeen: Int64
    public let lastSeen: Int64
    public let locked: Bool

    public init(identity: Identity, messages: Int, recipients: Int, spam: Int, complaints: Int?, refused: Int?, autoLocks: Int?, firstSeen: Int64, lastSeen: Int64, locked: Bool) {
        self.identity = identity
        self.messages = messages
        self.recipients = recipients
        self.spam = spam
        self.complaints = complaints
        self.refused = refused
        self.autoLocks = autoLocks
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.locked = locked
    }
}

/// One counter's sliding window as the policy sees it now.
public struct WindowFigure: Sendable, Equatable {
    public let counter: Counter
    public let window: TimeSpan
    /// Events with `at > now - window` (distinct reporters for complaints).
    public let total: Int
    /// The limit in force (config with the identity's override applied); nil when not limited.
    public let limit: RateLimit?

    public init(counter: Counter, window: TimeSpan, total: Int, limit: RateLimit?) {
        self.counter = counter
        self.window = window
        self.total = total
        self.limit = limit
    }
}

/// Everything `mailwarden show` tells about one identity.
public struct IdentityDetail: Sendable {
    public let summary: IdentitySummary
    /// One figure per counter, in `Counter.allCases` order.
    public let windows: [WindowFigure]
    public let override: IdentityOverride?
    /// Newest first, lifted ones included.
    public let locks: [LockHistoryEntry]
    /// The identity's latest messages in the outbound log, newest first, with their scan verdicts.
    public let recent: [OutboundMessage]

    public var activeLock: LockRecord? { locks.first { $0.liftedAt == nil }?.lock }

    public init(summary: IdentitySummary, windows: [WindowFigure], override: IdentityOverride?, locks: [LockHistoryEntry], recent: [OutboundMessage]) {
        self.summary = summary
        self.windows = windows
        self.override = override
        self.locks = locks
        self.recent = recent
    }
}

/// A message put on Postfix's hold queue while its identity was locked.
public struct HeldMessage: Sendable, Equatable {
    public let queueID: String
    public let heldAt: Int64
    public let lockID: Int64?

    public init(queueID: String, heldAt: Int64, lockID: Int64?) {
        self.queueID = queueID
        self.heldAt = heldAt
        self.lockID = lockID
    }
}

/// One row of the outbound log.
public struct OutboundMessage: Sendable, Equatable {
    public let identity: Identity
    public let at: Int64
    public let messageID: String?
    public let queueID: String?
    public let recipients: Int
    public let spam: Bool
    /// The scanners' verdict, when scanned.
    public let scan: String?
    /// Its recipients' domains (the first 50): a complaint counts only from their organisations.
    /// nil for a message logged before they were kept.
    public let recipientDomains: [String]?

    public init(identity: Identity, at: Int64, messageID: String?, queueID: String?, recipients: Int, spam: Bool, scan: String?,
                recipientDomains: [String]? = nil) {
        self.identity = identity
        self.at = at
        self.messageID = messageID
        self.queueID = queueID
        self.recipients = recipients
        self.spam = spam
        self.scan = scan
        self.recipientDomains = recipientDomains
    }
}

/// One line of the audit log.
public struct AuditEntry: Sendable, Equatable {
    public let at: Int64
    public let actor: String
    public let action: String
    public let identity: Identity?
    public let detail: String?

    public init(at: Int64, actor: String, action: String, identity: Identity?, detail: String?) {
        self.at = at
        self.actor = actor
        self.action = action
        self.identity = identity
        self.detail = detail
    }
}

/// Row counts and size of the store, for `mailwarden status`.
public struct StoreStatus: Sendable, Equatable {
    public let schemaVersion: Int
    public let identities: Int
    public let activeLocks: Int
    public let held: Int
    public let outbound: Int
    public let audit: Int
    /// The space the database takes (SQLite: its pages, WAL content included; PostgreSQL: the database).
    public let databaseBytes: Int64

    public init(schemaVersion: Int, identities: Int, activeLocks: Int, held: Int, outbound: Int, audit: Int, databaseBytes: Int64) {
        self.schemaVersion = schemaVersion
        self.identities = identities
        self.activeLocks = activeLocks
        self.held = held
        self.outbound = outbound
        self.audit = audit
        self.databaseBytes = databaseBytes
    }
}

public struct StoreFigures: Sendable, Equatable {
    /// Locks ever set, by the policy (automatic) or by an admin.
    public var automaticLocks = 0
    public var adminLocks = 0
    /// Locks lifted when lock_cooldown ran out, or by an admin.
    public var cooldownUnlocks = 0
    public var adminUnlocks = 0
    /// Identities locked now.
    public var lockedIdentities = 0
    /// Reports waiting in triage.
    public var triageReports = 0
    /// Reports stored raw, not yet parsed by the desk worker, and when the oldest of them arrived.
    public var queuedReports = 0
    public var oldestQueuedAt: Int64?
    /// The desk's parser process dying or running over its budget, by kind (`died`, `timeout`).
    public var parseFailures: [String: Int] = [:]
    /// Reports ingested, by format, type (`none` when unclassified) and status at ingest (`duplicate` included).
    public var reports: [ReportTally] = []

    public init() {}
}

public struct ReportTally: Sendable, Equatable {
    public let format: String
    public let type: String
    public let status: String
    public let count: Int

    public init(format: String, type: String, status: String, count: Int) {
        self.format = format
        self.type = type
        self.status = status
        self.count = count
    }
}
