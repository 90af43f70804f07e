import Foundation
import MailWardenCore
import Testing
@testable import MailWardenStore

@Suite struct CaseStoreTests {
    static let spamFrom10 = CaseSubject(kind: .ip, value: "192.0.2.10", type: .spam)

    /// A report with nothing but what filing looks at.
    func report(_ hash: String, at: Int64, status: ReportStatus = .filed, subjects: [CaseSubject] = [spamFrom10],
                identity: Identity? = nil, indicators: [(kind: String, value: String)] = [],
                evidence: [EvidenceItem] = []) -> ReportFiling {
        ReportFiling(receivedAt: at, messageID: nil, contentHash: hash, status: status, format: "free-text",
                     type: status == .filed ? .spam : nil, reporter: "someone@example.org", envelopeSender: nil, envelopeRecipient: nil,
                     reason: nil, identity: identity, tracedBy: identity == nil ? nil : .token, fields: .object([]), raw: [0x0a],
                     indicators: indicators, evidence: evidence, subjects: status == .filed ? subjects : [])
    }

    @Test func theSameMessageTwiceIsOneReport() throws {
        let t = try TempStore()
        let s = try t.open()
        let first = try s.file(report("h1", at: 100))
        #expect(first == .stored(reportID: 1, cases: [FiledCase(id: 1, subject: Self.spamFrom10, opened: true)]))
        #expect(try s.file(report("h1", at: 200)) == .duplicate(reportID: 1))
        #expect(try s.cases().map(\.reportCount) == [1])
        #expect(try s.cases().first?.lastReportAt == 100)
    }

    @Test func filingKeepsLowercasedIndicatorsAndTheEvidenceDigest() throws {
        let t = try TempStore()
        let s = try t.open()
        _ = try s.file(report("h1", at: 100, indicators: [("url", "HTTP://A.Example/X")],
                          evidence: [EvidenceItem(filename: "a.txt", contentType: "text/plain", bytes: Array("abc".utf8))]))
        let filed = try #require(try s.caseDetail(id: 1).reports.first)
        #expect(filed.indicators == ["url": ["http://a.example/x"]])
        #expect(filed.evidence.map(\.sha256) == ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"])
        #expect(try s.evidence(ofCase: 1).map(\.bytes) == [Array("abc".utf8)])
    }

    @Test func aReportOnSeveralSubjectsIsListedOnEachCaseAndATracedOneNamesItsIdentity() throws {
        let t = try TempStore()
        let s = try t.open()
        let other = CaseSubject(kind: .ip, value: "192.0.2.11", type: .spam)
        _ = try s.file(report("bulk", at: 100, subjects: [Self.spamFrom10, other]))
        _ = try s.file(report("traced", at: 200, identity: "sasl:alice@example.net"))
        let cases = try s.cases()
        #expect(cases.map(\.subject.value) == ["192.0.2.10", "192.0.2.11"])
        #expect(cases.map(\.reportCount) == [2, 1])
        #expect(cases.first?.identity == "sasl:alice@example.net" && cases.first?.tracedBy == .token)
        #expect(try s.caseDetail(id: 2).reports.map(\.id) == [1])
    }

    @Test func refusedActionsSayWhy() throws {
        let t = try TempStore()
        let s = try t.open()
        _ = try s.file(report("filed", at: 100))
        _ = try s.file(report("waiting", at: 100, status: .triage))
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

    @Test func categorizingAfterAResolutionOpensANewCase() throws {
        let t = try TempStore()
        let s = try t.open()
        _ = try s.file(report("filed", at: 100))
        _ = try s.file(report("waiting", at: 200, status: .triage))
        try s.resolveCase(id: 1, by: "alice", note: "fixed", at: 300)
        let filed = try s.categorize(report: 2, as: Self.spamFrom10, by: "bob", at: 400)
        #expect(filed == FiledCase(id: 2, subject: Self.spamFrom10, opened: true))
        #expect(try s.cases(status: .open).map(\.id) == [2])
        #expect(try s.cases(status: .resolved).map(\.id) == [1])
        #expect(try s.cases(type: .phishing).isEmpty)
    }
}

@Suite struct ReportRetentionTests {
    @Test func reportsPastRetentionGoWithTheirEvidenceButCasesStay() throws {
        let t = try TempStore()
        let s = try t.open()
        func filing(_ hash: String, at: Int64) -> ReportFiling {
            ReportFiling(receivedAt: at, messageID: nil, contentHash: hash, status: .filed, format: "arf", type: .spam,
                         reporter: "r@x", envelopeSender: nil, envelopeRecipient: nil, reason: nil, identity: nil,
                         tracedBy: nil, fields: .object([]), raw: Array("raw".utf8), indicators: [("ip", "192.0.2.1")],
                         evidence: [EvidenceItem(filename: "a.txt", contentType: "text/plain", bytes: [1, 2, 3])],
                         subjects: [CaseSubject(kind: .ip, value: "192.0.2.1", type: .spam)])
        }
        _ = try s.file(filing("old", at: 1_000))
        _ = try s.file(filing("new", at: 100_000))
        try s.pruneReports(now: 100_000, retention: TimeSpan(seconds: 50_000))
        let left = try s.db.query("SELECT content_hash FROM reports").map { $0[0].text }
        #expect(left == ["new"])
        #expect(try s.db.query("SELECT COUNT(*) FROM evidence").first?.first?.int == 1, "the old report's evidence went with it")
        #expect(try s.db.query("SELECT COUNT(*) FROM cases").first?.first?.int == 1, "the case record stays")
    }
}
