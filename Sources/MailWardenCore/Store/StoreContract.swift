// The whole store as the daemon, the desk, the CLI and the metrics see it: protocols and plain values,
// no database. SQLite and PostgreSQL implement it; one contract test suite runs against each.
// Times are Unix seconds (UTC) throughout.

/// What the admin CLI lists and changes about identities, locks and overrides. Every change writes
/// its audit row in the same transaction.
public protocol AdminStore: PolicyStore {
    /// Active locks, newest first.
    func activeLocks() throws -> [LockRecord]
    /// Queue ids held for the identity, oldest first.
    func heldMessages(of identity: Identity) throws -> [HeldMessage]
    /// Identities with their totals; with `since`, only those that sent since then, with the figures
    /// of that period from the outbound log. `top` keeps the first N.
    func identities(since: Int64?, orderBy order: IdentityOrder, top: Int?) throws -> [IdentitySummary]
    /// One identity's totals, its window totals at `now` (complaints: distinct reporters), its lock
    /// history and latest messages; nil when the store has never seen it.
    func identityRecord(of identity: Identity, windows: [Counter: TimeSpan], now: Int64) throws -> IdentityRecord?
    /// Sets some of an identity's own limits (others stay as they are), creating the identity if needed.
    func setLimits(_ limits: [Counter: LimitOverride], of identity: Identity, by actor: String, at: Int64) throws
    /// Drops an identity's own limits (an exemption stays); false when it had none.
    func resetLimits(of identity: Identity, by actor: String, at: Int64) throws -> Bool
    /// Exempts an identity from locking, or ends its exemption; false when that changed nothing.
    func setExempt(_ exempt: Bool, identity: Identity, by actor: String, at: Int64) throws -> Bool
    /// Outbound log rows of a Message-ID, oldest first; `<id>` and `id` find the same rows.
    func trace(messageID: String) throws -> [OutboundMessage]
    /// Audit rows at or after `since` (all without it), newest last.
    func auditEntries(since: Int64?) throws -> [AuditEntry]
    /// An audit row for an event with no transaction of its own (a config reload).
    func appendAudit(actor: String, action: String, identity: String?, detail: String?, at: Int64) throws
}

/// An identity as stored, before the limits in force are applied to its windows.
public struct IdentityRecord: Sendable {
    public let summary: IdentitySummary
    public let totals: [Counter: Int]
    /// Newest first, lifted ones included.
    public let locks: [LockHistoryEntry]
    /// Latest messages in the outbound log, newest first.
    public let recent: [OutboundMessage]

    public init(summary: IdentitySummary, totals: [Counter: Int], locks: [LockHistoryEntry], recent: [OutboundMessage]) {
        self.summary = summary
        self.totals = totals
        self.locks = locks
        self.recent = recent
    }
}

/// How many of an identity's latest messages `show` lists.
public let recentMessagesShown = 10

extension AdminStore {
    public func identities() throws -> [IdentitySummary] { try identities(since: nil, orderBy: .messages, top: nil) }
    public func auditEntries() throws -> [AuditEntry] { try auditEntries(since: nil) }

    /// Locks an identity by hand (no expiry when `expiresAt` is nil). An existing lock wins: it is
    /// returned unchanged with `isNew` false.
    public func adminLock(_ identity: Identity, by actor: String, reason: String, expiresAt: Int64?,
                          at: Int64) throws -> (lock: LockRecord, isNew: Bool) {
        try lock(LockRecord(identity: identity, lockedAt: at, lockedBy: actor, automatic: false,
                            reason: reason, expiresAt: expiresAt))
    }

    /// Everything `mailwarden show` tells: the windows under the limits in force at `now` (the
    /// config's, with the identity's override applied, as the milter applies them).
    public func detail(of identity: Identity, config: Config, now: Int64) throws -> IdentityDetail? {
        // The override decides the windows, so it is read first, as the milter does.
        let override = try state(of: identity).override
        let limits = config.limits(with: override)
        let windows = limits.windows
        guard let record = try identityRecord(of: identity, windows: windows, now: now) else { return nil }
        let figures = Counter.allCases.map { counter in
            WindowFigure(counter: counter, window: windows[counter]!, total: record.totals[counter] ?? 0, limit: limits[counter])
        }
        return IdentityDetail(summary: record.summary, windows: figures, override: override, locks: record.locks, recent: record.recent)
    }
}

