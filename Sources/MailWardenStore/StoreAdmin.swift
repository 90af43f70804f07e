// The admin side of the store: what `mailwarden` lists and changes (the daemon's own housekeeping is
// in StoreMaintenance.swift). Every change writes its audit row in the same transaction.
// Reads that take several statements run in one read transaction, so they see one snapshot and
// never hold up the milter's writes. Times are Unix seconds; all SQL is parameterised, and the few
// names spliced into SQL text come from fixed enums, never from input.
import Foundation
import MailWardenCore

/// A lock with how it ended; `liftedAt` is nil while it stands.
public struct LockHistoryEntry: Sendable, Equatable {
    public let lock: LockRecord
    public let liftedAt: Int64?
    public let liftedBy: String?
    public let liftReason: String?
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
}

/// One counter's sliding window as the policy sees it now.
public struct WindowFigure: Sendable, Equatable {
    public let counter: Counter
    public let window: TimeSpan
    /// Events with `at > now - window` (distinct reporters for complaints).
    public let total: Int
    /// The limit in force (config with the identity's override applied); nil when not limited.
    public let limit: RateLimit?
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
}

/// A message put on Postfix's hold queue while its identity was locked.
public struct HeldMessage: Sendable, Equatable {
    public let queueID: String
    public let heldAt: Int64
    public let lockID: Int64?
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
}

/// One line of the audit log.
public struct AuditEntry: Sendable, Equatable {
    public let at: Int64
    public let actor: String
    public let action: String
    public let identity: Identity?
    public let detail: String?
}

/// Row counts and size of the store, for `mailwarden status`.
public struct StoreStatus: Sendable, Equatable {
    public let schemaVersion: Int
    public let identities: Int
    public let activeLocks: Int
    public let held: Int
    public let outbound: Int
    public let audit: Int
    /// Pages in use times page size: the database's size, WAL content included.
    public let databaseBytes: Int64
}

extension SQLiteStore {
    // MARK: - Locks

    /// Active locks, newest first.
    public func activeLocks() throws -> [LockRecord] {
        try db.query("""
            SELECT \(Self.lockColumns) FROM locks l JOIN identities i ON i.id = l.identity_id
            WHERE l.lifted_at IS NULL ORDER BY l.locked_at DESC, l.id DESC
            """).map(Self.lockRecord)
    }

    /// Locks an identity by hand (no expiry when `expiresAt` is nil). An existing lock wins: it is
    /// returned unchanged with `isNew` false.
    public func adminLock(_ identity: Identity, by actor: String, reason: String, expiresAt: Int64?,
                          at: Int64) throws -> (lock: LockRecord, isNew: Bool) {
        let requested = LockRecord(identity: identity, lockedAt: at, lockedBy: actor, automatic: false,
                                   reason: reason, expiresAt: expiresAt)
        let inForce = try lock(requested)
        return (inForce, inForce == requested)
    }

    /// Queue ids held for the identity, oldest first. A message released or deleted with postsuper
    /// stays listed: the store does not see the queue.
    public func heldMessages(of identity: Identity) throws -> [HeldMessage] {
        try db.query("""
            SELECT h.queue_id, h.at, h.lock_id FROM held h JOIN identities i ON i.id = h.identity_id
            WHERE i.name = ? ORDER BY h.at, h.queue_id
            """, [.text(identity)]).map { row in
            HeldMessage(queueID: row[0].text ?? "", heldAt: row[1].int ?? 0, lockID: row[2].int)
        }
    }

    // MARK: - Identities

    /// Identities with their totals; with `since`, only those that sent since then, with the figures
    /// of that period from the outbound log. `top` keeps the first N.
    public func identities(since: Int64? = nil, orderBy order: IdentityOrder = .messages, top: Int? = nil) throws -> [IdentitySummary] {
        // `order.rawValue` names one of the result columns below.
        let tail = "ORDER BY \(order.rawValue) DESC, name LIMIT ?"
        let limit = SQLValue.int(Int64(top ?? -1))
        guard let since else {
            return try db.query("SELECT \(Self.summaryColumns) FROM identities i \(tail)", [limit]).map(Self.identitySummary)
        }
        return try db.query("""
            SELECT i.name AS name, COUNT(*) AS messages, SUM(o.recipients) AS recipients, SUM(o.spam) AS spam,
                   NULL, NULL, NULL, MIN(o.at), MAX(o.at), \(Self.isLockedColumn)
            FROM outbound o JOIN identities i ON i.id = o.identity_id
            WHERE o.at >= ? GROUP BY i.id \(tail)
            """, [.int(since), limit]).map(Self.identitySummary)
    }

    /// An identity's totals, its windows under the limits in force at `now`, its override and lock
    /// history; nil when the store has never seen it.
    /// How many of an identity's latest messages `show` lists.
    static let recentMessages = 10

