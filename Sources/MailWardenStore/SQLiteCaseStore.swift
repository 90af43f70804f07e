// The abuse desk's storage: reports with their raw message, indicators and evidence; cases per
// (subject, type); triage decisions. A report and its filing are one transaction, committed with
// synchronous=FULL before the milter or the pipe says "stored".
import Crypto
import Foundation
import MailWardenCore

extension SQLiteStore: CaseStore {
    public func file(_ report: ReportFiling) throws -> FilingOutcome {
        try db.transaction(durable: true) { tx in
            if let id = try tx.query("SELECT id FROM reports WHERE content_hash = ?", [.text(report.contentHash)]).first?.first?.int {
                try Self.tally(tx, report, status: "duplicate")
                return .duplicate(reportID: id)
            }
            try Self.tally(tx, report, status: report.status.rawValue)
            guard let reportID = try tx.query("""
                INSERT INTO reports(received_at, message_id, content_hash, status, format, type, reporter, envelope_sender,
                                    envelope_recipient, reason, identity, traced_by, fields, raw)
                VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """, [.int(report.receivedAt), SQLValue(report.messageID), .text(report.contentHash), .text(report.status.rawValue),
                      .text(report.format), SQLValue(report.type?.rawValue), SQLValue(report.reporter), SQLValue(report.envelopeSender),
                      SQLValue(report.envelopeRecipient), SQLValue(report.reason), SQLValue(report.identity),
                      SQLValue(report.tracedBy?.rawValue), .text(report.fields.rendered(indent: nil)), .blob(report.raw)]).first?.first?.int else {
                throw StoreError(code: 0, message: "store \(path): the report was not stored")
            }
            for i in report.indicators {
                try tx.query("INSERT INTO report_indicators(report_id, kind, value) VALUES(?, ?, ?)",
                             [.int(reportID), .text(i.kind), .text(i.value.lowercased())])
            }
            for e in report.evidence {
                let digest = SHA256.hash(data: Data(e.bytes)).map { String(format: "%02x", $0) }.joined()
                try tx.query("INSERT INTO evidence(report_id, filename, content_type, size, sha256, bytes) VALUES(?, ?, ?, ?, ?, ?)",
                             [.int(reportID), .text(e.filename), .text(e.contentType), .int(Int64(e.bytes.count)), .text(digest), .blob(e.bytes)])
            }
            let filed = try report.subjects.map { subject in
                try Self.fileOnCase(tx, reportID: reportID, subject: subject, receivedAt: report.receivedAt,
                                    identity: report.identity, tracedBy: report.tracedBy)
            }
            return .stored(reportID: reportID, cases: filed)
        }
    }

    /// Counts one ingested report in report_tallies.
    static func tally(_ tx: SQLiteConnection.Transaction, _ report: ReportFiling, status: String) throws {
        try tx.query("""
            INSERT INTO report_tallies(format, type, status, count) VALUES(?, ?, ?, 1)
            ON CONFLICT(format, type, status) DO UPDATE SET count = count + 1
            """, [.text(report.format), .text(report.type?.rawValue ?? "none"), .text(status)])
    }

    /// Files a stored report on the open case of `subject` (opening one if needed) and counts it
    /// there; shared by `file(_:)` and the triage decision `categorize`.
    static func fileOnCase(_ tx: SQLiteConnection.Transaction, reportID: Int64, subject: CaseSubject, receivedAt: Int64,
                           identity: Identity?, tracedBy: TraceMethod?) throws -> FiledCase {
        let (caseID, opened) = try openCase(tx, subject, at: receivedAt, identity: identity, tracedBy: tracedBy)
        try tx.query("INSERT OR IGNORE INTO case_reports(case_id, report_id) VALUES(?, ?)", [.int(caseID), .int(reportID)])
        try tx.query("""
            UPDATE cases SET report_count = report_count + 1, last_report_at = MAX(last_report_at, ?),
                             identity = COALESCE(identity, ?), traced_by = COALESCE(traced_by, ?)
            WHERE id = ?
            """, [.int(receivedAt), SQLValue(identity), SQLValue(tracedBy?.rawValue), .int(caseID)])
        return FiledCase(id: caseID, subject: subject, opened: opened)
    }

    /// The open case for a subject, opened now if there is none.
    static func openCase(_ tx: SQLiteConnection.Transaction, _ subject: CaseSubject, at: Int64,
                         identity: Identity?, tracedBy: TraceMethod?) throws -> (id: Int64, opened: Bool) {
        let key: [SQLValue] = [.text(subject.kind.rawValue), .text(subject.value), .text(subject.type.rawValue)]
        if let id = try tx.query("SELECT id FROM cases WHERE subject_kind = ? AND subject = ? AND type = ? AND status = 'open'", key).first?.first?.int {
            return (id, false)
        }
        guard let id = try tx.query("""
            INSERT INTO cases(subject_kind, subject, type, opened_at, last_report_at, identity, traced_by)
            VALUES(?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, key + [.int(at), .int(at), SQLValue(identity), SQLValue(tracedBy?.rawValue)]).first?.first?.int else {
            throw StoreError(code: 0, message: "store: could not open a case for \(subject.value)")
        }
        return (id, true)
    }

    public func senderIdentity(ofMessageID messageID: String) throws -> Identity? {
        let bare = messageID.trimmingWhitespace().trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        return try db.query("""
            SELECT i.name FROM outbound o JOIN identities i ON i.id = o.identity_id
            WHERE o.message_id IN (?, ?) ORDER BY o.at DESC LIMIT 1
            """, [.text(bare), .text("<\(bare)>")]).first?.first?.text
    }

    /// Drops reports (with their evidence and indicators) received before `now - retention`.
    public func pruneReports(now: Int64, retention: TimeSpan) throws {
        let cutoff = SQLValue.int(now - retention.seconds)
        while try db.transaction({ tx in
            try tx.query("DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE received_at <= ? LIMIT \(Self.pruneBatch))", [cutoff])
            return tx.changes
        }) == Self.pruneBatch {}
    }
}
