// `mailwarden migrate`: copies a whole store into another, empty one (an SQLite file into a
// PostgreSQL database when one host becomes several). Table by table in key order, in one
// transaction on the target: it holds everything or nothing. Ids are kept, so report, case and
// lock numbers an admin has written down still name the same things.
import MailWardenCore

extension SQLStore {
    /// One table as the copy reads it: its columns in both schemas, and the key it is read in order of.
    struct CopiedTable {
        let name: String
        let columns: [String]
        /// Read in the order of this key (its columns, comma-separated), in batches.
        let order: String
        /// SQLite keeps this column as the rowid; the PostgreSQL schema has it as `id`.
        var rowidAsID = false
    }

    /// Every table, parents before children (the foreign keys hold at each insert).
    static let copiedTables: [CopiedTable] = [
        CopiedTable(name: "identities", columns: ["id", "name", "first_seen", "last_seen", "messages", "recipients", "spam",
                                                  "complaints", "refused", "auto_locks", "token"], order: "id"),
        CopiedTable(name: "window_events", columns: ["identity_id", "counter", "at", "amount", "running"], order: "identity_id, counter, at"),
        CopiedTable(name: "complaint_events", columns: ["id", "identity_id", "reporter", "at", "report_id"], order: "id", rowidAsID: true),
        CopiedTable(name: "locks", columns: ["id", "identity_id", "locked_at", "locked_by", "automatic", "reason", "expires_at", "counter",
                                             "count", "limit_text", "attempts", "lifted_at", "lifted_by", "lift_reason"], order: "id"),
        CopiedTable(name: "overrides", columns: ["identity_id", "limit_messages", "limit_recipients", "limit_spam", "limit_complaints",
                                                 "exempt", "updated_at", "updated_by"], order: "identity_id"),
        CopiedTable(name: "held", columns: ["queue_id", "identity_id", "lock_id", "at"], order: "queue_id"),
        CopiedTable(name: "outbound", columns: ["id", "at", "identity_id", "message_id", "queue_id", "recipients", "spam", "scan", "recipient_domains"], order: "id"),
        CopiedTable(name: "audit", columns: ["id", "at", "actor", "action", "identity", "detail"], order: "id"),
        CopiedTable(name: "settings", columns: ["key", "value"], order: "key"),
        CopiedTable(name: "reports", columns: ["id", "received_at", "message_id", "content_hash", "status", "format", "type", "reporter",
                                               "envelope_sender", "envelope_recipient", "reason", "identity", "traced_by", "fields",
                                               "decided_at", "decided_by", "note", "queue_id", "reporter_auth", "failed_parses", "ticket"], order: "id"),
        CopiedTable(name: "report_raw", columns: ["report_id", "raw"], order: "report_id"),
        CopiedTable(name: "report_indicators", columns: ["id", "report_id", "kind", "value"], order: "id", rowidAsID: true),
        CopiedTable(name: "cases", columns: ["id", "subject", "subject_kind", "type", "status", "opened_at", "last_report_at",
                                             "report_count", "identity", "traced_by", "resolved_at", "resolved_by", "resolution_note"], order: "id"),
        CopiedTable(name: "case_reports", columns: ["case_id", "report_id"], order: "case_id, report_id"),
        CopiedTable(name: "evidence", columns: ["id", "report_id", "filename", "content_type", "size", "sha256", "bytes"], order: "id"),
        CopiedTable(name: "scanner_health", columns: ["host", "label", "scans", "spam", "failures", "skipped_too_big", "last_error",
                                                      "last_error_at", "last_success_at", "latency_p50_us", "latency_p99_us", "updated_at"],
                    order: "host, label"),
        CopiedTable(name: "report_tallies", columns: ["format", "type", "status", "count"], order: "format, type, status"),
        CopiedTable(name: "desk_tallies", columns: ["event", "count"], order: "event"),
    ]

    /// Rows read and written per batch: bounded memory whatever the store's size (a batch of
    /// reports with their raw messages can still be large: raw bodies are read 50 at a time).
    static let copyBatch = 500

    /// Copies every row of this store into `target`, which must be empty (a fresh schema), and
    /// returns each table's rows. `progress` hears of a large table every 10,000 rows or so.
    @discardableResult
    public func copy(to target: SQLStore, progress: (_ table: String, _ rowsSoFar: Int) -> Void) throws -> [(table: String, rows: Int)] {
        guard try target.isEmpty() else {
            throw StoreError(.failed, "store \(target.location) is not empty: migrate copies into a new, empty store only (nothing was copied)")
        }
        // One snapshot of the source (other writers may go on; stop mailwardend for a copy that is also the last word).
        return try db.transaction(readOnly: true) { source in
            try source.allowLongStatements()
            return try target.db.transaction(durable: true) { sink in
                try sink.allowLongStatements()
                return try Self.copiedTables.map { table in
                    var copied = 0
                    let batch = table.name == "report_raw" || table.name == "evidence" ? 50 : Self.copyBatch
                    func columns(_ dialect: SQLDialect) -> [String] {
                        table.columns.map { $0 == "id" && table.rowidAsID && dialect == .sqlite ? "rowid" : $0 }
                    }
                    let select = columns(source.dialect)
                    // Each batch starts after the last row's key (a row value: `(identity_id, counter, at) > (?, ?, ?)`):
                    // paging by OFFSET made each batch read every row before it, and the copy of
                    // a million buckets took minutes instead of seconds.
                    let keyIndexes = table.order.split(separator: ",").map { name in
                        table.columns.firstIndex(of: name.trimmingWhitespace())!
                    }
                    let keyColumns = keyIndexes.map { select[$0] }.joined(separator: ", ")
                    var lastKey: [SQLValue]?
                    while true {
                        let after = lastKey.map { " WHERE (\(keyColumns)) > (" + Array(repeating: "?", count: $0.count).joined(separator: ", ") + ")" } ?? ""
                        let rows = try source.query("SELECT \(select.joined(separator: ", ")) FROM \(table.name)\(after) ORDER BY \(keyColumns) LIMIT ?",
                                                    (lastKey ?? []) + [.int(Int64(batch))])
                        if rows.isEmpty { break }
                        lastKey = rows.last.map { row in keyIndexes.map { row[$0] } }
                        let placeholders = "(" + Array(repeating: "?", count: table.columns.count).joined(separator: ", ") + ")"
                        try sink.query("""
                            INSERT INTO \(table.name)(\(columns(sink.dialect).joined(separator: ", ")))
                            VALUES \(Array(repeating: placeholders, count: rows.count).joined(separator: ", "))
                            """, rows.flatMap { $0 })
                        let before = copied
                        copied += rows.count
                        if copied / 10_000 > before / 10_000 { progress(table.name, copied) }
                        if rows.count < batch { break }
                    }
                    if sink.dialect == .postgresql && table.name == "reports" {
                        try sink.query(Schema.reportFieldsWithoutNUL)
                    }
                    if sink.dialect == .postgresql && table.columns.first == "id" {
                        // The next id a new row takes comes after the copied ones.
                        try sink.query("SELECT setval(pg_get_serial_sequence('\(table.name)', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \(table.name)")
                    }
                    return (table.name, copied)
                }
            }
        }
    }

    /// No identity, report, audit row or token key yet.
    func isEmpty() throws -> Bool {
        try db.query("""
            SELECT (SELECT COUNT(*) FROM identities) + (SELECT COUNT(*) FROM reports) + (SELECT COUNT(*) FROM audit)
                 + (SELECT COUNT(*) FROM settings)
            """).first?.first?.int == 0
    }
}
