import Foundation
import MailWardenCore
import MailWardenStore
import Testing

/// Reports queued and filed straight into a sandbox's store, as the desk worker files them.
extension CLISandbox {
    @discardableResult
    func file(_ name: String, at: Int64, status: ReportStatus = .filed, type: AbuseType? = .spam, subjects: [CaseSubject] = [],
              indicators: [(kind: String, value: String)] = [], evidence: [EvidenceItem] = [],
              fields: JSONValue = .object([])) throws -> FilingOutcome {
        let store = try store()
        let queued = try store.enqueue(RawReport(receivedAt: at, envelopeSender: "fbl@reporter.example", envelopeRecipient: "abuse@example.net",
                                                 queueID: nil, raw: Array("Subject: \(name)\r\n\r\nreport\r\n".utf8)))
        return try store.file(ReportFiling(
            reportID: queued.reportID, messageID: "<\(name)@reporter.example>", status: status, format: "arf", type: type,
            reporter: "abuse@reporter.example", reporterAuthentication: "dkim:reporter.example", reason: status == .triage ? "no subject found" : nil, identity: nil, tracedBy: nil,
            fields: fields, indicators: indicators, evidence: evidence, subjects: subjects))
    }
}

func ipSubject(_ address: String, _ type: AbuseType = .spam) -> CaseSubject { CaseSubject(kind: .ip, value: address, type: type) }

