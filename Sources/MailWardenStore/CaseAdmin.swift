// The abuse desk's admin side: what `mailwarden cases`, `case …` and `triage …` list and change
// (filing a report as it arrives is in SQLiteCaseStore.swift). Reads of several statements run in
// one read transaction, so they see one snapshot; every change writes its audit row in the same
// transaction. All SQL is parameterised. A refused action throws a `CaseAdminError` that says what
// to do instead.
import MailWardenCore

extension SQLStore {
    // MARK: - Cases

    /// Cases, newest activity first. `subject` matches a case's subject (ignoring ASCII case) or any
    /// indicator of any report filed on it; an IP address or network also matches in its canonical
    /// form, and an address also matches the cases of the networks that hold it.
    public func cases(status: CaseStatus? = nil, type: AbuseType? = nil, subject: String? = nil) throws -> [CaseSummary] {
        let matching = try cases(status: status, type: type, matching: subject)
        guard case .address(let address)? = subject.flatMap(IPAddressOrNetwork.init) else { return matching }
        let known = Set(matching.map(\.id))
        let holding = try cases(status: status, type: type, matching: nil, kind: .network).filter { summary in
            !known.contains(summary.id) && IPNetwork(summary.subject.value)?.contains(address) == true
        }
        guard !holding.isEmpty else { return matching }
        return (matching + holding).sorted { ($0.lastReportAt, $0.id) > ($1.lastReportAt, $1.id) }
    }

    private func cases(status: CaseStatus?, type: AbuseType?, matching subject: String?, kind: SubjectKind? = nil) throws -> [CaseSummary] {
        let lowercased = subject?.lowercased()
        let canonical = subject.flatMap { IPAddressOrNetwork($0)?.description } ?? lowercased
        // Each parameter is bound where it is used (PostgreSQL numbers them, SQLite may not); the
        // casts give a NULL its type, which PostgreSQL cannot infer from `IS NULL`.
        let (statusValue, typeValue) = (SQLValue(status?.rawValue), SQLValue(type?.rawValue))
        let (lowerValue, canonicalValue, kindValue) = (SQLValue(lowercased), SQLValue(canonical), SQLValue(kind?.rawValue))
        return try db.query("""
            SELECT \(Self.caseColumns) FROM cases c
            WHERE (CAST(? AS TEXT) IS NULL OR c.status = ?) AND (CAST(? AS TEXT) IS NULL OR c.type = ?)
              AND (CAST(? AS TEXT) IS NULL OR c.subject_kind = ?)
              AND (CAST(? AS TEXT) IS NULL OR LOWER(c.subject) IN (?, ?) OR c.id IN (
                    SELECT cr.case_id FROM report_indicators ri JOIN case_reports cr ON cr.report_id = ri.report_id
                    WHERE ri.value IN (?, ?)))
            ORDER BY c.last_report_at DESC, c.id DESC
            """, [statusValue, statusValue, typeValue, typeValue, kindValue, kindValue,
                  lowerValue, lowerValue, canonicalValue, lowerValue, canonicalValue])
            .map(Self.caseSummary)
    }