    public func detail(of identity: Identity, config: Config, now: Int64) throws -> IdentityDetail? {
        // The override decides the windows, so it is read first, as the milter does.
        let override = try state(of: identity).override
        let limits = config.limits(with: override)
        let windows = limits.windows
        return try db.transaction(readOnly: true) { tx in
            guard let row = try tx.query("SELECT i.id, \(Self.summaryColumns) FROM identities i WHERE i.name = ?",
                                         [.text(identity)]).first, let id = row[0].int else { return nil }
            var totals = try Self.windowTotals(tx, identityID: id, now: now, windows: windows)
            totals[.complaints] = try Self.complaintReporters(tx, identityID: id, now: now, window: windows[.complaints]!)
            let figures = Counter.allCases.map { counter in
                WindowFigure(counter: counter, window: windows[counter]!, total: totals[counter] ?? 0, limit: limits[counter])
            }
            let recent = try tx.query("""
                SELECT \(Self.outboundColumns) FROM outbound o JOIN identities i ON i.id = o.identity_id
                WHERE o.identity_id = ? ORDER BY o.at DESC, o.id DESC LIMIT \(Self.recentMessages)
                """, [.int(id)]).map(Self.outboundMessage)
            return IdentityDetail(summary: Self.identitySummary(Array(row.dropFirst())), windows: figures,
                                  override: override, locks: try Self.lockHistory(tx, identityID: id), recent: recent)
        }
    }

    // MARK: - Overrides

    /// Sets some of an identity's own limits (others stay as they are), creating the identity if needed.
    public func setLimits(_ limits: [Counter: LimitOverride], of identity: Identity, by actor: String, at: Int64) throws {
        try db.transaction { tx in
            let id = try Self.upsertOverride(tx, identity, by: actor, at: at)
            var changes: [String] = []
            for counter in Counter.allCases {
                guard let value = limits[counter] else { continue }
                // `configKey` is `limit_<counter>`, a column of `overrides`.
                try tx.query("UPDATE overrides SET \(counter.configKey) = ? WHERE identity_id = ?", [.text(value.description), .int(id)])
                changes.append("\(counter.rawValue)=\(value)")
            }
            try Self.audit(tx, at: at, actor: actor, action: "limits", identity: identity, detail: changes.joined(separator: " "))
        }
    }

    /// Drops an identity's own limits, so the config's apply again (an exemption stays);
    /// false when it had none.
    public func resetLimits(of identity: Identity, by actor: String, at: Int64) throws -> Bool {
        try db.transaction { tx in
            guard let id = try Self.identityID(tx, identity) else { return false }
            try tx.query("""
                UPDATE overrides SET limit_messages = NULL, limit_recipients = NULL, limit_spam = NULL, limit_complaints = NULL,
                    updated_at = ?, updated_by = ?
                WHERE identity_id = ? AND COALESCE(limit_messages, limit_recipients, limit_spam, limit_complaints) IS NOT NULL
                """, [.int(at), .text(actor), .int(id)])
            guard tx.changes > 0 else { return false }
            try Self.dropEmptyOverride(tx, identityID: id)
            try Self.audit(tx, at: at, actor: actor, action: "limits-reset", identity: identity, detail: nil)
            return true
        }
    }

    /// Exempts an identity from locking (it is still counted), creating it if needed, or ends its
    /// exemption; false when that changed nothing.
    public func setExempt(_ exempt: Bool, identity: Identity, by actor: String, at: Int64) throws -> Bool {
        try db.transaction { tx in
            let found: Int64? = exempt ? try Self.upsertOverride(tx, identity, by: actor, at: at) : try Self.identityID(tx, identity)
            guard let id = found else { return false }
            try tx.query("UPDATE overrides SET exempt = ?, updated_at = ?, updated_by = ? WHERE identity_id = ? AND exempt != ?",
                         [.int(exempt ? 1 : 0), .int(at), .text(actor), .int(id), .int(exempt ? 1 : 0)])
            guard tx.changes > 0 else { return false }
            try Self.dropEmptyOverride(tx, identityID: id)
            try Self.audit(tx, at: at, actor: actor, action: exempt ? "exempt" : "unexempt", identity: identity, detail: nil)
            return true
        }
    }

    // MARK: - Outbound log and audit

    /// Outbound log rows of a Message-ID, oldest first; `<id>` and `id` find the same rows.
    public func trace(messageID: String) throws -> [OutboundMessage] {
        var bare = Substring(messageID.trimmingWhitespace())
        if bare.hasPrefix("<") && bare.hasSuffix(">") { bare = bare.dropFirst().dropLast() }
        return try db.query("""
            SELECT \(Self.outboundColumns) FROM outbound o JOIN identities i ON i.id = o.identity_id
            WHERE o.message_id IN (?, ?) ORDER BY o.at, o.id
            """, [.text(String(bare)), .text("<\(bare)>")]).map(Self.outboundMessage)
    }

    static let outboundColumns = "i.name, o.at, o.message_id, o.queue_id, o.recipients, o.spam, o.scan"