@Suite struct CaseCommandTests {
    @Test func reportsOnTheSameIPAndTypeJoinOneCaseAndAnotherTypeOpensAnother() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, subjects: [ipSubject("192.0.2.10")])
        try sandbox.file("b", at: 2_000, subjects: [ipSubject("192.0.2.10")])
        try sandbox.file("c", at: 1_500, type: .phishing, subjects: [ipSubject("192.0.2.10", .phishing)])

        let cases = try sandbox.run("cases", "--json").jsonArray()
        #expect(cases.map { $0["type"] as? String } == ["spam", "phishing"], "newest activity first")
        #expect(cases.map { $0["report_count"] as? Int } == [2, 1])
        #expect(cases.first?["subject"] as? String == "192.0.2.10" && cases.first?["subject_kind"] as? String == "ip")
        #expect(cases.first?["opened_at"] as? String == RFC3339.format(1_000))
        #expect(cases.first?["last_report_at"] as? String == RFC3339.format(2_000))
        #expect(cases.first?["status"] as? String == "open" && cases.first?["identity"] is NSNull)

        let table = try sandbox.run("cases", "--type", "phishing")
        #expect(table.lines == [
            "ID  SUBJECT     SUBJECT KIND  TYPE      STATUS  OPENED AT             LAST REPORT AT        REPORT COUNT  IDENTITY  TRACED BY",
            " 2  192.0.2.10  ip            phishing  open    1970-01-01T00:25:00Z  1970-01-01T00:25:00Z             1  -         -",
            "",
        ])
        #expect(try sandbox.run("cases", "--status", "resolved").stdout == "no cases match\n")
    }

    @Test func subjectFindsACaseByItsSubjectOrAnIndicatorOfItsReports() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, type: .phishing, subjects: [ipSubject("198.51.100.7", .phishing)],
                         indicators: [("ip", "198.51.100.7"), ("url", "http://Phish.example/Login"), ("domain", "phish.example")])
        try sandbox.file("b", at: 2_000, subjects: [ipSubject("192.0.2.10")])

        for subject in ["http://phish.example/login", "HTTP://PHISH.EXAMPLE/LOGIN", "phish.example", "198.51.100.7"] {
            let found = try sandbox.run("cases", "--subject", subject, "--json").jsonArray()
            #expect(found.map { $0["id"] as? Int } == [1], "\(subject)")
        }
        #expect(try sandbox.run("cases", "--subject", "192.0.2.10", "--json").jsonArray().map { $0["id"] as? Int } == [2])
        try sandbox.file("c", at: 3_000, subjects: [ipSubject("2001:db8::1")])
        #expect(try sandbox.run("cases", "--subject", "2001:DB8::1", "--json").jsonArray().map { $0["id"] as? Int } == [3],
                "an IP matches in its canonical form")
        #expect(try sandbox.run("cases", "--subject", "elsewhere.example", "--json").stdout == "[]\n")
    }

    /// `cases --subject` with an address lists the cases of the networks that hold it (the store's
    /// tests cover the matching); the table names the subject's kind.
    @Test func anAddressFindsTheCasesOfTheNetworksThatHoldIt() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, subjects: [CaseSubject(kind: .network, value: "203.0.113.0/24", type: .malware)])
        try sandbox.file("b", at: 2_000, subjects: [ipSubject("203.0.113.9")])
        #expect(try sandbox.run("cases", "--subject", "203.0.113.9", "--json").jsonArray().map { $0["id"] as? Int } == [2, 1])
        #expect(try sandbox.run("cases", "--subject", "203.0.113.200").lines.dropFirst().first?
            .split(separator: " ").prefix(4) == ["1", "203.0.113.0/24", "network", "malware"])
    }

    @Test func aResolvedCaseTakesNoMoreReports() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, subjects: [ipSubject("192.0.2.10")])

        let resolve = try sandbox.run("case", "resolve", "1", "--note", "customer cleaned up", "--by", "alice")
        #expect(resolve.status == 0, "\(resolve.stderr)")
        #expect(resolve.stdout == "resolved case 1: 192.0.2.10 (ip), spam, 1 reports\n")
        let again = try sandbox.run("case", "resolve", "1")
        #expect(again.status == 1)
        #expect(again.stderr.contains("case 1 was already resolved at") && again.stderr.contains("by alice"), "\(again.stderr)")

        let next = try sandbox.file("b", at: 3_000, subjects: [ipSubject("192.0.2.10")])
        #expect(next == .filed(cases: [FiledCase(id: 2, subject: ipSubject("192.0.2.10"), opened: true)]))
        #expect(try sandbox.run("cases", "--status", "open", "--json").jsonArray().map { $0["id"] as? Int } == [2])

        let shown = try sandbox.run("case", "show", "1", "--json").jsonObject()
        let resolution = try #require(shown["resolution"] as? [String: Any])
        #expect(resolution["resolved_by"] as? String == "alice" && resolution["note"] as? String == "customer cleaned up")
        #expect(shown["status"] as? String == "resolved")
        let audit = try sandbox.store().auditEntries()
        #expect(audit.map(\.action) == ["case-resolve"])
        #expect(audit.first?.detail == "case 1 (ip 192.0.2.10, spam): customer cleaned up")
    }

    @Test func caseShowListsReportsWithIndicatorsAndEvidence() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, subjects: [ipSubject("192.0.2.10")], indicators: [("ip", "192.0.2.10"), ("url", "http://a.example/x")],
                         evidence: [EvidenceItem(filename: "original.eml", contentType: "message/rfc822", bytes: Array("abc".utf8))])
        try sandbox.file("b", at: 2_000, subjects: [ipSubject("192.0.2.10")], indicators: [("ip", "192.0.2.10")])

        let shown = try sandbox.run("case", "show", "1", "--json").jsonObject()
        #expect(shown["id"] as? Int == 1 && shown["report_count"] as? Int == 2 && shown["resolution"] is NSNull)
        let reports = try #require(shown["reports"] as? [[String: Any]])
        #expect(reports.map { $0["id"] as? Int } == [1, 2])
        #expect(reports.first?["message_id"] as? String == "<a@reporter.example>" && reports.first?["reporter"] as? String == "abuse@reporter.example")
        let indicators = try #require(reports.first?["indicators"] as? [String: [String]])
        #expect(indicators == ["ip": ["192.0.2.10"], "url": ["http://a.example/x"]])
        let evidence = try #require(reports.first?["evidence"] as? [[String: Any]])
        #expect(evidence.first?["filename"] as? String == "original.eml" && evidence.first?["size"] as? Int == 3)
        #expect(evidence.first?["sha256"] as? String == Self.sha256OfABC)
        #expect((reports.last?["evidence"] as? [Any])?.isEmpty == true)

        let table = try sandbox.run("case", "show", "1")
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.lines.prefix(3) == ["case         1", "subject      192.0.2.10 (ip)", "type         spam"])
        #expect(table.stdout.contains("customer     not traced\n"))
        #expect(table.stdout.contains("\nevidence (write it out with 'mailwarden case evidence 1 --extract DIR'):\n"))
        #expect(table.stdout.contains("original.eml  message/rfc822     3  \(Self.sha256OfABC)"))
    }

    /// SHA-256 of the three bytes `abc` (FIPS 180-2's first example).
    static let sha256OfABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    @Test func evidenceIsExtractedUnderSafeNamesAndNeverOverwrites() throws {
        let sandbox = try CLISandbox()
        let hostile = ["../../etc/passwd", "passwd", "..", "C:\\Windows\\evil.exe", ".hidden\u{7}name"]
        try sandbox.file("a", at: 1_000, subjects: [ipSubject("192.0.2.10")],
                         evidence: hostile.enumerated().map { i, name in
                             EvidenceItem(filename: name, contentType: "application/octet-stream", bytes: Array((i == 0 ? "abc" : "file \(i)").utf8))
                         })
        let out = sandbox.dir.appendingPathComponent("out/evidence")

        let run = try sandbox.run("case", "evidence", "1", "--extract", out.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.first == "wrote 5 files into \(out.path):")
        #expect(run.stdout.contains("passwd         3  \(Self.sha256OfABC)  ../../etc/passwd"), "\(run.stdout)")
        let names = ["passwd", "passwd-2", "evidence", "evil.exe", "hiddenname"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == names.sorted())
        #expect(try Data(contentsOf: out.appendingPathComponent("passwd")) == Data("abc".utf8))
        #expect(try Data(contentsOf: out.appendingPathComponent("passwd-2")) == Data("file 1".utf8))
        for name in names {
            let mode = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(name).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.dir.appendingPathComponent("etc").path))

        let again = try sandbox.run("case", "evidence", "1", "--extract", out.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == 10, "a second extraction adds numbered copies")
        #expect(try Data(contentsOf: out.appendingPathComponent("passwd-3")) == Data("abc".utf8))
        #expect(try Data(contentsOf: out.appendingPathComponent("passwd")) == Data("abc".utf8))
    }

    @Test func aCaseWithoutEvidenceSaysSo() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, subjects: [ipSubject("192.0.2.10")])
        let run = try sandbox.run("case", "evidence", "1", "--extract", sandbox.dir.appendingPathComponent("out").path)
        #expect(run.status == 0 && run.stdout == "case 1 has no evidence attachments\n", "\(run.stderr)")
    }

    @Test(arguments: [["case", "show", "999"], ["case", "show", "999", "--json"], ["case", "resolve", "999"],
                      ["case", "evidence", "999", "--extract", "/nonexistent/never-created"]])
    func anUnknownCaseFailsWithAHint(arguments: [String]) throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run(arguments: arguments)
        #expect(run.status == 1)
        #expect(run.stderr == "Error: case 999 does not exist (see 'mailwarden cases')\n")
        #expect(run.stdout.isEmpty)
    }

    // MARK: - triage

    @Test func categorizeFilesATriageReportOnTheOpenCase() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("a", at: 1_000, subjects: [ipSubject("192.0.2.10")])
        try sandbox.file("t", at: 2_000, status: .triage, type: nil, indicators: [("ip", "192.0.2.10"), ("email", "x@y.example")],
                         fields: .object([("subject", .string("Please stop this"))]))

        let queue = try sandbox.run("triage", "--json").jsonArray()
        #expect(queue.count == 1)
        #expect(queue.first?["id"] as? Int == 2 && queue.first?["subject"] as? String == "Please stop this")
        #expect(queue.first?["reason"] as? String == "no subject found" && queue.first?["format"] as? String == "arf")
        #expect(queue.first?["indicators"] as? [String: [String]] == ["email": ["x@y.example"], "ip": ["192.0.2.10"]])
        #expect(try sandbox.run("triage", "list").lines.first?.hasPrefix("ID  RECEIVED AT           REPORTER") == true)

        let categorize = try sandbox.run("triage", "categorize", "2", "--type", "spam", "--subject", "192.0.2.10", "--by", "bob")
        #expect(categorize.status == 0, "\(categorize.stderr)")
        #expect(categorize.stdout == "report 2 filed on open case 1: 192.0.2.10 (ip), spam\n")
        let cases = try sandbox.run("cases", "--json").jsonArray()
        #expect(cases.count == 1 && cases.first?["report_count"] as? Int == 2)
        #expect(cases.first?["last_report_at"] as? String == RFC3339.format(2_000))
        #expect(try sandbox.run("triage").stdout == "no reports waiting in triage\n")
        let report = try #require(try sandbox.store().caseDetail(id: 1).reports.last)
        #expect(report.status == .filed && report.type == .spam)

        let again = try sandbox.run("triage", "categorize", "2", "--type", "spam", "--subject", "192.0.2.10")
        #expect(again.status == 1)
        #expect(again.stderr.contains("report 2 is filed, not in triage"), "\(again.stderr)")
        let audit = try sandbox.store().auditEntries()
        #expect(audit.map(\.actor) == ["bob"] && audit.map(\.action) == ["triage-categorize"])
        #expect(audit.first?.detail == "report 2 on case 1 (ip 192.0.2.10, spam)")
    }

    /// An identity typed in another Unicode spelling (e and an accent) is the one the rules name
    /// (NFC): a lock and a triage decision land on it, not on a row of their own.
    @Test func anIdentityTypedDecomposedIsTheComposedOne() throws {
        let sandbox = try CLISandbox()
        let composed = "sasl:jos\u{E9}@example.net"
        #expect(try sandbox.run("lock", "sasl:jose\u{301}@example.net", "--reason", "phished").status == 0)
        #expect(try sandbox.store().state(of: composed).lock?.reason == "phished")
        try sandbox.file("t", at: Int64(Date().timeIntervalSince1970) - 60, status: .triage, type: nil)
        let run = try sandbox.run("triage", "categorize", "1", "--type", "spam", "--subject", "sasl:jose\u{301}@example.net")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try sandbox.store().cases().map { Array($0.subject.value.utf8) } == [Array(composed.utf8)])
    }

    /// A person's decision that crosses the complaint limit locks the customer and notifies, as the
    /// desk worker does (README: the abuse desk), naming the reports counted in the window.
    @Test func categorizingAComplaintThatCrossesTheLimitLocksAndNotifies() throws {
        let notice = FileManager.default.temporaryDirectory.appendingPathComponent("mw-notice-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: notice) }
        let sandbox = try CLISandbox(settings: "limit_complaints = 1/1d\ncomplaint_min_reporters = 1\nnotify_command = cat > \(notice)\n")
        let now = Int64(Date().timeIntervalSince1970)
        try sandbox.file("earlier", at: now - 120, subjects: [CaseSubject(kind: .identity, value: "sasl:bob@example.net", type: .spam)])
        try sandbox.file("t", at: now - 60, status: .triage, type: nil)
        // The earlier report already counted, from another organisation.
        _ = try sandbox.store().recordComplaint(identity: "sasl:bob@example.net", reporter: "other.example", reportID: 1,
                                                at: now - 120, window: .days(1))
        let run = try sandbox.run("triage", "categorize", "2", "--type", "spam", "--subject", "sasl:bob@example.net")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("sasl:bob@example.net is now locked: complaints 2 > 1/1d"), "\(run.stdout)")
        let sent = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: notice))) as? [String: Any]
        #expect(sent?["identity"] as? String == "sasl:bob@example.net" && sent?["automatic"] as? Bool == true)
        #expect(sent?["report_ids"] as? [Int] == [1, 2])
    }

    /// A person's decision counts as the desk's traced complaints do: dated by the report's arrival
    /// (a backlog three weeks old locks nobody today), one voice per reporting organisation, and
    /// no refused message on the lock it sets.
    @Test func aCategorizedComplaintCountsAsOfItsArrivalAndByItsReportersOrganisation() throws {
        let sandbox = try CLISandbox(settings: "limit_complaints = 1/1d\ncomplaint_min_reporters = 1\n")
        let now = Int64(Date().timeIntervalSince1970)
        try sandbox.file("old", at: now - 20 * 86400, status: .triage, type: nil)
        try sandbox.file("new", at: now - 60, status: .triage, type: nil)
        // The same organisation as the triage reports' abuse@reporter.example already complained today.
        _ = try sandbox.store().recordComplaint(identity: "sasl:bob@example.net", reporter: "reporter.example", reportID: 1,
                                                at: now - 600, window: .days(1))

        let old = try sandbox.run("triage", "categorize", "1", "--type", "spam", "--subject", "sasl:bob@example.net")
        #expect(old.status == 0, "\(old.stderr)")
        #expect(old.stdout == "report 1 filed on new case 1: sasl:bob@example.net (identity), spam\n")
        let new = try sandbox.run("triage", "categorize", "2", "--type", "spam", "--subject", "sasl:bob@example.net")
        #expect(new.status == 0, "\(new.stderr)")
        #expect(!new.stdout.contains("locked"), "\(new.stdout)")
        #expect(try sandbox.run("locks").stdout == "no active locks\n")

        // Another organisation crosses the limit; the lock refused no message yet.
        try sandbox.file("third", at: now - 30, status: .triage, type: nil)
        _ = try sandbox.store().recordComplaint(identity: "sasl:bob@example.net", reporter: "other.example", reportID: 1,
                                                at: now - 300, window: .days(1))
        let third = try sandbox.run("triage", "categorize", "3", "--type", "spam", "--subject", "sasl:bob@example.net")
        #expect(third.stdout.contains("sasl:bob@example.net is now locked: complaints 2 > 1/1d"), "\(third.stdout)")
        let locks = try sandbox.run("locks", "--json").jsonArray()
        #expect(locks.count == 1 && locks.first?["attempts"] as? Int == 0, "\(locks)")
    }

    /// A subject no rule of the config can name (capitals where the rule lower-cases) is refused
    /// before anything is filed: the case and the count would be on an identity that never sends.
    @Test func categorizingOnAnIdentityNoRuleNamesIsRefused() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("t", at: 2_000, status: .triage, type: nil)
        let run = try sandbox.run("triage", "categorize", "1", "--type", "spam", "--subject", "sasl:Bob@Example.NET")
        #expect(run.status == 1)
        #expect(run.stderr == "Error: sasl:Bob@Example.NET is not an identity MailWarden has seen, and identity_rule sasl lower-cases what it names: sasl:bob@example.net\n")
        #expect(try sandbox.run("triage", "--json").jsonArray().count == 1)
    }

    @Test(arguments: [
        (["--subject", "Example.COM."], "example.com", "domain"),
        (["--subject", "sasl:bob@example.net"], "sasl:bob@example.net", "identity"),
        (["--subject", "2001:DB8:0::1"], "2001:db8::1", "ip"),
        (["--subject", "198.51.100.77/24"], "198.51.100.0/24", "network"),
        (["--subject", "198.51.100.7/32"], "198.51.100.7", "ip"),
        (["--subject", "198.51.100.7", "--kind", "domain"], "198.51.100.7", "domain"),
    ])
    func categorizeInfersTheSubjectKind(options: [String], subject: String, kind: String) throws {
        let sandbox = try CLISandbox()
        try sandbox.file("t", at: 2_000, status: .triage, type: nil)
        let run = try sandbox.run(arguments: ["triage", "categorize", "1", "--type", "phishing"] + options)
        #expect(run.status == 0, "\(run.stderr)")
        let opened = try sandbox.run("cases", "--json").jsonArray()
        #expect(opened.first?["subject"] as? String == subject && opened.first?["subject_kind"] as? String == kind)
        #expect(opened.first?["type"] as? String == "phishing" && opened.first?["opened_at"] as? String == RFC3339.format(2_000))
        #expect(run.stdout == "report 1 filed on new case 1: \(subject) (\(kind)), phishing\n")
    }

    @Test func dismissTakesAReportOutOfTriage() throws {
        let sandbox = try CLISandbox()
        try sandbox.file("t", at: 2_000, status: .triage, type: nil)
        let dismiss = try sandbox.run("triage", "dismiss", "1", "--note", "an unsubscribe request")
        #expect(dismiss.status == 0 && dismiss.stdout == "report 1 dismissed\n", "\(dismiss.stderr)")
        #expect(try sandbox.run("triage", "--json").stdout == "[]\n")
        #expect(try sandbox.run("cases", "--json").stdout == "[]\n")
        let audit = try sandbox.store().auditEntries()
        #expect(audit.map(\.action) == ["triage-dismiss"] && audit.first?.detail == "report 1: an unsubscribe request")

        let again = try sandbox.run("triage", "dismiss", "1")
        #expect(again.status == 1 && again.stderr.contains("report 1 is dismissed, not in triage"), "\(again.stderr)")
        let unknown = try sandbox.run("triage", "dismiss", "7")
        #expect(unknown.status == 1 && unknown.stderr.contains("report 7 does not exist"), "\(unknown.stderr)")
    }

    @Test(arguments: [
        ["cases", "--status", "closed"],
        ["cases", "--type", "scam"],
        ["triage", "categorize", "1", "--type", "nonsense", "--subject", "a.example"],
        ["triage", "categorize", "1", "--type", "spam", "--subject", "example.com", "--kind", "ip"],
        ["triage", "categorize", "1", "--type", "spam", "--subject", "not a domain"],
        ["triage", "categorize", "1", "--type", "spam", "--subject", "nocolon", "--kind", "identity"],
        ["triage", "categorize", "1", "--subject", "a.example"],
        ["case", "evidence", "1"],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) throws {
        let sandbox = try CLISandbox()
        try sandbox.file("t", at: 2_000, status: .triage, type: nil)
        let run = try sandbox.run(arguments: arguments)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(try sandbox.store().triageQueue().count == 1)
    }
}

@Suite struct CategorizeComplaintTests {
    @Test func categorizingAReportOnACustomerCountsItAsAComplaint() throws {
        let sandbox = try CLISandbox(settings: "limit_complaints = 0/1d\ncomplaint_min_reporters = 1\n")
        try sandbox.file("t", at: Int64(Date().timeIntervalSince1970) - 60, status: .triage, type: nil)
        let run = try sandbox.run("triage", "categorize", "1", "--type", "spam", "--subject", "sasl:shop@example.net")
        #expect(run.status == 0)
        #expect(run.stdout.contains("sasl:shop@example.net is now locked: complaints 1 > 0/1d"), "\(run.stdout)")
        let locks = try sandbox.run("locks", "--json").jsonArray()
        #expect(locks.map { $0["identity"] as? String } == ["sasl:shop@example.net"])
    }
}
