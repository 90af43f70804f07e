// What the daemon does to the store besides counting: audit entries of its own, and pruning.
import MailWardenCore

extension SQLStore {
    /// An audit row for an event with no transaction of its own (e.g. a config reload).
    public func appendAudit(actor: String, action: String, identity: String?, detail: String?, at: Int64) throws {
        try db.transaction { tx in try Self.audit(tx, at: at, actor: actor, action: action, identity: identity, detail: detail) }
    }

    /// Rows deleted per transaction: small batches keep each write lock far shorter than the busy
    /// timeout, so pruning a large outbound log never makes the milter wait.
    static let pruneBatch = 2000

    /// One batch of pruning per table: its rows at or before a cutoff, found by the table's index
    /// on time (a scan would hold the write lock while it reads every row). Outbound-log and held
    /// rows are cut at the outbound retention, the others at the window retention.
    static func pruneStatements(_ dialect: SQLDialect) -> [(sql: String, byOutboundRetention: Bool)] {
        [
            ("DELETE FROM outbound WHERE id IN (SELECT id FROM outbound WHERE at <= ? LIMIT \(pruneBatch))", true),
            // Mail held under a lock still in force waits in the MTA's hold queue for a person.
            ("""
             DELETE FROM held WHERE queue_id IN (SELECT queue_id FROM held WHERE at <= ?
               AND NOT EXISTS (SELECT 1 FROM locks WHERE locks.id = held.lock_id AND locks.lifted_at IS NULL) LIMIT \(pruneBatch))
             """, true),
            ("""
             DELETE FROM window_events WHERE (identity_id, counter, at) IN
               (SELECT identity_id, counter, at FROM window_events WHERE at <= ? LIMIT \(pruneBatch))
             """, false),
            ("""
             DELETE FROM complaint_events WHERE \(dialect.rowOrder) IN
               (SELECT \(dialect.rowOrder) FROM complaint_events WHERE at <= ? LIMIT \(pruneBatch))
             """, false),
        ]
    }

    /// Drops outbound-log rows older than `outboundRetention` and held rows as old but of a lock
    /// lifted since, window events older than `windowRetention`; and the scanner health of hosts
    /// that have not written it for `outboundRetention` (retired or renamed: a running daemon
    /// writes it every few seconds). That table holds a few rows per host: no index, no batches.
    public func prune(now: Int64, outboundRetention: TimeSpan, windowRetention: TimeSpan) throws {
        for statement in Self.pruneStatements(db.dialect) {
            let cutoff = SQLValue.int(now - (statement.byOutboundRetention ? outboundRetention : windowRetention).seconds)
            while try db.transaction({ tx in try tx.query(statement.sql, [cutoff]); return tx.changes }) == Self.pruneBatch {}
        }
        try db.query("DELETE FROM scanner_health WHERE updated_at <= ?", [.int(now - outboundRetention.seconds)])
    }
}

extension SQLStore {
    /// Replaces this host's stored scanner health with its daemon's current figures.
    public func saveScannerHealth(_ rows: [ScannerHealth], host: String, at: Int64) throws {
        try db.transaction { tx in
            try tx.query("DELETE FROM scanner_health WHERE host = ?", [.text(host)])
            for h in rows {
                try tx.query("""
                    INSERT INTO scanner_health(host, label, scans, spam, failures, skipped_too_big, last_error, last_error_at,
                                               last_success_at, latency_p50_us, latency_p99_us, updated_at)
                    VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(host), .text(h.label), .int(Int64(h.scans)), .int(Int64(h.spam)), .int(Int64(h.failures)),
                          .int(Int64(h.skippedTooBig)), SQLValue(h.lastError), SQLValue(h.lastErrorAt), SQLValue(h.lastSuccessAt),
                          SQLValue(h.latencyP50), SQLValue(h.latencyP99), .int(at)])
            }
        }
    }

    /// The scanner health each host's daemon last wrote, with the host and when it wrote it.
    public func scannerHealth() throws -> [(host: String, health: ScannerHealth, updatedAt: Int64)] {
        try db.query("""
            SELECT host, label, scans, spam, failures, skipped_too_big, last_error, last_error_at, last_success_at,
                   latency_p50_us, latency_p99_us, updated_at
            FROM scanner_health ORDER BY host, label
            """).map { r in
            func n(_ i: Int) -> Int { Int(r[i].int ?? 0) }
            return (r[0].text ?? "", ScannerHealth(label: r[1].text ?? "", scans: n(2), spam: n(3), failures: n(4), skippedTooBig: n(5),
                                                   lastError: r[6].text, lastErrorAt: r[7].int, lastSuccessAt: r[8].int,
                                                   latencyP50: r[9].int, latencyP99: r[10].int), r[11].int ?? 0)
        }
    }
}