/// What `mailwarden cases`, `case …` and `triage …` list and change. A refused action throws a
/// `CaseAdminError` that says what to do instead.
public protocol CaseAdminStore: CaseStore {
    /// Cases, newest activity first. `subject` matches a case's subject (ignoring ASCII case) or any
    /// indicator of any report filed on it; an IP address also matches in its canonical form.
    func cases(status: CaseStatus?, type: AbuseType?, subject: String?) throws -> [CaseSummary]
    /// One case with its reports (their indicators and evidence metadata) and its resolution.
    func caseDetail(id: Int64) throws -> CaseDetail
    /// Closes an open case; it takes no more reports.
    @discardableResult
    func resolveCase(id: Int64, by actor: String, note: String?, at: Int64) throws -> CaseSummary
    /// The evidence attachments of every report on a case, oldest first.
    func evidence(ofCase id: Int64) throws -> [EvidenceFile]
    /// A report's raw message as it arrived (for a person to read what the parser could not).
    func reportRaw(id: Int64) throws -> [UInt8]
    /// Reports waiting in triage, oldest first.
    func triageQueue() throws -> [TriageReport]
    /// Files a triage report on the open case of `subject` (opening one if there is none), as
    /// `file(_:)` would have, and records who decided.
    func categorize(report id: Int64, as subject: CaseSubject, by actor: String, at: Int64) throws -> FiledCase
    /// Who sent a report (its reporter, else its envelope sender) and when it arrived.
    func origin(ofReport id: Int64) throws -> (reporter: String?, receivedAt: Int64)?
    /// Takes a report out of triage without a case.
    func dismiss(report id: Int64, by actor: String, note: String?, at: Int64) throws
    /// Puts a triage report back in the desk's queue, to be parsed and filed afresh (after a parser
    /// that failed on every report is fixed, or upgraded): what it was filed with is forgotten.
    func requeue(report id: Int64, by actor: String, at: Int64) throws
}

extension CaseAdminStore {
    public func cases() throws -> [CaseSummary] { try cases(status: nil, type: nil, subject: nil) }
}

/// The daemon's housekeeping and what `status` and the metrics read.
public protocol MaintenanceStore: Sendable {
    /// Row counts and size.
    func status() throws -> StoreStatus
    /// Figures the metrics endpoint reads: the same whichever process did the work.
    func figures(now: Int64) throws -> StoreFigures
    /// Drops outbound-log rows older than `outboundRetention` and held rows as old but of a lock
    /// lifted since, window events older than `windowRetention`.
    func prune(now: Int64, outboundRetention: TimeSpan, windowRetention: TimeSpan) throws
    /// Drops reports (with their evidence and indicators) received before `now - retention`; queued ones stay.
    func pruneReports(now: Int64, retention: TimeSpan) throws
    /// Replaces this host's stored scanner health with its daemon's current figures.
    func saveScannerHealth(_ rows: [ScannerHealth], host: String, at: Int64) throws
    /// The scanner health each host's daemon last wrote, with the host and when it wrote it.
    func scannerHealth() throws -> [(host: String, health: ScannerHealth, updatedAt: Int64)]
    /// Writes a consistent copy of the live store to `target`, while the milter runs (where the
    /// database can; PostgreSQL's copies are pg_dump's job).
    func backup(to target: String) throws
    /// This process's connections to a database server (PostgreSQL); nil for a file (SQLite).
    var connectionFigures: StoreConnectionFigures? { get }
}

/// How this process's connections to the database fare, for the metrics.
public struct StoreConnectionFigures: Sendable, Equatable {
    /// Connections open now (at most the pool's size).
    public let open: Int
    /// Times a thread waited for a free connection.
    public let poolWaits: Int
    /// Failed statements and connection attempts, an exhausted pool included.
    public let errors: Int

    public init(open: Int, poolWaits: Int, errors: Int) {
        self.open = open
        self.poolWaits = poolWaits
        self.errors = errors
    }
}

/// The key X-MailWarden-ID tokens are minted under, and the tokens minted.
public protocol IdentityTokenStore: Sendable {
    /// The HMAC key, created (32 random bytes) on first use and kept in the store, so a backup carries it.
    func tokenKey() throws -> [UInt8]
    /// Remembers a minted token beside its identity, for `identity(forToken:)`.
    func rememberToken(_ token: String, for identity: Identity) throws
}

/// The whole store.
public protocol Store: AdminStore, CaseAdminStore, ReportQueue, MaintenanceStore, IdentityTokenStore {
    /// Where it is, for messages: a file, or host:port/dbname (never a password).
    var location: String { get }
    var schemaVersion: Int { get }
}
