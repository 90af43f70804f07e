// The abuse desk's storage. A report arrives raw (status 'queued', committed with synchronous=FULL
// before the milter or the pipe says "stored"); the desk worker later records what it parsed,
// its indicators and evidence, and files it on cases per (subject, type), in one transaction.
import Foundation
import MailWardenCore

extension SQLStore: ReportQueue {
    public func enqueue(_ reports: [RawReport]) throws -> [EnqueueOutcome] {
        let hashes = reports.map { ReportFingerprint.of($0.raw) }
        return try db.transaction(durable: true) { tx in
            try zip(reports, hashes).map { report, hash in
                func duplicate() throws -> EnqueueOutcome? {
                    // Also finds a report queued earlier in this batch: the transaction sees its own rows.
                    guard let id = try tx.query("SELECT id FROM reports WHERE content_hash = ?", [.text(hash)]).first?.first?.int else { return nil }
                    try Self.tally(tx, format: Self.unparsed, type: nil, status: "duplicate")
                    return .duplicate(reportID: id)
                }
                if let known = try duplicate() { return known }
                // The conflict catches the same report queued at this moment by another host's
                // ingest: the unique hash lets one insert win. (Looking first keeps report ids
                // dense: PostgreSQL spends an id on an insert that conflicts.)
                guard let id = try tx.query("""
                    INSERT INTO reports(received_at, content_hash, status, format, envelope_sender, envelope_recipient, queue_id, fields)
                    VALUES(?, ?, 'queued', ?, ?, ?, ?, '{}') ON CONFLICT(content_hash) DO NOTHING RETURNING id
                    """, [.int(report.receivedAt), .text(hash), .text(Self.unparsed), SQLValue(report.envelopeSender),
                          SQLValue(report.envelopeRecipient), SQLValue(report.queueID)]).first?.first?.int else {
                    guard let raced = try duplicate() else { throw StoreError(.failed, "store \(location): the report was not stored") }
                    return raced
                }
                try tx.query("INSERT INTO report_raw(report_id, raw) VALUES(?, ?)", [.int(id), .blob(report.raw)])
                return .queued(reportID: id)
            }
        }
    }

    public func queuedReportIDs(limit: Int) throws -> [Int64] {
        try db.query("SELECT id FROM reports WHERE status = 'queued' ORDER BY id LIMIT ?", [.int(Int64(limit))]).compactMap { $0.first?.int }
    }

    public func queuedReport(id: Int64) throws -> QueuedReport? {
        guard let row = try db.query("""
            SELECT b.raw, r.failed_parses, r.received_at
            FROM reports r JOIN report_raw b ON b.report_id = r.id WHERE r.id = ? AND r.status = 'queued'
            """, [.int(id)]).first else { return nil }
        return QueuedReport(id: id, raw: row[0].blob ?? [], failedParses: Int(row[1].int ?? 0), receivedAt: row[2].int ?? 0)
    }

    public func recordParseFailure(reportID: Int64, _ failure: ParseFailure, giveUpAfter: Int) throws -> Bool {
        try db.transaction(durable: true) { tx in
            try tx.query("""
                INSERT INTO desk_tallies(event, count) VALUES(?, 1) ON CONFLICT(event) DO UPDATE SET count = desk_tallies.count + 1
                """, [.text("parser_\(failure.kind)")])
            guard let failed = try tx.query("""
                UPDATE reports SET failed_parses = failed_parses + 1, reason = ? WHERE id = ? AND status = 'queued' RETURNING failed_parses
                """, [.text(failure.description), .int(reportID)]).first?.first?.int else { return false }
            guard failed >= giveUpAfter else { return false }
            try tx.query("UPDATE reports SET status = 'triage' WHERE id = ?", [.int(reportID)])
            try Self.tally(tx, format: Self.unparsed, type: nil, status: ReportStatus.triage.rawValue)
            return true
        }
    }

    /// The format of a report nobody has parsed (queued, or given up on).
    static let unparsed = "unparsed"
}