    /// One case with its reports (their indicators and evidence metadata) and its resolution.
    public func caseDetail(id: Int64) throws -> CaseDetail {
        try db.transaction(readOnly: true) { tx in
            let (summary, resolution) = try Self.caseRecord(tx, id)
            let indicators = try Self.indicatorsByReport(tx.query("""
                SELECT ri.report_id, ri.kind, ri.value FROM report_indicators ri JOIN case_reports cr ON cr.report_id = ri.report_id
                WHERE cr.case_id = ? ORDER BY ri.\(tx.dialect.rowOrder)
                """, [.int(id)]))
            let evidence = Dictionary(grouping: try tx.query("""
                SELECT e.id, e.report_id, e.filename, e.content_type, e.size, e.sha256
                FROM evidence e JOIN case_reports cr ON cr.report_id = e.report_id WHERE cr.case_id = ? ORDER BY e.id
                """, [.int(id)]).map { row in
                EvidenceRecord(id: row[0].int ?? 0, reportID: row[1].int ?? 0, filename: row[2].text ?? "",
                               contentType: row[3].text ?? "", size: row[4].int ?? 0, sha256: row[5].text ?? "")
            }, by: \.reportID)
            let reports = try tx.query("""
                SELECT r.id, r.received_at, r.format, r.type, r.reporter, r.status, r.identity, r.traced_by, r.message_id, r.reporter_auth
                FROM reports r JOIN case_reports cr ON cr.report_id = r.id WHERE cr.case_id = ? ORDER BY r.received_at, r.id
                """, [.int(id)]).map { row in
                let reportID = row[0].int ?? 0
                return CaseReport(id: reportID, receivedAt: row[1].int ?? 0, format: row[2].text ?? "",
                                  type: try Self.decodedIfPresent(row[3], "reports.type"), reporter: row[4].text,
                                  reporterAuthentication: row[9].text, status: try Self.decoded(row[5], "reports.status"), identity: row[6].text,
                                  tracedBy: try Self.decodedIfPresent(row[7], "reports.traced_by"), messageID: row[8].text,
                                  indicators: indicators[reportID] ?? [:], evidence: evidence[reportID] ?? [])
            }
            return CaseDetail(summary: summary, reports: reports, resolution: resolution)
        }
    }

    /// Closes an open case; it takes no more reports.
    @discardableResult
    public func resolveCase(id: Int64, by actor: String, note: String?, at: Int64) throws -> CaseSummary {
        try db.transaction { tx in
            let (summary, resolution) = try Self.caseRecord(tx, id)
            if let resolution {
                throw CaseAdminError.alreadyResolved(caseID: id, at: resolution.resolvedAt, by: resolution.resolvedBy)
            }
            try tx.query("UPDATE cases SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution_note = ? WHERE id = ?",
                         [.int(at), .text(actor), SQLValue(note), .int(id)])
            try Self.audit(tx, at: at, actor: actor, action: "case-resolve", identity: summary.identity,
                           detail: Self.auditDetail("case \(id) (\(Self.describe(summary.subject)))", note: note))
            return try Self.caseRecord(tx, id).summary
        }
    }

    /// The evidence attachments of every report on a case, oldest first.
    public func evidence(ofCase id: Int64) throws -> [EvidenceFile] {
        try db.transaction(readOnly: true) { tx in
            _ = try Self.caseRecord(tx, id)
            return try tx.query("""
                SELECT e.filename, e.bytes, e.sha256 FROM evidence e JOIN case_reports cr ON cr.report_id = e.report_id
                WHERE cr.case_id = ? ORDER BY e.id
                """, [.int(id)]).map { row in
                EvidenceFile(filename: row[0].text ?? "", bytes: row[1].blob ?? [], sha256: row[2].text ?? "")
            }
        }
    }

    // MARK: - Triage

    /// Reports waiting in triage, oldest first.
    /// A report's raw message as it arrived (for a person to read what the parser could not).
    public func reportRaw(id: Int64) throws -> [UInt8] {
        guard let raw = try db.query("SELECT raw FROM report_raw WHERE report_id = ?", [.int(id)]).first?.first?.blob else {
            throw CaseAdminError.unknownReport(id)
        }
        return raw
    }

    /// Indicators listed per report in the triage queue: a stranger's report may name 10,000 each.
    public static let triageIndicatorsShown = 20

