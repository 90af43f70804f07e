import Foundation
import MailWardenCore
import Testing
@testable import MailWardenStore

/// `mailwarden migrate`: an SQLite store with a bit of everything, copied into an empty store of each
/// backend, reads back the same through every view the CLI and the daemon use.
@Suite struct StoreCopyTests {
    static let hour: [Counter: TimeSpan] = [.messages: .hours(1), .recipients: .hours(1), .spam: .hours(1)]

    /// Locks (one lifted), an override and an exemption, held mail, the outbound and audit logs,
    /// complaints, the token key, reports queued, filed (with indicators and evidence) and in
    /// triage, and a resolved case.
    static func populate(_ s: SQLStore) throws {
        for i in 0..<30 {
            _ = try s.record(MessageEvent(identity: "sasl:user\(i % 7)@example.net", at: 1000 + Int64(i), recipients: 1 + i % 3,
                                          spam: i % 4 == 0, messageID: "<m\(i)@example.net>", queueID: "Q\(i)", scan: i % 5 == 0 ? "spamd 6.1/5.0 spam" : nil),
                             windows: hour)
        }
        _ = try s.lock(LockRecord(identity: "sasl:user1@example.net", lockedAt: 1100, lockedBy: "auto", automatic: true,
                                  reason: "spam 4 > 3/1h", counter: .spam, count: 4, limit: "3/1h"))
        try s.recordLockedAttempt(identity: "sasl:user1@example.net", at: 1101, heldQueueID: "QH1")
        _ = try s.adminLock("sasl:user2@example.net", by: "root", reason: "first", expiresAt: nil, at: 1102)
        _ = try s.unlock(identity: "sasl:user2@example.net", by: "root", reason: "ok", at: 1103)
        _ = try s.adminLock("sasl:user2@example.net", by: "root", reason: "again", expiresAt: 99_999, at: 1104)
        try s.setLimits([.messages: LimitOverride("500/1h")!], of: "sasl:user3@example.net", by: "root", at: 1105)
        _ = try s.setExempt(true, identity: "sasl:user4@example.net", by: "root", at: 1106)
        _ = try StoreIdentityTokenizer(store: s).token(for: "sasl:user5@example.net")

        let evidence = EvidenceItem(filename: "message.eml", contentType: "message/rfc822", bytes: Array("Subject: spam\r\n\r\nbuy\r\n".utf8))
        let filed = try CaseStoreTests.queue(s, "Subject: one\r\n\r\nreport one\r\n", at: 2000).reportID
        _ = try s.file(CaseStoreTests.filing(filed, identity: "sasl:user6@example.net",
                                             indicators: [("ip", "192.0.2.10"), ("domain", "Shop.Example")], evidence: [evidence]))
        _ = try s.recordComplaint(identity: "sasl:user6@example.net", reporter: "fbl@isp.example", reportID: filed, at: 2000, window: .days(1))
        let second = try CaseStoreTests.queue(s, "Subject: two\r\n\r\nreport two\r\n", at: 2100).reportID
        _ = try s.file(CaseStoreTests.filing(second, subjects: [CaseSubject(kind: .domain, value: "shop.example", type: .phishing)]))
        try s.resolveCase(id: 2, by: "root", note: "taken down", at: 2200)
        let triage = try CaseStoreTests.queue(s, "Subject: ???\r\n\r\nwhat\r\n", at: 2300).reportID
        _ = try s.file(CaseStoreTests.filing(triage, status: .triage))
        _ = try CaseStoreTests.queue(s, "Subject: waiting\r\n\r\nnot parsed yet\r\n", at: 2400)
        try s.saveScannerHealth([ScannerHealth(label: "spamd 127.0.0.1:783", scans: 30, spam: 6, failures: 1, skippedTooBig: 0,
                                               lastError: "timeout", lastErrorAt: 1050, lastSuccessAt: 1060, latencyP50: 30_000, latencyP99: 90_000)],
                                host: "mx1", at: 1070)
    }

    /// What an admin and the daemon can read of a store.
    struct Views: Equatable {
        let identities: [IdentitySummary]
        let details: [String]
        let locks: [LockRecord]
        let held: [HeldMessage]
        let audit: [AuditEntry]
        let cases: [CaseSummary]
        let caseDetails: [CaseDetail]
        let evidence: [[EvidenceFile]]
        let triage: [TriageReport]
        let queued: [Int64]
        let raw: [[UInt8]]
        let trace: [OutboundMessage]
        let figures: StoreFigures
        let counts: [Int]
        let health: [String]

