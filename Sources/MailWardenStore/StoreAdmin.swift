// The admin side of the store: what `mailwarden` lists and changes (the daemon's own housekeeping is
// in StoreMaintenance.swift). Every change writes its audit row in the same transaction.
// Reads that take several statements run in one read transaction, so they see one snapshot and
// never hold up the milter's writes. Times are Unix seconds; all SQL is parameterised, and the few
// names spliced into SQL text come from fixed enums, never from input.
import Foundation
import MailWardenCore

extension SQLStore {
    // MARK: - Locks

    /// Active locks, newest first.
    public func activeLocks() throws -> [LockRecord] {
        try db.query("""
            SELECT \(Self.lockColumns) FROM locks l JOIN identities i ON i.id = l.identity_id
            WHERE l.lifted_at IS NULL ORDER BY l.locked_at DESC, l.id DESC
            """).map(Self.lockRecord)
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
    public func identities(since: Int64?, orderBy order: IdentityOrder, top: Int?) throws -> [IdentitySummary] {
        // `order.rawValue` names one of the result columns below.
        let tail = "ORDER BY \(order.rawValue) DESC, name LIMIT ?"
        let limit = SQLValue.int(Int64(top ?? Int(Int64.max)))
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

    public func identityRecord(of identity: Identity, windows: [Counter: TimeSpan], now: Int64) throws -> IdentityRecord? {
        try db.transaction(readOnly: true) { tx in
            guard let row = try tx.query("SELECT i.id, \(Self.summaryColumns) FROM identities i WHERE i.name = ?",
                                         [.text(identity)]).first, let id = row[0].int else { return nil }
            var totals = try Self.windowTotals(tx, identityID: id, now: now, windows: windows)
            totals[.complaints] = try Self.complaintReporters(tx, identityID: id, now: now,
                                                              window: windows[.complaints] ?? TimeSpan(seconds: 86400))
            let recent = try tx.query("""
                SELECT \(Self.outboundColumns) FROM outbound o JOIN identities i ON i.id = o.identity_id
                WHERE o.identity_id = ? ORDER BY o.at DESC, o.id DESC LIMIT \(recentMessagesShown)
                """, [.int(id)]).map(Self.outboundMessage)
            return IdentityRecord(summary: Self.identitySummary(Array(row.dropFirst())), totals: totals,
                                  locks: try Self.lockHistory(tx, identityID: id), recent: recent)
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

    static let outboundColumns = "i.name, o.at, o.message_id, o.queue_id, o.recipients, o.spam, o.scan, o.recipient_domains"

    static func outboundMessage(_ row: [SQLValue]) -> OutboundMessage {
        OutboundMessage(identity: row[0].text ?? "", at: row[1].int ?? 0, messageID: row[2].text, queueID: row[3].text,
                        recipients: Int(row[4].int ?? 0), spam: row[5].int == 1, scan: row[6].text,
                        recipientDomains: recipientDomains(row[7]))
    }

    /// A message's recipient domains as stored (SQLStore.recipientDomains); nil when not kept.
    static func recipientDomains(_ value: SQLValue) -> [String]? {
        value.text.map { $0.split(separator: ",").map(String.init) }
    }

    /// Audit rows at or after `since` (all without it), newest last.
    public func auditEntries(since: Int64?) throws -> [AuditEntry] {
        try db.query("SELECT at, actor, action, identity, detail FROM audit WHERE at >= ? ORDER BY at, id",
                     [.int(since ?? .min)]).map { row in
            AuditEntry(at: row[0].int ?? 0, actor: row[1].text ?? "", action: row[2].text ?? "",
                       identity: row[3].text, detail: row[4].text)
        }
    }

    // MARK: - Maintenance

    public func status() throws -> StoreStatus {
        let size = db.dialect == .sqlite
            ? "(SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())"
            : "pg_database_size(current_database())"
        return try db.transaction(readOnly: true) { tx in
            let version = try Schema.readVersion(tx, tx.dialect)
            guard let row = try tx.query("""
                SELECT (SELECT COUNT(*) FROM identities), (SELECT COUNT(*) FROM locks WHERE lifted_at IS NULL),
                       (SELECT COUNT(*) FROM held), (SELECT COUNT(*) FROM outbound), (SELECT COUNT(*) FROM audit), \(size)
                """).first else { throw StoreError(.failed, "store \(location): the status query returned no row") }
            func count(_ i: Int) -> Int { Int(row[i].int ?? 0) }
            return StoreStatus(schemaVersion: version, identities: count(0), activeLocks: count(1), held: count(2),
                               outbound: count(3), audit: count(4), databaseBytes: row[5].int ?? 0)
        }
    }

    public var connectionFigures: StoreConnectionFigures? {
        (db as? PostgreSQLDatabase).map { StoreConnectionFigures(open: $0.connectionsOpen, poolWaits: $0.poolWaits, errors: $0.errors) }
    }

    /// Writes a consistent copy of the live SQLite store to a new file (`VACUUM INTO`), while the
    /// milter runs. A PostgreSQL store is copied with pg_dump, which also sees one snapshot.
    public func backup(to target: String) throws {
        guard db.dialect == .sqlite else {
            throw StoreError(.failed, "store \(location) is PostgreSQL: back it up with pg_dump (it copies one consistent snapshot while mailwardend runs)")
        }
        guard !FileManager.default.fileExists(atPath: target) else {
            throw StoreError(.failed, "\(target) already exists: a backup never overwrites a file; name a new one")
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

    static func identityID(_ tx: any SQLTransaction, _ identity: Identity) throws -> Int64? {
        try tx.query("SELECT id FROM identities WHERE name = ?", [.text(identity)]).first?.first?.int
    }

    /// All locks of an identity, lifted ones included, newest first.
    static func lockHistory(_ tx: any SQLTransaction, identityID: Int64) throws -> [LockHistoryEntry] {
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
    private static func upsertOverride(_ tx: any SQLTransaction, _ identity: Identity, by actor: String, at: Int64) throws -> Int64 {
        let id = try touchIdentity(tx, identity, at: at, counts: nil)
        try tx.query("""
            INSERT INTO overrides(identity_id, updated_at, updated_by) VALUES(?, ?, ?)
            ON CONFLICT(identity_id) DO UPDATE SET updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """, [.int(id), .int(at), .text(actor)])
        return id
    }

    /// An override with no limits and no exemption means nothing: drop it, so `show` reports none.
    private static func dropEmptyOverride(_ tx: any SQLTransaction, identityID: Int64) throws {
        try tx.query("""
            DELETE FROM overrides WHERE identity_id = ? AND exempt = 0
                AND COALESCE(limit_messages, limit_recipients, limit_spam, limit_complaints) IS NULL
            """, [.int(identityID)])
    }
}