extension SQLStore: CaseStore {
    /// An ordinary commit: the raw report is already durable, and a filing lost to a power cut
    /// leaves it queued, to be parsed and filed again (its lock, if it set one, commits durably).
    public func file(_ report: ReportFiling) throws -> FilingOutcome {
        try db.transaction { tx in
            guard let receivedAt = try tx.query("""
                UPDATE reports SET message_id = ?, status = ?, format = ?, type = ?, reporter = ?, reporter_auth = ?, reason = ?,
                                   identity = ?, traced_by = ?, fields = ?, ticket = ?
                WHERE id = ? AND status = 'queued' RETURNING received_at
                """, [SQLValue(Self.indexable(report.messageID)), .text(report.status.rawValue), .text(report.format), SQLValue(report.type?.rawValue),
                      SQLValue(report.reporter), .text(report.reporterAuthentication), SQLValue(report.reason),
                      SQLValue(report.identity), SQLValue(report.tracedBy?.rawValue),
                      .text(report.fields.replacingNUL().rendered(indent: nil)), SQLValue(Self.indexable(report.ticket)), .int(report.reportID)]).first?.first?.int else {
                return .notQueued
            }
            try Self.tally(tx, format: report.format, type: report.type, status: report.status.rawValue)
            let reportID = report.reportID
            // Many rows per statement: a bulk report's tens of thousands cost milliseconds, not a second.
            // A few statement sizes only, each prepared once and kept (SQLite's cache, PostgreSQL's cap).
            var indicators = report.indicators.filter { Self.indexable($0.value) != nil }[...]
            for rows in Self.indicatorRowsPerInsert {
                while indicators.count >= rows {
                    let batch = indicators.prefix(rows)
                    indicators = indicators.dropFirst(rows)
                    try tx.query("INSERT INTO report_indicators(report_id, kind, value) VALUES " + batch.map { _ in "(?, ?, ?)" }.joined(separator: ", "),
                                 batch.flatMap { [.int(reportID), .text($0.kind), .text($0.value.lowercased())] })
                }
            }
            for e in report.evidence {
                let digest = sha256Hex(e.bytes)
                try tx.query("INSERT INTO evidence(report_id, filename, content_type, size, sha256, bytes) VALUES(?, ?, ?, ?, ?, ?)",
                             [.int(reportID), .text(e.filename), .text(e.contentType), .int(Int64(e.bytes.count)), .text(digest), .blob(e.bytes)])
            }
            // Correspondence is kept on its cases (`case show` lists it) but counts as none of their reports.
            for caseID in report.threadCases {
                try tx.query("INSERT INTO case_reports(case_id, report_id) VALUES(?, ?) ON CONFLICT DO NOTHING", [.int(caseID), .int(reportID)])
            }
            let filed = try report.subjects.map { subject in
                try Self.fileOnCase(tx, reportID: reportID, subject: subject, receivedAt: receivedAt,
                                    identity: report.identity, tracedBy: report.tracedBy)
            }
            return .filed(cases: filed)
        }
    }

    /// Rows of one INSERT of indicators, largest first: 3 parameters each, well under SQLite's 32,766
    /// and PostgreSQL's 65,535.
    static let indicatorRowsPerInsert = [500, 50, 1]
    /// Subjects filed per transaction ahead of the report's own: about 400 statements, a few
    /// milliseconds of SQLite's writer, with a pause after each. Measured with 10,000 subjects, a
    /// count of mail waited at most 104–180 ms meanwhile, against 1,030 ms in one transaction.
    static let subjectsPerTransaction = 100

    public func fileAhead(reportID: Int64, subjects: [CaseSubject], identity: Identity?, tracedBy: TraceMethod?) throws -> [FiledCase]? {
        var filed: [FiledCase] = []
        for start in stride(from: 0, to: subjects.count, by: Self.subjectsPerTransaction) {
            if start > 0 { usleep(10_000) }
            let chunk = subjects[start..<min(start + Self.subjectsPerTransaction, subjects.count)]
            guard let cases = try db.transaction({ tx -> [FiledCase]? in
                guard let receivedAt = try tx.query("SELECT received_at FROM reports WHERE id = ? AND status = 'queued'",
                                                    [.int(reportID)]).first?.first?.int else { return nil }
                return try chunk.map { try Self.fileOnCase(tx, reportID: reportID, subject: $0, receivedAt: receivedAt,
                                                           identity: identity, tracedBy: tracedBy) }
            }) else { return nil }
            filed += cases
        }
        return filed
    }

    /// Counts one report in report_tallies.
    static func tally(_ tx: any SQLTransaction, format: String, type: AbuseType?, status: String) throws {
        try tx.query("""
            INSERT INTO report_tallies(format, type, status, count) VALUES(?, ?, ?, 1)
            ON CONFLICT(format, type, status) DO UPDATE SET count = report_tallies.count + 1
            """, [.text(format), .text(type?.rawValue ?? "none"), .text(status)])
    }

