import Foundation
import MailWardenCore
import Testing
@testable import MailWardenStore

@Suite struct CaseStoreTests {
    static let spamFrom10 = CaseSubject(kind: .ip, value: "192.0.2.10", type: .spam)

    /// What filing looks at, for a report queued with `raw` as its bytes.
    static func filing(_ reportID: Int64, status: ReportStatus = .filed, subjects: [CaseSubject] = [spamFrom10],
                       identity: Identity? = nil, indicators: [(kind: String, value: String)] = [],
                       evidence: [EvidenceItem] = []) -> ReportFiling {
        ReportFiling(reportID: reportID, messageID: nil, status: status, format: "free-text", type: status == .filed ? .spam : nil,
                     reporter: "someone@example.org", reporterAuthentication: "dkim:example.org", reason: nil, identity: identity, tracedBy: identity == nil ? nil : .token,
                     fields: .object([]), indicators: indicators, evidence: evidence, subjects: status == .filed ? subjects : [])
    }

    static func queue(_ s: SQLStore, _ raw: String, at: Int64) throws -> EnqueueOutcome {
        try s.enqueue(RawReport(receivedAt: at, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil, raw: Array(raw.utf8)))
    }

    /// Queues the report and files it at once, as the desk worker does.
    @discardableResult
    func report(_ s: SQLStore, _ raw: String, at: Int64, status: ReportStatus = .filed, subjects: [CaseSubject] = [spamFrom10],
                identity: Identity? = nil, indicators: [(kind: String, value: String)] = [],
                evidence: [EvidenceItem] = []) throws -> FilingOutcome {
        try s.file(Self.filing(Self.queue(s, raw, at: at).reportID, status: status, subjects: subjects, identity: identity,
                               indicators: indicators, evidence: evidence))
    }

