// What the daemon does to the store besides counting: audit entries of its own, and pruning.
import MailWardenCore

extension SQLiteStore {
    /// An audit row for an event with no transaction of its own (e.g. a config reload).
    public func appendAudit(actor: String, action: String, identity: String?, detail: String?, at: Int64 = SystemClock().now()) throws {
        try db.transaction { tx in try Self.audit(tx, at: at, actor: actor, action: action, identity: identity, detail: detail) }
    }

    /// Rows deleted per transaction: small batches keep each write lock far shorter than the busy
    /// timeout, so pruning a large outbound log never makes the milter wait.
    static let pruneBatch = 2000

    /// Drops outbound-log and held rows older than `outboundRetention`, window events older than `windowRetention`.
    public func prune(now: Int64, outboundRetention: TimeSpan, windowRetention: TimeSpan) throws {
        let outboundCutoff = SQLValue.int(now - outboundRetention.seconds)
        let windowCutoff = SQLValue.int(now - windowRetention.seconds)
        let batches: [(String, SQLValue)] = [
            ("DELETE FROM outbound WHERE id IN (SELECT id FROM outbound WHERE at <= ? LIMIT \(Self.pruneBatch))", outboundCutoff),
            ("DELETE FROM held WHERE rowid IN (SELECT rowid FROM held WHERE at <= ? LIMIT \(Self.pruneBatch))", outboundCutoff),
            ("""
             DELETE FROM window_events WHERE (identity_id, counter, at) IN
               (SELECT identity_id, counter, at FROM window_events WHERE at <= ? LIMIT \(Self.pruneBatch))
             """, windowCutoff),
            ("DELETE FROM complaint_events WHERE rowid IN (SELECT rowid FROM complaint_events WHERE at <= ? LIMIT \(Self.pruneBatch))", windowCutoff),
        ]
        for (sql, cutoff) in batches {
            while try db.transaction({ tx in try tx.query(sql, [cutoff]); return tx.changes }) == Self.pruneBatch {}
        }
    }
}