    public func triageQueue() throws -> [TriageReport] {
        try db.transaction(readOnly: true) { tx in
            let shown = try tx.query("""
                SELECT report_id, kind, value, total FROM (
                    SELECT ri.report_id, ri.kind, ri.value, ri.\(tx.dialect.rowOrder) AS written,
                           ROW_NUMBER() OVER (PARTITION BY ri.report_id ORDER BY ri.\(tx.dialect.rowOrder)) AS n,
                           COUNT(*) OVER (PARTITION BY ri.report_id) AS total
                    FROM report_indicators ri JOIN reports r ON r.id = ri.report_id WHERE r.status = 'triage') first
                WHERE n <= ? ORDER BY written
                """, [.int(Int64(Self.triageIndicatorsShown))])
            let indicators = Self.indicatorsByReport(shown)
            let totals = Dictionary(shown.map { ($0[0].int ?? 0, Int($0[3].int ?? 0)) }, uniquingKeysWith: max)
            // `fields` is JSON written by `file(_:)`; only a text `subject` counts as the subject line.
            let subjectLine = tx.dialect == .sqlite
                ? "CASE json_type(fields, '$.subject') WHEN 'text' THEN json_extract(fields, '$.subject') END"
                : "CASE jsonb_typeof(fields::jsonb -> 'subject') WHEN 'string' THEN fields::jsonb ->> 'subject' END"
            return try tx.query("""
                SELECT id, received_at, reporter, format, reason, \(subjectLine), reporter_auth
                FROM reports WHERE status = 'triage' ORDER BY received_at, id
                """).map { row in
                let id = row[0].int ?? 0
                return TriageReport(id: id, receivedAt: row[1].int ?? 0, reporter: row[2].text, reporterAuthentication: row[6].text,
                                    format: row[3].text ?? "",
                                    reason: row[4].text, subjectLine: row[5].text, indicators: indicators[id] ?? [:], indicatorCount: totals[id] ?? 0)
            }
        }
    }

    /// Files a triage report on the open case of `subject` (opening one if there is none), as
    /// `file(_:)` would have, and records who decided.
    public func categorize(report id: Int64, as subject: CaseSubject, by actor: String, at: Int64) throws -> FiledCase {
        try db.transaction { tx in
            let report = try Self.reportInTriage(tx, id)
            let filed = try Self.fileOnCase(tx, reportID: id, subject: subject, receivedAt: report.receivedAt,
                                            identity: report.identity, tracedBy: report.tracedBy)
            try tx.query("UPDATE reports SET status = 'filed', type = ?, decided_at = ?, decided_by = ? WHERE id = ?",
                         [.text(subject.type.rawValue), .int(at), .text(actor), .int(id)])
            try Self.audit(tx, at: at, actor: actor, action: "triage-categorize", identity: report.identity,
                           detail: "report \(id) on case \(filed.id) (\(Self.describe(subject)))")
            return filed
        }
    }

    /// Who sent a report (its reporter, else its envelope sender) and when it arrived.
    public func origin(ofReport id: Int64) throws -> (reporter: String?, receivedAt: Int64)? {
        try db.query("SELECT COALESCE(reporter, envelope_sender), received_at FROM reports WHERE id = ?", [.int(id)]).first
            .map { ($0[0].text, $0[1].int ?? 0) }
    }

    /// Takes a report out of triage without a case.
    public func dismiss(report id: Int64, by actor: String, note: String?, at: Int64) throws {
        try db.transaction { tx in
            let report = try Self.reportInTriage(tx, id)
            try tx.query("UPDATE reports SET status = 'dismissed', decided_at = ?, decided_by = ?, note = ? WHERE id = ?",
                         [.int(at), .text(actor), SQLValue(note), .int(id)])
            try Self.audit(tx, at: at, actor: actor, action: "triage-dismiss", identity: report.identity,
                           detail: Self.auditDetail("report \(id)", note: note))
        }
    }

    public func requeue(report id: Int64, by actor: String, at: Int64) throws {
        try db.transaction(durable: true) { tx in
            let report = try Self.reportInTriage(tx, id)
            // Filing writes these again; a report in triage is on no case.
            try tx.query("DELETE FROM report_indicators WHERE report_id = ?", [.int(id)])
            try tx.query("DELETE FROM evidence WHERE report_id = ?", [.int(id)])
            try tx.query("UPDATE reports SET status = 'queued', failed_parses = 0, reason = NULL WHERE id = ?", [.int(id)])
            try Self.audit(tx, at: at, actor: actor, action: "triage-requeue", identity: report.identity, detail: "report \(id)")
        }
    }