    static func outboundMessage(_ row: [SQLValue]) -> OutboundMessage {
        OutboundMessage(identity: row[0].text ?? "", at: row[1].int ?? 0, messageID: row[2].text, queueID: row[3].text,
                        recipients: Int(row[4].int ?? 0), spam: row[5].int == 1, scan: row[6].text)
    }

    /// Audit rows at or after `since` (all without it), newest last.
    public func auditEntries(since: Int64? = nil) throws -> [AuditEntry] {
        try db.query("SELECT at, actor, action, identity, detail FROM audit WHERE at >= ? ORDER BY at, id",
                     [.int(since ?? .min)]).map { row in
            AuditEntry(at: row[0].int ?? 0, actor: row[1].text ?? "", action: row[2].text ?? "",
                       identity: row[3].text, detail: row[4].text)
        }
    }

    // MARK: - Maintenance

    public func status() throws -> StoreStatus {
        guard let row = try db.query("""
            SELECT (SELECT user_version FROM pragma_user_version()),
                   (SELECT COUNT(*) FROM identities), (SELECT COUNT(*) FROM locks WHERE lifted_at IS NULL),
                   (SELECT COUNT(*) FROM held), (SELECT COUNT(*) FROM outbound), (SELECT COUNT(*) FROM audit),
                   (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())
            """).first else { throw StoreError(code: 0, message: "store \(path): the status query returned no row") }
        func count(_ i: Int) -> Int { Int(row[i].int ?? 0) }
        return StoreStatus(schemaVersion: count(0), identities: count(1), activeLocks: count(2), held: count(3),
                           outbound: count(4), audit: count(5), databaseBytes: row[6].int ?? 0)
    }

    /// Writes a consistent copy of the live store to a new file (`VACUUM INTO`), while the milter runs.
    public func backup(to target: String) throws {
        guard !FileManager.default.fileExists(atPath: target) else {
            throw StoreError(code: 0, message: "\(target) already exists: a backup never overwrites a file; name a new one")
        }
        try db.query("VACUUM INTO ?", [.text(target)])
    }

    // MARK: - Shared pieces

    static let isLockedColumn = "EXISTS(SELECT 1 FROM locks l WHERE l.identity_id = i.id AND l.lifted_at IS NULL)"

    /// The columns `identitySummary` reads, from `identities i`.
    static let summaryColumns = """
        i.name AS name, i.messages AS messages, i.recipients AS recipients, i.spam AS spam, i.complaints, i.refused,
        i.auto_locks, i.first_seen, i.last_seen, \(isLockedColumn)
        """

    static func identitySummary(_ row: [SQLValue]) -> IdentitySummary {
        func count(_ i: Int) -> Int { Int(row[i].int ?? 0) }
        func optionalCount(_ i: Int) -> Int? { row[i].int.map { Int($0) } }
        return IdentitySummary(identity: row[0].text ?? "", messages: count(1), recipients: count(2), spam: count(3),
                               complaints: optionalCount(4), refused: optionalCount(5), autoLocks: optionalCount(6),
                               firstSeen: row[7].int ?? 0, lastSeen: row[8].int ?? 0, locked: row[9].int == 1)
    }

    static func identityID(_ tx: SQLiteConnection.Transaction, _ identity: Identity) throws -> Int64? {
        try tx.query("SELECT id FROM identities WHERE name = ?", [.text(identity)]).first?.first?.int
    }

    /// All locks of an identity, lifted ones included, newest first.
    static func lockHistory(_ tx: SQLiteConnection.Transaction, identityID: Int64) throws -> [LockHistoryEntry] {
        try tx.query("""
            SELECT \(lockColumns), l.lifted_at, l.lifted_by, l.lift_reason
            FROM locks l JOIN identities i ON i.id = l.identity_id
            WHERE l.identity_id = ? ORDER BY l.locked_at DESC, l.id DESC
            """, [.int(identityID)]).map { row in
            LockHistoryEntry(lock: lockRecord(row), liftedAt: row[lockColumnCount].int,
                             liftedBy: row[lockColumnCount + 1].text, liftReason: row[lockColumnCount + 2].text)
        }
    }

    /// The identity's override row, created (empty) if missing, with the identity itself; returns the identity id.
    private static func upsertOverride(_ tx: SQLiteConnection.Transaction, _ identity: Identity, by actor: String, at: Int64) throws -> Int64 {
        let id = try touchIdentity(tx, identity, at: at, counts: nil)
        try tx.query("""
            INSERT INTO overrides(identity_id, updated_at, updated_by) VALUES(?, ?, ?)
            ON CONFLICT(identity_id) DO UPDATE SET updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """, [.int(id), .int(at), .text(actor)])
        return id
    }

    /// An override with no limits and no exemption means nothing: drop it, so `show` reports none.
    private static func dropEmptyOverride(_ tx: SQLiteConnection.Transaction, identityID: Int64) throws {
        try tx.query("""
            DELETE FROM overrides WHERE identity_id = ? AND exempt = 0
                AND COALESCE(limit_messages, limit_recipients, limit_spam, limit_complaints) IS NULL
            """, [.int(identityID)])
    }
}
