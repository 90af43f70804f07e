// What the daemon does to the store besides counting: audit entries of its own, and pruning.
import MailWardenCore

extension SQLiteStore {
    /// An audit row for an event with no transaction of its own (e.g. a config reload).
    public func appendAudit(actor: String, action: String, identity: String?, detail: String?, at: Int64 = SystemClock().now()) throws {
        try db.transaction { tx in try Self.audit(tx, at: at, actor: actor, action: action, identity: identity, detail: detail) }
    }

    /// Drops outbound-log rows older than `outboundRetention` and window events older than `windowRetention`.
    public func prune(now: Int64, outboundRetention: TimeSpan, windowRetention: TimeSpan) throws {
        try db.transaction { tx in
            try tx.query("DELETE FROM outbound WHERE at <= ?", [.int(now - outboundRetention.seconds)])
            try tx.query("DELETE FROM window_events WHERE at <= ?", [.int(now - windowRetention.seconds)])
            try tx.query("DELETE FROM complaint_events WHERE at <= ?", [.int(now - windowRetention.seconds)])
        }
    }
}
