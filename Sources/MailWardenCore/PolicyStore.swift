// What the lock logic needs from storage. The SQLite store implements it; tests use it too.
// Times are Unix seconds (UTC) throughout.

/// A lock on one identity, active until lifted.
public struct LockRecord: Sendable, Equatable, Codable {
    public var identity: Identity
    public var lockedAt: Int64
    /// `auto` for a limit crossing, else the admin's name.
    public var lockedBy: String
    public var automatic: Bool
    public var reason: String
    public var expiresAt: Int64?
    /// The counter and figures that caused an automatic lock.
    public var counter: Counter?
    public var count: Int?
    public var limit: String?
    /// Messages refused, held or tempfailed while the lock stood.
    public var attempts: Int

    public init(identity: Identity, lockedAt: Int64, lockedBy: String, automatic: Bool, reason: String,
                expiresAt: Int64? = nil, counter: Counter? = nil, count: Int? = nil, limit: String? = nil, attempts: Int = 0) {
        self.identity = identity
        self.lockedAt = lockedAt
        self.lockedBy = lockedBy
        self.automatic = automatic
        self.reason = reason
        self.expiresAt = expiresAt
        self.counter = counter
        self.count = count
        self.limit = limit
        self.attempts = attempts
    }

    public func hasExpired(at now: Int64) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }
}

/// An identity's complaints within the complaint window, one more just counted.
public struct ComplaintTally: Sendable, Equatable {
    /// Distinct reporters: what complaint_min_reporters and limit_complaints compare.
    public var reporters: Int
    /// The reports behind the window's complaints, oldest first: what a lock notice names.
    public var reportIDs: [Int64]

    public init(reporters: Int, reportIDs: [Int64]) {
        self.reporters = reporters
        self.reportIDs = reportIDs
    }
}

/// One counted message, as the message path reports it.
public struct MessageEvent: Sendable {
    public var identity: Identity
    public var at: Int64
    public var recipients: Int
    public var spam: Bool
    public var messageID: String?
    public var queueID: String?
    /// The scanners' verdict (`spamd 15.3/5.0 spam`), when any scanned it.
    public var scan: String?
    /// The domains of its recipients (the first `maxRecipientDomains`, lower case): a complaint
    /// about it counts only from one of their organisations, or a trusted reporter.
    public var recipientDomains: [String]

    public init(identity: Identity, at: Int64, recipients: Int, spam: Bool, messageID: String?, queueID: String?, scan: String? = nil,
                recipientDomains: [String] = []) {
        self.identity = identity
        self.at = at
        self.recipients = recipients
        self.spam = spam
        self.messageID = messageID
        self.queueID = queueID
        self.scan = scan
        self.recipientDomains = recipientDomains
    }

    /// The most recipient domains kept per message: a complaint comes from one of a few big
    /// providers or from a recipient's own domain, and a mailing's thousandth domain is no help.
    public static let maxRecipientDomains = 50

    /// The domain of a recipient address (`<user@Example.COM>` → `example.com`), or nil unless it
    /// is a DNS name (A-labels, as an MTA passes it with SMTPUTF8 off; a domain literal is none).
    public static func recipientDomain(_ address: String) -> String? {
        let bare = IdentityRule.unbracketed(address).trimmingWhitespace()
        guard let at = bare.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        return PublicSuffixList.normalized(bare.utf8[bare.utf8.index(after: at)...])
    }

    /// What this message adds to each counter.
    public var counted: [(counter: Counter, amount: Int)] { Self.counted([self]) }

    /// What a run of messages adds to each counter, in `counted`'s order.
    public static func counted(_ run: [MessageEvent]) -> [(counter: Counter, amount: Int)] {
        [(.messages, run.count), (.recipients, run.reduce(0) { $0 + max($1.recipients, 0) }), (.spam, run.count { $0.spam })]
    }
}

/// The stored state of an identity that the policy needs before counting.
public struct IdentityState: Sendable {
    public var lock: LockRecord?
    public var override: IdentityOverride?

