// Figures the metrics endpoint reads from the store rather than from the daemon's memory: locks and
// unlocks made by the CLI, reports ingested by the pipe, the triage queue. They are the same whichever
// process did the work, and they survive a restart.
import MailWardenCore

extension SQLStore {
    public func figures(now: Int64) throws -> StoreFigures {
        try db.transaction(readOnly: true) { tx in
            var f = StoreFigures()
            func count(_ row: [SQLValue]?, _ i: Int) -> Int { Int(row?[i].int ?? 0) }
            let locks = try tx.query("""
                SELECT COUNT(*) FILTER (WHERE automatic = 1), COUNT(*) FILTER (WHERE automatic = 0),
                       COUNT(*) FILTER (WHERE lifted_by = 'cooldown'), COUNT(*) FILTER (WHERE lifted_at IS NOT NULL AND lifted_by <> 'cooldown'),
                       COUNT(*) FILTER (WHERE lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?))
                FROM locks
                """, [.int(now)]).first
            (f.automaticLocks, f.adminLocks) = (count(locks, 0), count(locks, 1))
            (f.cooldownUnlocks, f.adminUnlocks, f.lockedIdentities) = (count(locks, 2), count(locks, 3), count(locks, 4))
            f.triageReports = count(try tx.query("SELECT COUNT(*) FROM reports WHERE status = 'triage'").first, 0)
            let queued = try tx.query("SELECT COUNT(*), MIN(received_at) FROM reports WHERE status = 'queued'").first
            f.queuedReports = count(queued, 0)
            f.oldestQueuedAt = queued?[1].int
            for row in try tx.query("SELECT event, count FROM desk_tallies WHERE event LIKE 'parser_%'") {
                f.parseFailures[String((row[0].text ?? "").dropFirst("parser_".count))] = Int(row[1].int ?? 0)
            }
            f.reports = try tx.query("SELECT format, type, status, count FROM report_tallies ORDER BY 1, 2, 3").map { r in
                ReportTally(format: r[0].text ?? "", type: r[1].text ?? "", status: r[2].text ?? "", count: Int(r[3].int ?? 0))
            }
            return f
        }
    }
}