    // MARK: - Shared pieces

    /// The columns `caseSummary` reads, from `cases c`.
    static let caseColumns = """
        c.id, c.subject, c.subject_kind, c.type, c.status, c.opened_at, c.last_report_at, c.report_count, c.identity, c.traced_by
        """

    static func caseSummary(_ row: [SQLValue]) throws -> CaseSummary {
        CaseSummary(id: row[0].int ?? 0,
                    subject: CaseSubject(kind: try decoded(row[2], "cases.subject_kind"), value: row[1].text ?? "",
                                         type: try decoded(row[3], "cases.type")),
                    status: try decoded(row[4], "cases.status"), openedAt: row[5].int ?? 0, lastReportAt: row[6].int ?? 0,
                    reportCount: Int(row[7].int ?? 0), identity: row[8].text, tracedBy: try decodedIfPresent(row[9], "cases.traced_by"))
    }

    /// A case and its resolution (nil while open).
    static func caseRecord(_ tx: any SQLTransaction, _ id: Int64) throws -> (summary: CaseSummary, resolution: CaseResolution?) {
        guard let row = try tx.query("SELECT \(caseColumns), c.resolved_at, c.resolved_by, c.resolution_note FROM cases c WHERE c.id = ?",
                                     [.int(id)]).first else { throw CaseAdminError.unknownCase(id) }
        let resolution = row[10].int.map { CaseResolution(resolvedAt: $0, resolvedBy: row[11].text ?? "", note: row[12].text) }
        return (try caseSummary(row), resolution)
    }

    /// What a triage decision needs of its report; refuses a report that is not waiting in triage.
    static func reportInTriage(_ tx: any SQLTransaction, _ id: Int64) throws
        -> (receivedAt: Int64, identity: Identity?, tracedBy: TraceMethod?) {
        guard let row = try tx.query("SELECT status, received_at, identity, traced_by FROM reports WHERE id = ?", [.int(id)]).first else {
            throw CaseAdminError.unknownReport(id)
        }
        let status = row[0].text ?? ""
        guard status == ReportStatus.triage.rawValue else { throw CaseAdminError.notInTriage(reportID: id, status: status) }
        return (row[1].int ?? 0, row[2].text, try decodedIfPresent(row[3], "reports.traced_by"))
    }

    /// Rows of (report_id, kind, value) as each report's indicators by kind, keeping the rows' order.
    static func indicatorsByReport(_ rows: [[SQLValue]]) -> [Int64: IndicatorsByKind] {
        rows.reduce(into: [:]) { byReport, row in
            byReport[row[0].int ?? 0, default: [:]][row[1].text ?? "", default: []].append(row[2].text ?? "")
        }
    }

    /// `ip 192.0.2.10, spam`: a case subject as the audit log names it.
    static func describe(_ subject: CaseSubject) -> String {
        "\(subject.kind.rawValue) \(subject.value), \(subject.type.rawValue)"
    }

    static func auditDetail(_ what: String, note: String?) -> String {
        note.map { "\(what): \($0)" } ?? what
    }

    /// A stored enum value; one this build does not know means a newer MailWarden wrote the store.
    static func decoded<Value: RawRepresentable>(_ value: SQLValue, _ column: String) throws -> Value where Value.RawValue == String {
        guard let text = value.text, let decoded = Value(rawValue: text) else {
            let shown = value.text.map { "'\($0)'" } ?? "a value that is not text"
            throw StoreError(.failed, "store: \(column) holds \(shown), which this MailWarden does not know: upgrade MailWarden")
        }
        return decoded
    }

    static func decodedIfPresent<Value: RawRepresentable>(_ value: SQLValue, _ column: String) throws -> Value? where Value.RawValue == String {
        value == .null ? nil : try decoded(value, column)
    }
}