    public init(lock: LockRecord?, override: IdentityOverride?) {
        self.lock = lock
        self.override = override
    }
}

/// A store whose writes can be grouped: whatever `body` writes commits together or not at all.
public protocol TransactionalStore: Sendable {
    /// Runs `body` in one transaction: every store call it makes joins it, and the commit is as
    /// durable as the most durable of them (a lock, a report).
    func atomically<T>(_ body: () throws -> T) throws -> T
}

/// Where the policy reads an identity's lock and override: the store itself (the desk, the CLI), or
/// the milter's PolicyCache of the store.
public protocol IdentityStateSource: Sendable {
    func state(of identity: Identity) throws -> IdentityState
}

/// Every lock in force and every override, as of one policy version.
public struct PolicySnapshot: Sendable {
    public var version: Int64
    public var locks: [Identity: LockRecord]
    public var overrides: [Identity: IdentityOverride]

    public init(version: Int64, locks: [Identity: LockRecord], overrides: [Identity: IdentityOverride]) {
        self.version = version
        self.locks = locks
        self.overrides = overrides
    }

    public func state(of identity: Identity) -> IdentityState {
        IdentityState(lock: locks[identity], override: overrides[identity])
    }
}

public protocol PolicyStore: TransactionalStore, IdentityStateSource {
    /// A number that moves whenever any host or command sets, lifts or changes a lock or an override.
    func policyVersion() throws -> Int64
    /// The locks in force and the overrides. Its version is read first, so a change made during the
    /// read shows up as a version newer than the snapshot's and is read again, never missed.
    func policySnapshot() throws -> PolicySnapshot
    /// Counts a run of one identity's messages of one second (one or more: write-behind merges the
    /// counts of a busy sender's second): each message's outbound log row, their window counts and
    /// totals as one. Returns the totals within each window, the whole run included.
    func record(_ run: [MessageEvent], windows: [Counter: TimeSpan]) throws -> [Counter: Int]
    /// An identity's totals within each window ending at `at`, as committed: what `record` would
    /// return without the run, read without writing (nor waiting for a writer, on SQLite).
    func windowTotals(of identity: Identity, at: Int64, windows: [Counter: TimeSpan]) throws -> [Counter: Int]
    /// Counts one complaint from `reporter` (filed as report `reportID`) and returns the window's complaints.
    func recordComplaint(identity: Identity, reporter: String, reportID: Int64, at: Int64, window: TimeSpan) throws -> ComplaintTally
    /// Stores a lock (committed before returning); returns the lock in force (an existing one wins)
    /// and whether it is this one: only the caller that set it announces it.
    func lock(_ lock: LockRecord) throws -> (lock: LockRecord, isNew: Bool)
    /// Lifts the active lock and clears the identity's windows; false when it was not locked.
    func unlock(identity: Identity, by actor: String, reason: String?, at: Int64) throws -> Bool
    /// As `unlock` by "cooldown", but only a lock whose cooldown has run out by `at`: a lock set since
    /// the caller read the expired one (by another session, host or admin) stays.
    func liftExpiredLock(of identity: Identity, at: Int64) throws -> Bool
    /// Counts `count` refused/held/tempfailed attempts of a locked identity (apart from the windows),
    /// the last at `at`; `heldQueueID` is that of a held one (count 1).
    func recordLockedAttempts(_ count: Int, identity: Identity, at: Int64, heldQueueID: String?) throws
}

extension PolicyStore {
    /// Counts one attempt of a locked identity.
    public func recordLockedAttempt(identity: Identity, at: Int64, heldQueueID: String?) throws {
        try recordLockedAttempts(1, identity: identity, at: at, heldQueueID: heldQueueID)
    }

    /// Counts one message; returns the totals within each window, this message included.
    public func record(_ event: MessageEvent, windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        try record([event], windows: windows)
    }
}

/// Mints the `X-MailWarden-ID` token of an identity (keyed HMAC) and remembers it, so a complaint
/// carrying the token can be traced back without the header exposing a login.
public protocol IdentityTokenizer: Sendable {
    func token(for identity: Identity) throws -> String
}