    /// Files a stored report on the open case of `subject` (opening one if needed) and counts it
    /// there, once however often it is filed there; shared by `file(_:)`, `fileAhead` and the triage
    /// decision `categorize`.
    static func fileOnCase(_ tx: any SQLTransaction, reportID: Int64, subject: CaseSubject, receivedAt: Int64,
                           identity: Identity?, tracedBy: TraceMethod?) throws -> FiledCase {
        let (caseID, opened) = try openCase(tx, subject, at: receivedAt, identity: identity, tracedBy: tracedBy)
        guard try !tx.query("INSERT INTO case_reports(case_id, report_id) VALUES(?, ?) ON CONFLICT DO NOTHING RETURNING case_id",
                            [.int(caseID), .int(reportID)]).isEmpty else {
            return FiledCase(id: caseID, subject: subject, opened: opened)
        }
        try tx.query("""
            UPDATE cases SET report_count = report_count + 1, last_report_at = \(tx.dialect.greatest)(last_report_at, ?),
                             identity = COALESCE(identity, ?), traced_by = COALESCE(traced_by, ?)
            WHERE id = ?
            """, [.int(receivedAt), SQLValue(identity), SQLValue(tracedBy?.rawValue), .int(caseID)])
        return FiledCase(id: caseID, subject: subject, opened: opened)
    }

    /// The open case for a subject, opened now if there is none.
    static func openCase(_ tx: any SQLTransaction, _ subject: CaseSubject, at: Int64,
                         identity: Identity?, tracedBy: TraceMethod?) throws -> (id: Int64, opened: Bool) {
        let key: [SQLValue] = [.text(subject.kind.rawValue), .text(subject.value), .text(subject.type.rawValue)]
        func open() throws -> Int64? {
            try tx.query("SELECT id FROM cases WHERE subject_kind = ? AND subject = ? AND type = ? AND status = 'open'", key).first?.first?.int
        }
        if let id = try open() { return (id, false) }
        // Two hosts' desks may open the same case at once: the unique index on open cases lets one win.
        if let id = try tx.query("""
            INSERT INTO cases(subject_kind, subject, type, opened_at, last_report_at, identity, traced_by)
            VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(subject_kind, subject, type) WHERE status = 'open' DO NOTHING RETURNING id
            """, key + [.int(at), .int(at), SQLValue(identity), SQLValue(tracedBy?.rawValue)]).first?.first?.int {
            return (id, true)
        }
        guard let id = try open() else { throw StoreError(.failed, "store: could not open a case for \(subject.value)") }
        return (id, false)
    }

    public func cases(inThreadOf thread: ReportThread) throws -> [FiledCase] {
        let references = Array(thread.references.prefix(20))
        guard !references.isEmpty || thread.ticket != nil else { return [] }
        // Placeholders only: one `?` per reference (at most 20), the ids bound as parameters.
        var matches: [String] = []
        if !references.isEmpty { matches.append("r.message_id IN (\(references.map { _ in "?" }.joined(separator: ", ")))") }
        if thread.ticket != nil { matches.append("r.ticket = ?") }
        let rows = try db.query("""
            SELECT DISTINCT c.id, c.subject_kind, c.subject, c.type
            FROM reports r JOIN case_reports cr ON cr.report_id = r.id JOIN cases c ON c.id = cr.case_id
            WHERE \(matches.joined(separator: " OR ")) ORDER BY c.id
            """, references.map { .text($0) } + (thread.ticket.map { [.text($0)] } ?? []))
        return rows.compactMap { row in
            guard let id = row[0].int, let kind = row[1].text.flatMap(SubjectKind.init(rawValue:)), let value = row[2].text,
                  let type = row[3].text.flatMap(AbuseType.init(rawValue:)) else { return nil }
            return FiledCase(id: id, subject: CaseSubject(kind: kind, value: value, type: type), opened: false)
        }
    }

    public func outboundMessages(withMessageID messageID: String) throws -> [OutboundRecord] {
        let bare = messageID.trimmingWhitespace().trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        return try db.query("""
            SELECT i.name, o.queue_id, o.at, o.recipient_domains FROM outbound o JOIN identities i ON i.id = o.identity_id
            WHERE o.message_id IN (?, ?) ORDER BY o.at DESC, o.id DESC LIMIT \(OutboundRecord.maxPerMessageID)
            """, [.text(bare), .text("<\(bare)>")]).compactMap { row in
            row[0].text.map { OutboundRecord(identity: $0, queueID: row[1].text, at: row[2].int ?? 0, recipientDomains: Self.recipientDomains(row[3])) }
        }
    }

    /// Reports deleted per transaction: each takes its raw message and evidence with it (up to
    /// abuse_max_size), so a batch of the log's size held SQLite's one writer for seconds.
    static let reportPruneBatch = 20

    /// Drops reports (with their evidence and indicators) received before `now - retention`, a few
    /// at a time with a pause between, so the counts of mail go on between them.
    public func pruneReports(now: Int64, retention: TimeSpan) throws {
        let cutoff = SQLValue.int(now - retention.seconds)
        while try db.transaction({ tx in
            // A report still queued is kept whatever its age: the desk has not read it yet.
            try tx.query("""
                DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE received_at <= ? AND status != 'queued' LIMIT \(Self.reportPruneBatch))
                """, [cutoff])
            return tx.changes
        }) == Self.reportPruneBatch {
            usleep(10_000)
        }
    }
}