    @Test(arguments: Backend.available) func theSameMessageTwiceIsOneQueuedReportAndFilingItTwiceFilesItOnce(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        #expect(try Self.queue(s, "Subject: a\r\n\r\nbody\r\n", at: 100) == .queued(reportID: 1))
        // The pipe's copy of the milter's: LF line ends, the trace fields delivery and pipe(8) add.
        #expect(try Self.queue(s, "Received: by mx\nSubject:  a\n\nbody\n", at: 200) == .duplicate(reportID: 1))
        #expect(try Self.queue(s, "Return-Path: <fbl@isp.example>\nDelivered-To: abuse@example.net\nX-Original-To: abuse@example.net\n"
                                   + "Received: by mx\nSubject: a\n\nbody\n", at: 210) == .duplicate(reportID: 1))
        #expect(try s.queuedReportIDs(limit: 10) == [1])
        // A field a milter listed after mailwardend adds is content: the pipe's copy is a second report (README).
        #expect(try Self.queue(s, "Authentication-Results: mx.example.net; dkim=pass header.d=isp.example\nSubject: a\n\nbody\n", at: 220)
                == .queued(reportID: 2))
        #expect(try s.queuedReportIDs(limit: 10) == [1, 2])
        #expect(try s.file(Self.filing(2, status: .triage, subjects: [])) == .filed(cases: []))
        #expect(try s.file(Self.filing(1)) == .filed(cases: [FiledCase(id: 1, subject: Self.spamFrom10, opened: true)]))
        #expect(try s.file(Self.filing(1)) == .notQueued)
        #expect(try s.queuedReportIDs(limit: 10).isEmpty)
        #expect(try s.cases().map(\.reportCount) == [1])
        #expect(try s.cases().first?.lastReportAt == 100)
    }

    /// A bulk report is filed on its subjects a part at a time ahead of its own row (so SQLite's one
    /// writer is never held for long); a filing cut short and done again counts once on each case,
    /// and a report filed meanwhile by another worker is left alone.
    @Test(arguments: Backend.available) func aBulkReportFiledInPartsAndCutShortCountsOnceOnEachCase(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let subjects = (0..<600).map { CaseSubject(kind: .ip, value: "198.51.\($0 / 256).\($0 % 256)", type: .spam) }
        let id = try Self.queue(s, "Subject: bulk\r\n\r\nlist\r\n", at: 100).reportID
        #expect(try s.fileAhead(reportID: id, subjects: Array(subjects[..<300]), identity: nil, tracedBy: nil)?.count == 300)
        // The worker died; the next one files the report again from its start.
        let again = try s.fileAhead(reportID: id, subjects: Array(subjects[..<550]), identity: nil, tracedBy: nil)
        #expect(again?.map(\.subject) == Array(subjects[..<550]))
        #expect(again?.filter(\.opened).count == 250)
        let last = Self.filing(id, subjects: Array(subjects[550...]), indicators: subjects.map { ("ip", $0.value) })
        guard case .filed(let cases) = try s.file(last) else { Issue.record("not filed"); return }
        #expect(cases.count == 50)
        let all = try s.cases()
        #expect(all.count == 600)
        #expect(all.allSatisfy { $0.reportCount == 1 })
        // Every indicator was stored (many to a statement): searching one finds the report's cases.
        #expect(try s.cases(subject: "198.51.2.87").count == 600)
        #expect(try s.cases(subject: "198.51.2.88").isEmpty)
        #expect(try s.fileAhead(reportID: id, subjects: subjects, identity: nil, tracedBy: nil) == nil)
        #expect(try s.cases().allSatisfy { $0.reportCount == 1 })
    }

    /// Threading: a filed report is found by its Message-ID and by its ticket; correspondence is kept
    /// on the case it joins without counting as one of its reports.
    @Test(arguments: Backend.available) func aThreadFindsTheCaseOfTheReportItAnswersOrWhoseTicketItCarries(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        var first = Self.filing(try Self.queue(s, "Subject: a\r\n\r\nbody\r\n", at: 100).reportID)
        first.messageID = "t42@cert.example"
        first.ticket = "cert.example 2026120510000042"
        guard case .filed(let cases) = try s.file(first), let filed = cases.first else { Issue.record("not filed"); return }
        let found = [FiledCase(id: filed.id, subject: Self.spamFrom10, opened: false)]
        #expect(try s.cases(inThreadOf: ReportThread(references: ["other@x", "t42@cert.example"], ticket: nil)) == found)
        #expect(try s.cases(inThreadOf: ReportThread(references: [], ticket: "cert.example 2026120510000042")) == found)
        #expect(try s.cases(inThreadOf: ReportThread(references: ["other@x"], ticket: "other.example 2026120510000042")).isEmpty)
        #expect(try s.cases(inThreadOf: ReportThread(references: [], ticket: nil)).isEmpty)
        var reply = Self.filing(try Self.queue(s, "Subject: Re: a\r\n\r\nthanks\r\n", at: 200).reportID, status: .correspondence)
        reply.threadCases = [filed.id]
        _ = try s.file(reply)
        #expect(try s.caseDetail(id: filed.id).reports.map(\.status) == [.filed, .correspondence])
        #expect(try s.cases().map(\.reportCount) == [1])
    }

    @Test(arguments: Backend.available) func aBatchIsQueuedInOneCommitAndDedupedWithinItselfAndAgainstTheQueue(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let earlier = try Self.queue(try t.open(), "Subject: old\r\n\r\nbody\r\n", at: 100)
        let batch = ["Subject: a\n\nbody\n", "Subject: old\n\nbody\n", "Subject: b\n\nbody\n", "Received: by mx\nSubject: a\n\nbody\n"]
            .map { RawReport(receivedAt: 200, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil, raw: Array($0.utf8)) }
        #expect(try t.open().enqueue(batch) == [.queued(reportID: 2), .duplicate(reportID: earlier.reportID), .queued(reportID: 3),
                                                .duplicate(reportID: 2)])
        // A store opened afresh (another process) sees the whole batch.
        let reopened = try t.open()
        #expect(try reopened.queuedReportIDs(limit: 10) == [1, 2, 3])
        #expect(try reopened.queuedReport(id: 3)?.raw == Array("Subject: b\n\nbody\n".utf8))
        #expect(try reopened.enqueue([]) == [])
        #expect(try reopened.figures(now: 300).reports.contains { ($0.format, $0.status, $0.count) == ("unparsed", "duplicate", 2) })
    }

    @Test(arguments: Backend.available) func aReportWhoseParseFailsTwiceGoesToTriageWithItsRawBytesAndTheReason(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let id = try Self.queue(s, "Subject: bomb\r\n\r\n", at: 100).reportID
        #expect(try s.recordParseFailure(reportID: id, .died(signal: 4, status: nil), giveUpAfter: 2) == false)
        #expect(try s.queuedReport(id: id)?.failedParses == 1, "still queued, tried again")
        #expect(try s.recordParseFailure(reportID: id, .overBudget(seconds: 5), giveUpAfter: 2) == true)
        #expect(try s.queuedReport(id: id) == nil)
        let waiting = try #require(try s.triageQueue().first)
        #expect(waiting.id == id && waiting.reason == "parser over its 5 s budget" && waiting.format == "unparsed")
        // A report naming thousands of indicators lists its first few.
        let many = (0..<300).map { (kind: "ip", value: "198.51.100.\($0 % 256)") } + [(kind: "domain", value: "example.org")]
        try report(s, "Subject: list\r\n\r\n", at: 150, status: .triage, indicators: many)
        let listed = try #require(try s.triageQueue().last)
        #expect(listed.indicators == ["ip": many.prefix(SQLStore.triageIndicatorsShown).map(\.value)])
        #expect(listed.indicatorCount == 301)
        #expect(try s.reportRaw(id: id) == Array("Subject: bomb\r\n\r\n".utf8))
        let tallies = try s.figures(now: 200)
        #expect(tallies.parseFailures == ["died": 1, "timeout": 1])
        #expect(tallies.reports.contains { $0.format == "unparsed" && $0.status == "triage" && $0.count == 1 })
    }

    /// A triage report sent back to the queue is filed afresh: what it was first filed with (its
    /// indicators, its evidence) is not kept twice.
    @Test(arguments: Backend.available) func aRequeuedTriageReportIsFiledAfresh(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let id = try Self.queue(s, "Subject: unclear\r\n\r\n", at: 100).reportID
        let evidence = [EvidenceItem(filename: "a.txt", contentType: "text/plain", bytes: Array("x".utf8))]
        _ = try s.file(Self.filing(id, status: .triage, indicators: [("ip", "192.0.2.10")], evidence: evidence))
        try s.requeue(report: id, by: "ops", at: 200)
        #expect(try s.queuedReportIDs(limit: 10) == [id] && s.queuedReport(id: id)?.failedParses == 0)
        _ = try s.file(Self.filing(id, indicators: [("ip", "192.0.2.10")], evidence: evidence))
        let filed = try #require(try s.cases().first)
        let detail = try s.caseDetail(id: filed.id)
        #expect(detail.reports.map(\.id) == [id])
        #expect(detail.reports.first?.indicators == ["ip": ["192.0.2.10"]] && detail.reports.first?.evidence.count == 1)
        #expect(throws: CaseAdminError.self) { try s.requeue(report: id, by: "ops", at: 300) }
    }

    /// A stranger's report with a NUL in its subject (an encoded word says =00) waits in triage like
    /// any other: on PostgreSQL its fields, read as jsonb by every listing, failed the whole queue.
    @Test(arguments: Backend.available) func aNULInAReportsFieldsDoesNotStopTheTriageQueue(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let id = try Self.queue(s, "Subject: =?utf-8?q?x=00y?=\r\n\r\nhi\r\n", at: 100).reportID
        let filing = Self.filing(id, status: .triage)
        _ = try s.file(ReportFiling(reportID: id, messageID: nil, status: .triage, format: filing.format, type: nil, reporter: filing.reporter,
                                    reporterAuthentication: filing.reporterAuthentication, reason: "no type", identity: nil, tracedBy: nil,
                                    fields: .object([("subject", .string("x\u{0}y\u{0}"))]), indicators: [], evidence: [], subjects: []))
        #expect(try s.triageQueue().map(\.subjectLine) == ["x\u{FFFD}y\u{FFFD}"])
        // Any text written to PostgreSQL, whose text type refuses U+0000, keeps it as U+FFFD.
        if backend == .postgresql {
            #expect(try s.db.query("SELECT CAST(? AS text)", [.text("a\u{0}b")]).first?.first?.text == "a\u{FFFD}b")
        }
    }

    /// Reports filed with U+0000 in their fields before the store kept it out, on PostgreSQL (by an
    /// older version) or in an SQLite store copied there by `migrate`, no longer stop the triage queue.
    @Test(arguments: ["upgrade", "migrate"]) func oldReportFieldsWithANULDoNotStopTheTriageQueue(_ how: String) throws {
        guard Backend.available.contains(.postgresql) else { return }
        let target = try TempStore(.postgresql)
        let old = try TempStore(how == "upgrade" ? .postgresql : .sqlite)
        let s = try old.open()
        let id = try Self.queue(s, "Subject: =?utf-8?q?x=00y?=\r\n\r\nhi\r\n", at: 100).reportID
        _ = try s.file(Self.filing(id, status: .triage))
        // As an older version wrote them: the JSON escape for U+0000 in the text.
        try s.db.query("UPDATE reports SET fields = ? WHERE id = ?", [.text(#"{"subject":"x\u0000y"}"#), .int(id)])
        let reopened: SQLStore
        if how == "upgrade" {
            // Back to before PostgreSQL's 7th migration (the ones after it run again too).
            try s.db.transaction { tx in
                try Schema.setVersion(tx, .postgresql, 6)
                try tx.query("ALTER TABLE outbound DROP COLUMN recipient_domains")
            }
            reopened = try old.open()
        } else {
            reopened = try target.open()
            try s.copy(to: reopened) { _, _ in }
        }
        #expect(try reopened.triageQueue().map(\.subjectLine) == ["x\u{FFFD}y"])
    }

    @Test(arguments: Backend.available) func fileAndCountInOneTransaction(_ backend: Backend) throws {
        // A failure after the filing (here: the complaint count) rolls the filing back: the report
        // stays queued, so the retry files it and counts it, once.
        let t = try TempStore(backend)
        let s = try t.open()
        let id = try Self.queue(s, "Subject: c\r\n\r\n", at: 100).reportID
        struct CountFailed: Error {}
        #expect(throws: CountFailed.self) {
            try s.atomically {
                _ = try s.file(Self.filing(id, identity: "sasl:bob"))
                _ = try s.recordComplaint(identity: "sasl:bob", reporter: "fbl@isp.example", reportID: id, at: 100, window: .days(1))
                throw CountFailed()
            }
        }
        #expect(try s.queuedReportIDs(limit: 10) == [id])
        #expect(try s.cases().isEmpty)
        let distinct = try s.atomically { () throws -> Int in
            _ = try s.file(Self.filing(id, identity: "sasl:bob"))
            return try s.recordComplaint(identity: "sasl:bob", reporter: "fbl@isp.example", reportID: id, at: 100, window: .days(1)).reporters
        }
        #expect(distinct == 1)
        #expect(try s.cases().map(\.reportCount) == [1])
    }

    @Test(arguments: Backend.available) func filingKeepsLowercasedIndicatorsAndTheEvidenceDigest(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try report(s, "h1", at: 100, indicators: [("url", "HTTP://A.Example/X")],
                          evidence: [EvidenceItem(filename: "a.txt", contentType: "text/plain", bytes: Array("abc".utf8))])
        let filed = try #require(try s.caseDetail(id: 1).reports.first)
        #expect(filed.indicators == ["url": ["http://a.example/x"]])
        #expect(filed.evidence.map(\.sha256) == ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"])
        #expect(try s.evidence(ofCase: 1).map(\.bytes) == [Array("abc".utf8)])
    }

    /// A stranger's Message-ID or URL longer than PostgreSQL can index must not keep its report
    /// queued forever (the filing failed at the index, and again at every pass): it files without them.
    @Test(arguments: Backend.available) func aReportWithValuesTooLongToIndexIsFiledWithoutThem(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let long = String((0..<4_000).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        let queued = try Self.queue(s, "Subject: long\r\n\r\nbody\r\n", at: 100).reportID
        var filing = Self.filing(queued, indicators: [("url", "http://a.example/" + long), ("domain", "a.example")])
        filing = ReportFiling(reportID: filing.reportID, messageID: long, status: filing.status, format: filing.format, type: filing.type,
                              reporter: filing.reporter, reporterAuthentication: filing.reporterAuthentication, reason: nil, identity: nil,
                              tracedBy: nil, fields: filing.fields, indicators: filing.indicators, evidence: [], subjects: filing.subjects,
                              ticket: long, threadCases: [])
        #expect(try s.file(filing) == .filed(cases: [FiledCase(id: 1, subject: Self.spamFrom10, opened: true)]))
        #expect(try s.caseDetail(id: 1).reports.first?.indicators == ["domain": ["a.example"]])
    }

    @Test(arguments: Backend.available) func aReportOnSeveralSubjectsIsListedOnEachCaseAndATracedOneNamesItsIdentity(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let other = CaseSubject(kind: .ip, value: "192.0.2.11", type: .spam)
        try report(s, "bulk", at: 100, subjects: [Self.spamFrom10, other])
        try report(s, "traced", at: 200, identity: "sasl:alice@example.net")
        let cases = try s.cases()
        #expect(cases.map(\.subject.value) == ["192.0.2.10", "192.0.2.11"])
        #expect(cases.map(\.reportCount) == [2, 1])
        #expect(cases.first?.identity == "sasl:alice@example.net" && cases.first?.tracedBy == .token)
        #expect(try s.caseDetail(id: 2).reports.map(\.id) == [1])
    }

    /// A case on a network is found by the network (in any host-bits form) and by any address in it,
    /// beside the cases of that address itself, newest activity first, under the same filters.
    @Test(arguments: Backend.available) func anAddressFindsTheCasesOfTheNetworksThatHoldIt(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try report(s, "net", at: 100, subjects: [CaseSubject(kind: .network, value: "192.0.2.0/24", type: .spam)])
        try report(s, "ip", at: 200)
        try report(s, "v6", at: 300, subjects: [CaseSubject(kind: .network, value: "2001:db8:77::/48", type: .spam)])
        _ = try s.resolveCase(id: 2, by: "alice", note: nil, at: 400)
        #expect(try s.cases(subject: "192.0.2.10").map(\.id) == [2, 1])
        #expect(try s.cases(subject: "192.0.2.200").map(\.id) == [1])
        #expect(try s.cases(subject: "192.0.2.77/24").map(\.id) == [1])
        #expect(try s.cases(subject: "2001:db8:77:5::1").map(\.id) == [3])
        #expect(try s.cases(subject: "192.0.3.1").isEmpty)
        #expect(try s.cases(status: .open, subject: "192.0.2.10").map(\.id) == [1], "the filters hold for the networks' cases too")
        #expect(try s.cases(status: .resolved, subject: "192.0.2.10").map(\.id) == [2])
    }

    @Test(arguments: Backend.available) func refusedActionsSayWhy(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try report(s, "filed", at: 100)
        try report(s, "waiting", at: 100, status: .triage)
        try s.resolveCase(id: 1, by: "alice", note: nil, at: 300)

        #expect(throws: CaseAdminError.alreadyResolved(caseID: 1, at: 300, by: "alice")) { try s.resolveCase(id: 1, by: "bob", note: nil, at: 400) }
        #expect(throws: CaseAdminError.unknownCase(9)) { try s.resolveCase(id: 9, by: "bob", note: nil, at: 400) }
        #expect(throws: CaseAdminError.unknownCase(9)) { try s.caseDetail(id: 9) }
        #expect(throws: CaseAdminError.unknownCase(9)) { try s.evidence(ofCase: 9) }
        #expect(throws: CaseAdminError.notInTriage(reportID: 1, status: "filed")) {
            try s.categorize(report: 1, as: Self.spamFrom10, by: "bob", at: 400)
        }
        #expect(throws: CaseAdminError.unknownReport(9)) { try s.dismiss(report: 9, by: "bob", note: nil, at: 400) }
        #expect(try s.auditEntries().map(\.action) == ["case-resolve"], "a refused action leaves no audit row")
        #expect(try s.triageQueue().map(\.id) == [2])
    }

    @Test(arguments: Backend.available) func categorizingAfterAResolutionOpensANewCase(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try report(s, "filed", at: 100)
        try report(s, "waiting", at: 200, status: .triage)
        try s.resolveCase(id: 1, by: "alice", note: "fixed", at: 300)
        let filed = try s.categorize(report: 2, as: Self.spamFrom10, by: "bob", at: 400)
        #expect(filed == FiledCase(id: 2, subject: Self.spamFrom10, opened: true))
        #expect(try s.cases(status: .open).map(\.id) == [2])
        #expect(try s.cases(status: .resolved).map(\.id) == [1])
        #expect(try s.cases(type: .phishing).isEmpty)
    }
}

@Suite struct ReportRetentionTests {
    @Test(arguments: Backend.available) func reportsPastRetentionGoWithTheirEvidenceButCasesStay(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        func file(_ raw: String, at: Int64) throws {
            let id = try CaseStoreTests.queue(s, raw, at: at).reportID
            _ = try s.file(CaseStoreTests.filing(id, subjects: [CaseSubject(kind: .ip, value: "192.0.2.1", type: .spam)],
                                                 indicators: [("ip", "192.0.2.1")],
                                                 evidence: [EvidenceItem(filename: "a.txt", contentType: "text/plain", bytes: [1, 2, 3])]))
        }
        try file("Subject: old\n\n", at: 1_000)
        try file("Subject: new\n\n", at: 100_000)
        _ = try CaseStoreTests.queue(s, "Subject: unread\n\n", at: 1_000)
        try s.pruneReports(now: 100_000, retention: TimeSpan(seconds: 50_000))
        let left = try s.db.query("SELECT status, received_at FROM reports ORDER BY id").map { "\($0[0].text ?? "") \($0[1].int ?? 0)" }
        #expect(left == ["filed 100000", "queued 1000"], "an old report the desk has not read yet stays")
        #expect(try s.db.query("SELECT COUNT(*) FROM evidence").first?.first?.int == 1, "the old report's evidence went with it")
        #expect(try s.db.query("SELECT COUNT(*) FROM cases").first?.first?.int == 1, "the case record stays")
    }

    /// Reports go a few per transaction (each takes its raw message and evidence along): more than
    /// one batch of them goes whole, and none newer than the cutoff.
    @Test(arguments: Backend.available) func reportsOfManyBatchesArePrunedWhole(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        for i in 0..<(2 * SQLStore.reportPruneBatch + 5) {
            let id = try CaseStoreTests.queue(s, "Subject: old \(i)\n\n", at: 1_000).reportID
            _ = try s.file(CaseStoreTests.filing(id, subjects: [CaseSubject(kind: .ip, value: "192.0.2.1", type: .spam)]))
        }
        let kept = try CaseStoreTests.queue(s, "Subject: new\n\n", at: 100_000).reportID
        _ = try s.file(CaseStoreTests.filing(kept, subjects: [CaseSubject(kind: .ip, value: "192.0.2.1", type: .spam)]))
        try s.pruneReports(now: 100_000, retention: TimeSpan(seconds: 50_000))
        #expect(try s.db.query("SELECT id FROM reports").map { $0[0].int } == [kept])
    }
}

@Suite struct ReportQueueMigrationTests {
    /// A store from before the report queue (schema 5) keeps its reports, raw messages included.
    @Test func reportsOfAVersion5StoreKeepTheirRawMessage() throws {
        let t = try TempStore()
        let old = try SQLiteConnection(path: t.path, busyTimeoutMilliseconds: 1000)
        for migration in Schema.sqlite.prefix(5) { try old.exec(migration) }
        try old.exec("PRAGMA user_version = 5")
        try old.query("""
            INSERT INTO reports(received_at, content_hash, status, format, fields, raw) VALUES(100, 'h', 'triage', 'free-text', '{}', ?)
            """, [.blob(Array("Subject: kept\r\n\r\nbody".utf8))])
        let s = try t.open()
        #expect(s.schemaVersion == Schema.sqlite.count)
        #expect(try s.reportRaw(id: 1) == Array("Subject: kept\r\n\r\nbody".utf8))
        #expect(try s.triageQueue().map(\.id) == [1])
        #expect(try s.queuedReportIDs(limit: 10).isEmpty)
    }
}