        init(_ s: SQLStore) throws {
            identities = try s.identities()
            details = try identities.map { "\(String(describing: try s.detail(of: $0.identity, config: .defaults(), now: 1200)))" }
            locks = try s.activeLocks()
            held = try s.heldMessages(of: "sasl:user1@example.net")
            audit = try s.auditEntries()
            cases = try s.cases()
            caseDetails = try cases.map { try s.caseDetail(id: $0.id) }
            evidence = try cases.map { try s.evidence(ofCase: $0.id) }
            triage = try s.triageQueue()
            queued = try s.queuedReportIDs(limit: 100)
            raw = try (1...4).map { try s.reportRaw(id: $0) }
            trace = try s.trace(messageID: "m7@example.net")
            figures = try s.figures(now: 3000)
            let status = try s.status()
            counts = [status.identities, status.activeLocks, status.held, status.outbound, status.audit]
            health = try s.scannerHealth().map { "\($0.host) \($0.health) \($0.updatedAt)" }
        }
    }

    @Test(arguments: Backend.available) func everythingReadsBackTheSameFromTheCopy(_ backend: Backend) throws {
        let source = try TempStore(.sqlite)
        let original = try source.open()
        try Self.populate(original)
        let target = try TempStore(backend)
        let copy = try target.open()
        let copied = try original.copy(to: copy) { _, _ in }
        #expect(copied.first { $0.table == "outbound" }?.rows == 30)
        #expect(copied.first { $0.table == "evidence" }?.rows == 1)

        #expect(try Views(copy) == Views(original))
        let token = try StoreIdentityTokenizer(store: original).token(for: "sasl:user5@example.net")
        #expect(try StoreIdentityTokenizer(store: copy).token(for: "sasl:user5@example.net") == token, "the token key came along")
        #expect(try copy.identity(forToken: token) == "sasl:user5@example.net")
        // New rows continue after the copied ids: a new report and a new case take the next numbers.
        let next = try CaseStoreTests.queue(copy, "Subject: three\r\n\r\nreport three\r\n", at: 2500).reportID
        #expect(next == 5)
        let filing = try copy.file(CaseStoreTests.filing(next, subjects: [CaseSubject(kind: .ip, value: "198.51.100.7", type: .spam)]))
        #expect(filing == .filed(cases: [FiledCase(id: 3, subject: CaseSubject(kind: .ip, value: "198.51.100.7", type: .spam), opened: true)]))
        // The counts go on from the copied windows: user0 sent 5 messages in the hour.
        #expect(try copy.record(MessageEvent(identity: "sasl:user0@example.net", at: 1200, recipients: 1, spam: false,
                                             messageID: nil, queueID: nil), windows: Self.hour)[.messages] == 6)
    }

    /// Tables keyed by several columns or by text are copied batch after batch by their key, every
    /// row once: buckets (identity, counter, second) and held queue ids over many batches of 500,
    /// from either backend (a PostgreSQL store can be copied into an SQLite file) into either.
    @Test(arguments: Backend.available, Backend.available)
    func tablesOfManyBatchesAreCopiedWholeByTheirKeys(from: Backend, to backend: Backend) throws {
        let source = try TempStore(from)
        let original = try source.open()
        try Self.populate(original)
        try original.db.query("""
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
            INSERT INTO window_events(identity_id, counter, at, amount, running)
            SELECT identities.id, c.counter, 10000 + n.i, 1, n.i + 1
            FROM identities, n, (SELECT 'messages' AS counter UNION ALL SELECT 'spam') AS c
            """)
        // Queue ids whose text order is not their numbers' (H1000 before H2).
        try original.db.query("""
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
            INSERT INTO held(queue_id, identity_id, lock_id, at) SELECT 'H' || (n.i * 7919 % 1201), 1, NULL, 5000 + n.i FROM n
            """)
        let target = try TempStore(backend)
        let copy = try target.open()
        let copied = try original.copy(to: copy) { _, _ in }
        let select = ["window_events": "SELECT identity_id, counter, at, amount, running FROM window_events ORDER BY identity_id, counter, at",
                      "held": "SELECT queue_id, identity_id, lock_id, at FROM held ORDER BY queue_id"]
        for (table, query) in select {
            let rows = try original.db.query(query)
            #expect(rows.count > 1200, "\(table) spans several batches")
            #expect(copied.first { $0.table == table }?.rows == rows.count)
            #expect(try copy.db.query(query) == rows, "\(table)")
        }
    }

    @Test(arguments: Backend.available) func aStoreThatIsNotEmptyIsRefusedAndKeepsWhatItHeld(_ backend: Backend) throws {
        let source = try TempStore(.sqlite)
        let original = try source.open()
        try Self.populate(original)
        let target = try TempStore(backend)
        let used = try target.open()
        _ = try used.record(MessageEvent(identity: "sasl:other", at: 5, recipients: 1, spam: false, messageID: nil, queueID: nil), windows: Self.hour)
        #expect { try original.copy(to: used) { _, _ in } } throws: { "\($0)".contains("not empty") }
        #expect(try used.identities().map(\.identity) == ["sasl:other"])
    }
}
