import Foundation
import Synchronization
import Testing
import MailWardenCore
import MailWardenDesk
import MailWardenReports
import MailWardenStore

final class StepClock: WallClock {
    private let t = Mutex<Int64>(1_800_000_000)
    func now() -> Int64 { t.withLock { $0 } }
    func set(_ time: Int64) { t.withLock { $0 = time } }
}

/// Records the desk's lock notices instead of sending them.
final class RecordingNotifier: LockNotifier {
    let notices = Mutex<[(identity: Identity, cause: LockCause)]>([])
    func identityLocked(_ lock: LockRecord, cause: LockCause) { notices.withLock { $0.append((lock.identity, cause)) } }
}

/// A real store in a temporary directory and a desk over it.
final class DeskHarness {
    let dir: URL
    let store: SQLStore
    let desk: AbuseDesk
    let notifier = RecordingNotifier()
    let clock = StepClock()

    init(_ configText: String = "") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-desk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try SQLStore(path: dir.appendingPathComponent("store.db").path)
        desk = AbuseDesk(config: try Config.parse(text: configText, file: "desk.conf"), cases: store, policy: store, clock: clock,
                         notifier: notifier)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Complaints traced by the token header lock at the first one over 1/1d, from two distinct reporters.
    static func complaints() throws -> DeskHarness {
        try DeskHarness("""
            identity_header = token
            limit_complaints = 1/1d
            complaint_min_reporters = 2
            authserv_id = \(ourMX)
            """)
    }

    /// A message customer user:shop7 sent to the organisations the tests complain from.
    func shop7Original() throws -> String {
        try sentOriginal(by: "user:shop7", to: ["a@one.example", "b@two.example", "c@three.example", "d@four.example",
                                                "e@one.dyn.example", "f@two.dyn.example"])
    }

    /// A message `identity` sent to `recipients` now, logged in the outbound log as the milter logs
    /// it, and quoted as a complaint quotes it: with its Message-ID, its date and the token we added.
    func sentOriginal(by identity: Identity, to recipients: [String]) throws -> String {
        let messageID = "<\(UUID().uuidString)@shop.example>"
        _ = try store.record(MessageEvent(identity: identity, at: clock.now(), recipients: recipients.count, spam: false, messageID: messageID,
                                          queueID: nil, recipientDomains: recipients.compactMap(MessageEvent.recipientDomain)), windows: [:])
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.timeZone = TimeZone(identifier: "UTC")
        date.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return """
            X-MailWarden-ID: \(try StoreIdentityTokenizer(store: store).token(for: identity))
            Message-ID: \(messageID)
            Date: \(date.string(from: Date(timeIntervalSince1970: TimeInterval(clock.now()))))
            Subject: hi

            body
            """
    }

    func ingest(_ text: String, sender: String? = "reporter@isp.example", receivedAt: Int64 = 1_800_000_000) throws -> IngestResult {
        try ingest(Array(text.utf8), sender: sender, receivedAt: receivedAt)
    }

    /// Queues the message as the milter or the pipe does, then has the desk worker take it.
    func ingest(_ raw: [UInt8], sender: String?, receivedAt: Int64 = 1_800_000_000) throws -> IngestResult {
        let worker = DeskWorker(desk: desk, queue: store, parser: InProcessParser())
        switch try store.enqueue(RawReport(receivedAt: receivedAt, envelopeSender: sender, envelopeRecipient: "abuse@example.com",
                                           queueID: nil, raw: raw)) {
        case .duplicate(let id): return .duplicate(reportID: id)
        case .queued(let id):
            guard case .done(let result) = try worker.process(reportID: id) else { throw UnexpectedOutcome() }
            return result
        }
    }

    struct UnexpectedOutcome: Error {}
}

/// A field our MX writes for a reporter whose DKIM signature verified for its own domain.
func dkimPass(_ reporter: String, authservID: String = ourMX) -> String {
    "\(authservID); dkim=pass (2048-bit key) header.d=\(reporter.split(separator: "@").last ?? "") header.i=@\(reporter.split(separator: "@").last ?? "")"
}

/// The parser in this process: the desk's logic under test, without the isolated process.
final class InProcessParser: ReportParsing {
    private var started: [UInt8] = []
    func start(_ raw: [UInt8]) { started = raw }
    func finish() -> Result<AbuseReport, ParseFailure> { .success(ReportParser.parse(started)) }
}

/// The public corpus (copied into the parser's test fixtures with its README, sources and licences).
let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../MailWardenReportsTests/Fixtures/reports").standardizedFileURL
let corpusFiles = ((try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path)) ?? [])
    .filter { $0.hasSuffix(".eml") }.sorted()

/// Our MX's authserv-id in the desk tests' configs.
let ourMX = "mx.example.com"

/// An ARF feedback report about `original` (a message our customer sent), from `reporter`; with
/// `authenticationResults`, topped by that field as an MX writes it.
func feedbackReport(original: String, reporter: String, sourceIP: String = "192.0.2.25", authenticationResults: String? = nil) -> String {
    """
    \(authenticationResults.map { "Authentication-Results: \($0)\n" } ?? "")From: \(reporter)
    To: abuse@example.com
    Subject: FW: complaint
    Message-ID: <\(UUID().uuidString)@isp.example>
    MIME-Version: 1.0
    Content-Type: multipart/report; report-type=feedback-report; boundary="b1"

    --b1
    Content-Type: text/plain

    This is an abuse report.
    --b1
    Content-Type: message/feedback-report

    Feedback-Type: abuse
    User-Agent: test/1.0
    Version: 1
    Source-IP: \(sourceIP)

    --b1
    Content-Type: message/rfc822

    \(original)
    --b1--

    """
}

@Suite struct AbuseDeskTests {
    @Test(arguments: corpusFiles)
    func everyCorpusReportIsStoredOnceAndFiledConsistently(file: String) throws {
        let h = try DeskHarness()
        let raw = try [UInt8](Data(contentsOf: corpusDirectory.appendingPathComponent(file)))
        let first = try h.ingest(raw, sender: nil)
        switch first.status {
        case .filed: #expect(!first.cases.isEmpty, "a filed report is on a case")
        case .triage, .ignored: #expect(first.cases.isEmpty)
        case .duplicate, .correspondence: Issue.record("a fresh store has no duplicate and no thread: \(first.status)")
        }
        let again = try h.ingest(raw, sender: nil)
        #expect(again.status == .duplicate && again.reportID == first.reportID)
    }

    @Test func theSameReportByPipeAfterTheMilterIsADuplicate() throws {
        let h = try DeskHarness()
        let report = feedbackReport(original: "From: a@example.net\nSubject: x\n\nbody", reporter: "fbl@isp.example")
        let viaMilter = report.replacingOccurrences(of: "\n", with: "\r\n")
        let viaPipe = "Return-Path: <fbl@isp.example>\nDelivered-To: abuse@example.com\nReceived: from mx by us; Tue\n" + report
        let first = try h.ingest(viaMilter)
        #expect(first.status == .filed)
        #expect(try h.ingest(viaPipe).status == .duplicate)
    }

    @Test func complaintsAreTracedByTokenHeader() throws {
        let h = try DeskHarness("identity_header = token")
        let token = try StoreIdentityTokenizer(store: h.store).token(for: "sasl:shop@example.net")
        let r = try h.ingest(feedbackReport(original: "X-MailWarden-ID: \(token)\nSubject: buy\n\nspam", reporter: "fbl@isp.example"))
        #expect(r.identity == "sasl:shop@example.net" && r.tracedBy == .token)
        #expect(r.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "sasl:shop@example.net", type: .spam)])
    }

    /// The outbound log traces a Message-ID; it counts only with our queue id or the message's date.
    @Test(arguments: [
        ("Received: from a by mx.example.net with ESMTPSA id Q1X9; Wed\nMessage-ID: <abc-123@example.net>", true),
        ("Date: Fri, 15 Jan 2027 08:00:00 +0000\nMessage-ID: <abc-123@example.net>", true),
        ("Date: Fri, 1 Jan 2027 08:00:00 +0000\nMessage-ID: <abc-123@example.net>", false),
        ("Received: from a by mx.example.net with ESMTPSA id OTHER; Wed\nMessage-ID: <abc-123@example.net>", false),
        ("Message-ID: <abc-123@example.net>", false),
    ])
    func complaintsAreTracedByTheOutboundLog(headers: String, counted: Bool) throws {
        let h = try DeskHarness("authserv_id = \(ourMX)")
        // 1_800_000_000 is 2027-01-15T08:00:00Z.
        _ = try h.store.record(MessageEvent(identity: "sasl:bob@example.net", at: 1_800_000_000, recipients: 1, spam: false,
                                            messageID: "<abc-123@example.net>", queueID: "Q1X9", recipientDomains: ["isp.example"]), windows: [:])
        let r = try h.ingest(feedbackReport(original: headers + "\nSubject: hi\n\nbody", reporter: "fbl@isp.example",
                                            authenticationResults: dkimPass("fbl@isp.example")))
        #expect(r.identity == "sasl:bob@example.net" && r.tracedBy == .outboundLog)
        #expect(r.cases.map(\.subject.kind) == [.identity], "filed on the customer's case either way")
        #expect((r.complaint != nil) == counted)
        #expect((r.notCountedBecause != nil) == !counted)
    }

    @Test func aTraceByIdentityRulesOnAnAttackerWrittenOriginalIsFiledButNeverCounted() throws {
        let h = try DeskHarness("""
            identity_rule = user header X-Auth-User /^\\s*(?<id>\\S+)/ lowercase
            limit_complaints = 1/1d
            complaint_min_reporters = 1
            """)
        // Field names match in any case (RFC 5322), as in the milter.
        for (reporter, field) in [("a@one.example", "X-Auth-User"), ("b@two.example", "x-auth-user"), ("c@three.example", "X-AUTH-USER")] {
            let r = try h.ingest(feedbackReport(original: "\(field): Shop42\nSubject: hi \(reporter)\n\nbody", reporter: reporter))
            #expect(r.identity == "user:shop42" && r.tracedBy == .identityRule)
            #expect(r.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "user:shop42", type: .spam)])
            #expect(r.complaint == nil && r.notCountedBecause?.contains("anyone can write") == true)
        }
        #expect(try h.store.state(of: "user:shop42").lock == nil, "three complaints over a limit of 1, none counted")
    }

    @Test func untracedReportsFileOnTheSourceIP() throws {
        let h = try DeskHarness()
        let r = try h.ingest(feedbackReport(original: "Subject: hi\n\nbody", reporter: "fbl@isp.example", sourceIP: "198.51.100.9"))
        #expect(r.identity == nil)
        #expect(r.cases.map(\.subject) == [CaseSubject(kind: .ip, value: "198.51.100.9", type: .spam)])
        let second = try h.ingest(feedbackReport(original: "Subject: other\n\nbody", reporter: "x@isp.example", sourceIP: "198.51.100.9"))
        #expect(second.cases.first?.id == r.cases.first?.id && second.cases.first?.opened == false, "joins the open case")
    }

    /// A CERT's report, then the CERT's answer to our reply (In-Reply-To) and its ticket system's
    /// update (the ticket id in the subject): both join the first report's case as correspondence;
    /// another reporter's ticket of the same number is another ticket.
    @Test func repliesAndTicketFollowUpsJoinTheirCase() throws {
        let h = try DeskHarness()
        func mail(_ headers: String, _ body: String) -> String {
            "From: CERT <cert@abuse.cert.example>\nTo: abuse@example.com\n\(headers)\n\n\(body)\n"
        }
        let first = try h.ingest(mail("Subject: [Ticket#2026120510000042] Spam from 198.51.100.77\nMessage-ID: <t42@cert.example>",
                                      "We received spam from 198.51.100.77, a host in your network. Please stop this spam."))
        #expect(first.status == .filed)
        let caseID = try #require(first.cases.first?.id)

        let reply = try h.ingest(mail("Subject: Re: your answer\nMessage-ID: <r1@cert.example>\nIn-Reply-To: <ours@example.com>\nReferences: <t42@cert.example> <ours@example.com>",
                                      "Thank you. The spam from 203.0.113.50 went on until yesterday."))
        #expect(reply.status == .correspondence && reply.cases.map(\.id) == [caseID], "\(reply.logSummary)")
        #expect(reply.reason == "in the thread of case \(caseID)")

        let update = try h.ingest(mail("Subject: [Ticket#2026120510000042] closed\nMessage-ID: <u1@cert.example>",
                                       "This ticket about 198.51.100.77 is now closed."))
        #expect(update.status == .correspondence && update.cases.map(\.id) == [caseID], "\(update.logSummary)")
        #expect(update.reason == "in the thread of case \(caseID) (ticket 2026120510000042)")

        let other = try h.ingest("From: Other <abuse@other.example>\nTo: abuse@example.com\nSubject: [Ticket#2026120510000042] Spam from 198.51.100.78\nMessage-ID: <o1@other.example>\n\nSpam from 198.51.100.78, please stop this spam.\n")
        #expect(other.status == .filed && other.cases.first?.id != caseID, "another reporter's ticket is another ticket")

        let detail = try h.store.caseDetail(id: caseID)
        #expect(detail.reports.map(\.status) == [.filed, .correspondence, .correspondence], "case show lists the correspondence")
        #expect(detail.summary.reportCount == 1, "correspondence is no report of abuse")
        #expect(try h.store.cases().count == 2, "no case opened on the correspondence's addresses")
    }

    /// A DKIM, SPF or DMARC failure report (RFC 6591) about a message carrying our customer's token
    /// is filed, never counted: it says the message failed authentication as ours (a spoof with a
    /// copied token, or our mail broken by a forwarder). Two receivers' reports locked the customer.
    @Test func anAuthenticationFailureReportNeverCounts() throws {
        let h = try DeskHarness.complaints()
        let original = try h.shop7Original()
        for reporter in ["dmarc@one.example", "dmarc@two.example"] {
            let report = feedbackReport(original: original, reporter: reporter, authenticationResults: dkimPass(reporter))
                .replacingOccurrences(of: "Feedback-Type: abuse", with: "Feedback-Type: auth-failure\nAuth-Failure: dmarc")
            let result = try h.ingest(report)
            #expect(result.status == .filed && result.complaint == nil, "\(result.logSummary)")
            #expect(result.notCountedBecause?.contains("authentication-failure") == true, "\(result.logSummary)")
        }
        #expect(try h.store.state(of: "user:shop7").lock == nil)
    }

    /// complaint_trusted_reporters names a feedback loop by its own domain: its provider's free
    /// mailboxes, in the same organisation, are not it (the setting's old example, an organisational
    /// domain, trusted every webmail user there). An entry takes its subdomains.
    @Test func aTrustedFeedbackLoopIsNotItsProvidersFreeMailboxes() throws {
        let h = try DeskHarness("""
            identity_header = token
            limit_complaints = 5/1d
            authserv_id = \(ourMX)
            complaint_trusted_reporters = fbl.isp.example
            """)
        let original = try h.shop7Original()
        let webmail = try h.ingest(feedbackReport(original: original, reporter: "someone@isp.example",
                                                  authenticationResults: dkimPass("someone@isp.example")))
        #expect(webmail.complaint == nil && webmail.notCountedBecause?.contains("isp.example is not in complaint_trusted_reporters") == true,
                "\(webmail.logSummary)")
        let loop = try h.ingest(feedbackReport(original: original, reporter: "feedback@arf.fbl.isp.example",
                                               authenticationResults: dkimPass("feedback@isp.example")))
        #expect(loop.complaint != nil, "\(loop.logSummary)")
    }

    /// Names anyone can get under a private registry of the public suffix list (as under duckdns.org,
    /// each able to publish SPF) are one reporter: two of them were two, and locked the customer.
    @Test func namesUnderAPrivateRegistryAreOneReporter() throws {
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("psl-\(UUID().uuidString).dat")
        try "// ===BEGIN ICANN DOMAINS===\nexample\n// ===BEGIN PRIVATE DOMAINS===\ndyn.example\n".write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        let h = try DeskHarness("""
            identity_header = token
            limit_complaints = 1/1d
            complaint_min_reporters = 2
            authserv_id = \(ourMX)
            public_suffix_list = \(list.path)
            """)
        let original = try h.shop7Original()
        for reporter in ["a@one.dyn.example", "b@two.dyn.example"] {
            let result = try h.ingest(feedbackReport(original: original, reporter: reporter, authenticationResults: dkimPass(reporter)))
            #expect(result.complaint != nil, "each is authenticated and counted: \(result.logSummary)")
        }
        #expect(try h.store.state(of: "user:shop7").lock == nil, "one reporter, not two")
    }

    /// Complaints are dated by their arrival: two that came 46 h apart, taken by the desk 23 h apart
    /// (a backlog), are not in one day's window. They were dated when the desk took them, and locked.
    @Test func complaintsAreDatedByTheirArrivalNotByWhenTheDeskTookThem() throws {
        let h = try DeskHarness.complaints()
        let original = try h.shop7Original()
        let t0: Int64 = 1_800_000_000
        h.clock.set(t0 + 23 * 3600)
        let first = try h.ingest(feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example")),
                                 receivedAt: t0)
        #expect(first.complaint != nil)
        h.clock.set(t0 + 46 * 3600)
        _ = try h.ingest(feedbackReport(original: original, reporter: "abuse@two.example", authenticationResults: dkimPass("abuse@two.example")),
                         receivedAt: t0 + 46 * 3600)
        #expect(try h.store.state(of: "user:shop7").lock == nil, "one reporter in the day before the second complaint")
    }

    /// A complaint taken late, after later ones were counted, is judged on the day before its own
    /// arrival: it was judged on everything since that day began, four reporters where no day held
    /// more than two, and locked.
    @Test func aComplaintTakenLateIsJudgedOnTheDayBeforeItsArrival() throws {
        let h = try DeskHarness("""
            identity_header = token
            limit_complaints = 2/1d
            authserv_id = \(ourMX)
            """)
        let original = try h.shop7Original()
        let now: Int64 = 1_800_000_000
        for (reporter, hoursAgo) in [("fbl@one.example", 46), ("abuse@two.example", 1), ("abuse@three.example", 2), ("abuse@four.example", 23)] {
            h.clock.set(max(now - Int64(hoursAgo) * 3600, now - 3600))
            let result = try h.ingest(feedbackReport(original: original, reporter: reporter, authenticationResults: dkimPass(reporter)),
                                      receivedAt: now - Int64(hoursAgo) * 3600)
            #expect(result.complaint != nil, "\(reporter): \(result.logSummary)")
        }
        #expect(try h.store.state(of: "user:shop7").lock == nil, "two reporters in the day before the late one: one.example and four.example")
    }

    /// Correspondence counts toward no lock: a second organisation's complaint that answers the first
    /// one's report joins its case and is not counted; the same complaint outside the thread locks.
    @Test func correspondenceCountsTowardNoLock() throws {
        let h = try DeskHarness.complaints()
        let original = try h.shop7Original()
        let first = feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example"))
        let firstID = try #require(first.split(separator: "\n").first { $0.hasPrefix("Message-ID: <") }?.dropFirst("Message-ID: <".count).dropLast())
        #expect(try h.ingest(first).complaint != nil)
        let second = feedbackReport(original: original, reporter: "abuse@two.example", authenticationResults: dkimPass("abuse@two.example"))
        let reply = try h.ingest(second.replacingOccurrences(of: "Subject: FW: complaint", with: "In-Reply-To: <\(firstID)>\nSubject: Re: complaint"))
        #expect(reply.status == .correspondence && reply.complaint == nil)
        #expect(try h.store.state(of: "user:shop7").lock == nil, "a second reporter, but in the first one's thread")
        let unthreaded = try h.ingest(second)
        guard case .locked? = unthreaded.complaint else { Issue.record("\(String(describing: unthreaded.complaint))"); return }
    }

    /// A hoster's ticket system (WHMCS: `[Ticket ID: TN-656679]`) sends the complaint, then closes
    /// the ticket: the notice joins the complaint's case; without it, the notice waits for a person.
    @Test func aTicketSystemsClosingNoticeJoinsItsTicketsCase() throws {
        let h = try DeskHarness()
        let subject = "Subject: [Ticket ID: TN-656679] 198.51.100.79 [login-attack] Abuse originating from IP you are using"
        func mail(_ messageID: String, _ body: String) -> String {
            "From: \"Hoster Abuse\" <abuse-team@hoster.example>\nTo: abuse@example.com\n\(subject)\nMessage-ID: <\(messageID)@hoster.example>\n\n\(body)\n"
        }
        let closing = mail("c1", "This is a notification to let you know that we are changing the status of your ticket #TN-656679 to Closed.")
        let alone = try DeskHarness().ingest(closing)
        #expect(alone.status == .triage && alone.cases.isEmpty, "\(alone.logSummary)")
        let first = try h.ingest(mail("o1", "Our servers registered SSH login attacks from 198.51.100.79, an address you are using."))
        let caseID = try #require(first.cases.first?.id)
        let notice = try h.ingest(closing)
        #expect(notice.status == .correspondence && notice.cases.map(\.id) == [caseID], "\(notice.logSummary)")
        #expect(notice.reason == "in the thread of case \(caseID) (ticket tn-656679)")
    }

    @Test func ticketIDsAreReadAsTicketSystemsWriteThem() {
        let tickets: [(String, String?)] = [
            ("[Ticket#2026120510000042] Spam", "2026120510000042"), ("Re: [rt.cert.example #12345] abuse", "12345"),
            ("[CERT-Bund#2026120512345678] Phishing", "2026120512345678"), ("Case 01234567: your network", "01234567"),
            ("INC0012345 resolved", "0012345"), ("[SR-1234567] update", "1234567"),
            ("[Ticket ID: TN-656679] 192.0.2.5 [login-attack]", "tn-656679"), ("Abuse Message [AbuseID:A98175:19]: spam", "a98175"),
            ("Case No. 12345: your network", "12345"),
            ("Order #12345 shipped", nil), ("Spam from 192.0.2.5", nil), ("incoming spam 2026", nil), ("[#12] short", nil),
        ]
        for (subject, expected) in tickets {
            let report = ReportParser.parse(Array("From: a@b.example\nSubject: \(subject)\n\nbody\n".utf8))
            #expect(report.ticket == expected, "\(subject)")
        }
    }

    @Test func noCaseIsFiledOnANonPublicAddress() throws {
        let h = try DeskHarness()
        for ip in ["10.1.2.3", "192.168.7.7", "fd12::1", "2603:10a6:208:1::5"] {
            let r = try h.ingest(feedbackReport(original: "Subject: hi \(ip)\n\nbody", reporter: "fbl@isp.example", sourceIP: ip))
            #expect(r.status == .triage && r.cases.isEmpty)
            #expect(r.reason == "only non-public addresses (\(ip)): no case is filed on them")
        }
        #expect(try h.store.cases().isEmpty)
    }

    /// Text that reads as a host name under no top-level domain (`smtp.mailfrom` of a pasted
    /// authentication result, a product's `hitmanpro.alert`) names no one: no case on it.
    @Test func noCaseIsFiledOnANameUnderNoTopLevelDomain() throws {
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("psl-\(UUID().uuidString).dat")
        try "// ===BEGIN ICANN DOMAINS===\ncom\n".write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        let h = try DeskHarness("public_suffix_list = \(list.path)")
        func phishing(_ names: String) throws -> IngestResult {
            try h.ingest("From: soc@bank.example\nSubject: Phishing site\n\nA phishing page imitating our bank is hosted at \(names).\n")
        }
        let nowhere = try phishing("hitmanpro.alert and 5321.mfrom")
        #expect(nowhere.status == .triage && nowhere.cases.isEmpty, "\(nowhere.status)")
        #expect(nowhere.reason == "only names under no top-level domain of the public suffix list (hitmanpro.alert, 5321.mfrom): no case is filed on them",
                "\(nowhere.reason ?? "")")
        let real = try phishing("5321.mfrom and login-bank.com")
        #expect(real.cases.map(\.subject) == [CaseSubject(kind: .domain, value: "login-bank.com", type: .phishing)], "\(real.status) \(real.reason ?? "")")
    }

    /// A report whose source field names a network files a case on that network; another report on
    /// it joins the case; a network reaching into a private range is no case.
    @Test func aReportedNetworkIsACaseOfItsOwn() throws {
        let h = try DeskHarness()
        func report(_ source: String) throws -> IngestResult {
            try h.ingest("From: noc@cdn.example\nSubject: DDoS attack from your network\n\nSource IP Address: \(source)\nDDoS floods.\n")
        }
        let first = try report("198.51.100.77/24")
        #expect(first.status == .filed && first.networks == ["198.51.100.0/24"], "\(first.status) \(first.reason ?? "")")
        #expect(first.cases.map(\.subject) == [CaseSubject(kind: .network, value: "198.51.100.0/24", type: .networkAbuse)])
        let again = try report("198.51.100.0/24")
        #expect(again.cases.first?.id == first.cases.first?.id && again.cases.first?.opened == false)
        let privateRange = try report("10.20.0.0/16")
        #expect(privateRange.status == .triage && privateRange.cases.isEmpty)
        #expect(privateRange.reason == "only non-public addresses (10.20.0.0/16): no case is filed on them", "\(privateRange.reason ?? "")")
        // A block list's rows: an address and a network, a case each.
        let blocklist = try h.ingest(Self.blockList(["203.0.113.7", "203.0.113.16/29"]))
        #expect(blocklist.cases.map(\.subject.kind) == [.ip, .network] && blocklist.cases.map(\.subject.value) == ["203.0.113.7", "203.0.113.16/29"],
                "\(blocklist.cases) \(blocklist.reason ?? "")")
    }

    /// A feed's block list of these addresses or networks, as a CSV attachment.
    static func blockList(_ sources: [String]) -> String {
        let rows = sources.map { "\"2026-12-01 07:07:03\",\"\($0)\",\"IPblocklist - Spyware\"" }
        return """
            From: reports@feeds.example
            Subject: Block listed addresses on your network
            Content-Type: multipart/mixed; boundary="c"

            --c
            Content-Type: text/plain

            Attached are the addresses of your network on our block list (spyware).
            --c
            Content-Type: text/csv; name="blocklist.csv"

            "timestamp","ip","source"
            \(rows.joined(separator: "\n"))
            --c--
            """
    }

    /// A block list of 250 addresses is filed on 250 cases, most of them ahead of the report's own
    /// transaction, each counting the report once; the log line names the first few.
    @Test func aLongBlockListIsFiledOnEachOfItsAddressesOnce() throws {
        let h = try DeskHarness()
        let r = try h.ingest(Self.blockList((0..<250).map { "198.51.\($0 / 200).\($0 % 200 + 1)" }))
        #expect(r.status == .filed && r.cases.count == 250, "\(r.status) \(r.cases.count) \(r.reason ?? "")")
        #expect(Set(r.cases.map(\.subject.value)).count == 250 && r.cases.allSatisfy(\.opened))
        #expect(try h.store.cases().count == 250 && (try h.store.cases()).allSatisfy { $0.reportCount == 1 })
        #expect(r.logSummary.contains("(+230 more)") && r.logSummary.count < 1_000, "\(r.logSummary)")
    }

    /// Project Honey Pot's notices list the harvesters' addresses and end with its company's link:
    /// with only private addresses listed (an anonymised sample), the link is no case.
    @Test func aWrittenReportOfPrivateAddressesIsNotFiledOnTheLinksOfItsFooter() throws {
        let h = try DeskHarness()
        let r = try h.ingest("""
            From: monitor@honeypot.example
            Subject: Harvesting and spam from your network

            IPs engaged in harvesting on your network: 192.168.1.19 (last seen 2026-12-01), 192.168.1.21 (2026-12-02)

            Project Honey Pot, c/o Unspam Example, Inc. (http://www.unspam.example/)
            """)
        #expect(r.status == .triage && r.cases.isEmpty, "\(r.status) \(r.cases)")
        #expect(r.reason?.hasPrefix("only non-public addresses (192.168.1.19") == true, "\(r.reason ?? "")")
    }

    @Test func complaintsFromEnoughDistinctReportersLockTheCustomer() throws {
        let h = try DeskHarness.complaints()
        let original = try h.shop7Original()
        _ = try h.ingest(feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example")))
        _ = try h.ingest(feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example")))
        #expect(try h.store.state(of: "user:shop7").lock == nil, "one reporter, however often, is below complaint_min_reporters")
        let third = try h.ingest(feedbackReport(original: original, reporter: "abuse@two.example", authenticationResults: dkimPass("abuse@two.example")))
        guard case .locked(_, let crossing)? = third.complaint else { Issue.record("\(String(describing: third.complaint))"); return }
        #expect(crossing?.counter == .complaints)
        #expect(try h.store.state(of: "user:shop7").lock?.automatic == true)
    }

    /// Only reporters our own MX authenticated count, by organisation; forged ones are filed, uncounted.
    @Test func forgedComplaintsAreFiledButOnlyAuthenticatedReportersCount() throws {
        let h = try DeskHarness.complaints()
        let original = try h.shop7Original()
        // Four invented reporters: no A-R, a foreign authserv-id, our id with a failing or misaligned DKIM.
        let forged = [
            ("a@invented1.example", nil),
            ("b@invented2.example", dkimPass("b@invented2.example", authservID: "mx.attacker.example")),
            ("c@invented3.example", "\(ourMX); dkim=fail header.d=invented3.example"),
            ("d@invented4.example", "\(ourMX); dkim=pass header.d=attacker.example"),
        ]
        for (reporter, ar) in forged {
            let r = try h.ingest(feedbackReport(original: original, reporter: reporter, authenticationResults: ar))
            #expect(r.status == .filed && r.identity == "user:shop7" && r.tracedBy == .token)
            #expect(r.complaint == nil && r.notCountedBecause?.hasPrefix("reporter not authenticated") == true, "\(r.notCountedBecause ?? "")")
            #expect(r.reporterAuthentication?.hasPrefix("unauthenticated") == true)
        }
        #expect(try h.store.state(of: "user:shop7").lock == nil, "four forged complaints over a limit of 1: no lock")
        #expect(h.notifier.notices.withLock { $0.isEmpty })
        // Two organisations our MX authenticated (one through a subdomain's signature): counted, locked.
        let first = try h.ingest(feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example")))
        let second = try h.ingest(feedbackReport(original: original, reporter: "abuse@two.example",
                                                 authenticationResults: "\(ourMX); dkim=pass header.d=mail.two.example"))
        #expect(second.reporterAuthentication == "dkim:two.example")
        guard case .locked(_, let crossing)? = second.complaint else { Issue.record("\(String(describing: second.complaint))"); return }
        #expect(crossing?.counter == .complaints)
        // The admin is told, with the two counted reports and none of the forged ones.
        let notices = h.notifier.notices.withLock { $0 }
        #expect(notices.map(\.identity) == ["user:shop7"])
        #expect(notices.first?.cause == .complaints(reportIDs: [first.reportID, second.reportID]))
        let shown = try h.store.caseDetail(id: try #require(second.cases.first?.id)).reports.map { $0.reporterAuthentication ?? "" }
        #expect(shown.filter { $0.hasPrefix("unauthenticated") }.count == 4 && shown.filter { $0.hasPrefix("dkim:") }.count == 2)
    }

    @Test func withNoAuthservIDNoComplaintCounts() throws {
        let h = try DeskHarness("identity_header = token\nlimit_complaints = 1/1d\ncomplaint_min_reporters = 1")
        let original = "X-MailWarden-ID: \(try StoreIdentityTokenizer(store: h.store).token(for: "user:shop8"))\nSubject: hi\n\nbody"
        let r = try h.ingest(feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example")))
        #expect(r.complaint == nil && r.notCountedBecause == "reporter not authenticated (no authserv_id configured)")
    }

    /// Anyone who received one of a customer's messages can attach it, or a made-up one with its
    /// token, to complaints from domains of their own with SPF: three such locked the customer. A
    /// complaint counts only from an organisation the message was sent to.
    @Test func aComplaintCountsOnlyFromAnOrganisationTheMessageWasSentTo() throws {
        let h = try DeskHarness.complaints()
        let original = try h.sentOriginal(by: "user:shop7", to: ["victim@mail.one.example", "other@two.example"])
        let token = try StoreIdentityTokenizer(store: h.store).token(for: "user:shop7")
        for reporter in ["x@attacker1.example", "y@attacker2.example", "z@attacker3.example"] {
            for quoted in [original, "X-MailWarden-ID: \(token)\nMessage-ID: <made-up-\(reporter)>\nSubject: hi\n\nbody"] {
                let r = try h.ingest(feedbackReport(original: quoted, reporter: reporter, authenticationResults: dkimPass(reporter)))
                #expect(r.status == .filed && r.identity == "user:shop7" && r.tracedBy == .token)
                #expect(r.complaint == nil, "\(reporter): \(r.logSummary)")
                #expect(r.notCountedBecause?.hasPrefix(quoted == original ? "the original was not sent to attacker"
                                                                           : "the original is not in our outbound log") == true,
                        "\(r.notCountedBecause ?? "")")
            }
        }
        #expect(try h.store.state(of: "user:shop7").lock == nil, "six complaints from three organisations over a limit of 1: none counted")
        // The recipients' own organisations: counted (one through a subdomain's mailbox), and locked.
        #expect(try h.ingest(feedbackReport(original: original, reporter: "abuse@one.example", authenticationResults: dkimPass("abuse@one.example"))).complaint != nil)
        let second = try h.ingest(feedbackReport(original: original, reporter: "fbl@two.example", authenticationResults: dkimPass("fbl@two.example")))
        guard case .locked? = second.complaint else { Issue.record("\(String(describing: second.complaint))"); return }
    }

    /// Without the public suffix list, the last two labels would make every co.uk name one
    /// organisation: a reporter must then be the recipient's domain, or a name above or below it.
    @Test func withoutThePublicSuffixListOnlyTheRecipientsOwnNamesCount() throws {
        let h = try DeskHarness("""
            identity_header = token
            limit_complaints = 5/1d
            complaint_min_reporters = 1
            authserv_id = \(ourMX)
            public_suffix_list = /nonexistent/public_suffix_list.dat
            """)
        let original = try h.sentOriginal(by: "user:shop7", to: ["victim@victim.co.uk", "x@mail.one.example"])
        let stranger = try h.ingest(feedbackReport(original: original, reporter: "a@attacker.co.uk", authenticationResults: dkimPass("a@attacker.co.uk")))
        #expect(stranger.complaint == nil && stranger.notCountedBecause?.hasPrefix("the original was not sent to") == true, "\(stranger.logSummary)")
        for reporter in ["abuse@victim.co.uk", "fbl@one.example"] {
            let r = try h.ingest(feedbackReport(original: original, reporter: reporter, authenticationResults: dkimPass(reporter)))
            #expect(r.complaint != nil, "\(reporter): \(r.logSummary)")
        }
    }

    /// A sender may send one Message-ID several times (a list manager's chunks, a Bcc apart): a
    /// complaint counts by the sending its original ties to, not by the latest. Only the latest was
    /// read, so a customer's last copy to a domain of its own made every victim's complaint uncounted.
    @Test func aMessageIDSentSeveralTimesCountsByTheSendingTheOriginalTiesTo() throws {
        let h = try DeskHarness.complaints()
        let original = try h.sentOriginal(by: "user:shop7", to: ["victim@one.example"])
        let messageID = try #require(original.split(separator: "\n").first { $0.hasPrefix("Message-ID: ") }?.dropFirst("Message-ID: ".count))
        h.clock.set(h.clock.now() + 7 * 86_400)
        _ = try h.store.record(MessageEvent(identity: "user:shop7", at: h.clock.now(), recipients: 1, spam: false, messageID: String(messageID),
                                            queueID: nil, recipientDomains: ["shop.example"]), windows: [:])
        let r = try h.ingest(feedbackReport(original: original, reporter: "abuse@one.example", authenticationResults: dkimPass("abuse@one.example")))
        #expect(r.complaint != nil, "\(r.logSummary)")
    }

    @Test func complaintTrustedReportersNarrowsWhoCounts() throws {
        let h = try DeskHarness("identity_header = token\nlimit_complaints = 5/1d\ncomplaint_min_reporters = 1\nauthserv_id = \(ourMX)\ncomplaint_trusted_reporters = fbl.example")
        let original = "X-MailWarden-ID: \(try StoreIdentityTokenizer(store: h.store).token(for: "user:shop9"))\nSubject: hi\n\nbody"
        let other = try h.ingest(feedbackReport(original: original, reporter: "x@one.example", authenticationResults: dkimPass("x@one.example")))
        #expect(other.complaint == nil && other.notCountedBecause == "reporter one.example is not in complaint_trusted_reporters")
        let fbl = try h.ingest(feedbackReport(original: original, reporter: "loop@fbl.example", authenticationResults: dkimPass("loop@fbl.example")))
        #expect(fbl.complaint != nil)
    }

    @Test func garbageIsStoredInTriage() throws {
        let h = try DeskHarness()
        let r = try h.ingest([0, 255, 1, 2, 3, 10, 10, 200], sender: nil)
        #expect(r.status == .triage && r.cases.isEmpty && r.reason != nil)
    }
}

@Suite struct TracedForwardTests {
    /// A message to abuse@ with `text` and, attached, a message of the customer user:shop9.
    static func forwardOfShop9(from: String, subject: String, text: String) -> String {
        """
        From: \(from)
        To: abuse@example.com
        Subject: \(subject)
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="b2"

        --b2
        Content-Type: text/plain

        \(text)
        --b2
        Content-Type: message/rfc822

        X-Auth-User: shop9
        From: offers@shop9.example
        Subject: cheap pills

        buy now
        --b2--

        """
    }

    @Test func aForwardedSpamWithNoIPFilesOnTheCustomerItWasTracedTo() throws {
        let h = try DeskHarness("identity_rule = user header X-Auth-User /^\\s*(?<id>\\S+)/ lowercase")
        let r = try h.ingest(Self.forwardOfShop9(from: "angry@recipient.example", subject: "Fwd: spam from your customer",
                                                 text: "Please stop this spam."))
        #expect(r.status == .filed, "\(r.reason ?? "")")
        #expect(r.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "user:shop9", type: .spam)])
    }

    /// A bounce of our customer's mail that a person forwards is theirs to judge (backscatter, a
    /// question): its original traces to the customer, but it is no complaint of that mail.
    @Test func aForwardedBounceOfACustomersMailIsNotFiledOnTheCustomer() throws {
        let h = try DeskHarness("identity_rule = user header X-Auth-User /^\\s*(?<id>\\S+)/ lowercase")
        let r = try h.ingest(Self.forwardOfShop9(from: "someone@recipient.example", subject: "Fwd: Undelivered Mail Returned to Sender", text: """
            Why do I get this? This is the mail system at host mx.recipient.example.
            I'm sorry to have to inform you that your message could not be delivered.
            """))
        #expect(r.status == .triage && r.cases.isEmpty, "\(r.status) \(r.reason ?? "")")
        #expect(r.reason?.contains("for a person") == true)
    }

    /// An Amazon SES complaint names no address when our customer's mail reached SES through its
    /// API; the header fields SES kept trace it to the customer, who is then the case.
    @Test func anSESComplaintIsTracedByTheHeaderFieldsSESKept() throws {
        let h = try DeskHarness("identity_rule = user header X-Auth-User /^\\s*(?<id>\\S+)/ lowercase")
        let r = try h.ingest("""
            From: AWS Notifications <no-reply@sns.amazonaws.com>
            Subject: AWS Notification Message

            {"notificationType":"Complaint","complaint":{"complaintFeedbackType":"abuse"},"mail":{"source":"offers@shop9.example","headers":[{"name":"X-Auth-User","value":"shop9"},{"name":"Subject","value":"cheap pills"}]}}
            """)
        #expect(r.status == .filed, "\(r.reason ?? "")")
        #expect(r.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "user:shop9", type: .spam)])

        // Without header fields, the envelope sender SES names traces it through an envelope rule.
        let bySender = try DeskHarness("identity_rule = user envelope_from /^(?<id>[^@]+)@shop9\\.example$/")
        let s = try bySender.ingest("""
            From: AWS Notifications <no-reply@sns.amazonaws.com>
            Subject: AWS Notification Message

            {"notificationType":"Complaint","complaint":{"complaintFeedbackType":"abuse"},"mail":{"source":"offers@shop9.example"}}
            """)
        #expect(s.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "user:offers", type: .spam)], "\(s.status) \(s.reason ?? "")")
    }

    /// Microsoft's old junk-mail report is our customer's message itself, below Hotmail's hops:
    /// the customer's own header fields trace it, not Hotmail's.
    @Test func anInlineJunkMailReportIsTracedToTheCustomerWhoseMessageItIs() throws {
        let h = try DeskHarness("identity_rule = user header X-Auth-User /^\\s*(?<id>\\S+)/ lowercase")
        let r = try h.ingest("""
            Return-Path: staff@hotmail.com
            Received: from BAY0-JMR-DB02 ([65.54.190.125]) by bay0-omc2-s1.bay0.hotmail.com
            X-HmXmrOriginalRecipient: someone@hotmail.com
            Received: from mail.example.com ([198.51.100.206]) by bay0-mc3-f8.Bay0.hotmail.com
            X-Auth-User: shop9
            From: offers@shop9.example
            Subject: cheap pills

            buy now
            """)
        #expect(r.status == .filed, "\(r.reason ?? "")")
        #expect(r.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "user:shop9", type: .spam)])
    }

    /// A spam trap's hit is the caught message itself: when our customer sent it, its own token
    /// header traces it to that customer.
    @Test func aSpamTrapsHitIsTracedToTheCustomerWhoSentIt() throws {
        let h = try DeskHarness("identity_header = token")
        let token = try StoreIdentityTokenizer(store: h.store).token(for: "sasl:shop@example.net")
        let r = try h.ingest("""
            Return-Path: <termmatch@projecthoneypot.org>
            Received: from mail.example.net (mail.example.net [198.51.100.23]) by trap.example with ESMTP
            From: offers@example.net
            To: xxx@xxxxxxx.xxx
            Subject: cheap pills
            X-MailWarden-ID: \(token)
            X-HP-ConnectIP: 198.51.100.23
            X-HP-Abuse: YES

            buy now
            """)
        #expect(r.identity == "sasl:shop@example.net" && r.tracedBy == .token, "\(r.status) \(r.reason ?? "")")
        #expect(r.cases.map(\.subject) == [CaseSubject(kind: .identity, value: "sasl:shop@example.net", type: .spam)])
    }
}

/// The store's figures behind the metrics endpoint: what was ingested and locked, by any process.
@Suite struct StoreFiguresTests {
    @Test func reportsAreTalliedAtIngestAndLocksByWhoSetThem() throws {
        let h = try DeskHarness.complaints()
        let original = try h.shop7Original()
        let report = feedbackReport(original: original, reporter: "fbl@one.example", authenticationResults: dkimPass("fbl@one.example"))
        let first = try h.ingest(report)
        #expect(try h.ingest(report).status == .duplicate)
        _ = try h.ingest(feedbackReport(original: original, reporter: "abuse@two.example", authenticationResults: dkimPass("abuse@two.example"))) // locks shop7
        _ = try h.ingest([0, 255, 1, 2, 3, 10, 10, 200], sender: nil)   // triage
        _ = try h.store.adminLock("sasl:mallory", by: "root", reason: "test", expiresAt: nil, at: 1_800_000_000)
        #expect(try h.store.unlock(identity: "sasl:mallory", by: "root", reason: nil, at: 1_800_000_001))
        // Two locks for an hour: one lifted by its cooldown, one run out but not yet lifted (nobody sent since).
        for name in ["sasl:temp1", "sasl:temp2"] {
            _ = try h.store.adminLock(name, by: "root", reason: "test", expiresAt: 1_800_003_600, at: 1_800_000_000)
        }
        #expect(try h.store.unlock(identity: "sasl:temp1", by: "cooldown", reason: "lock_cooldown ended", at: 1_800_003_600))

        let f = try h.store.figures(now: 1_800_003_601)
        #expect((f.automaticLocks, f.adminLocks, f.adminUnlocks, f.cooldownUnlocks, f.lockedIdentities) == (1, 3, 1, 1, 1),
                "locked now: shop7 only; temp2's lock has run out")
        #expect(f.triageReports == 1)
        let type = first.type?.rawValue ?? "none"
        let byStatus = Dictionary(grouping: f.reports.filter { $0.format == first.format && $0.type == type }, by: \.status)
            .mapValues { $0.reduce(0) { $0 + $1.count } }
        #expect(byStatus == ["filed": 2])
        #expect(f.reports.contains { ($0.format, $0.type, $0.status, $0.count) == ("unparsed", "none", "duplicate", 1) },
                "a duplicate is counted when it is queued again, before anyone parses it")
        #expect(f.reports.reduce(0) { $0 + $1.count } == 4)
    }
}

/// The desk worker's loop over a real queue, with a parser that fails on demand as the isolated one
/// does when a report traps it, outruns its budget, or cannot be started at all.
@Suite struct DeskWorkerTests {
    final class ScriptedParser: ReportParsing {
        /// Reports containing this text make the parse fail so.
        let failures: [String: ParseFailure]
        var unavailable = false
        /// What the worker asked, in order: `start <first line of the report>`, `finish`.
        var calls: [String] = []
        private var started: [UInt8] = []
        init(_ failures: [String: ParseFailure] = [:]) { self.failures = failures }

        struct Unavailable: Error {}

        func start(_ raw: [UInt8]) throws {
            if unavailable { throw Unavailable() }
            started = raw
            calls.append("start " + String(decoding: raw, as: UTF8.self).prefix { $0 != "\n" })
        }

        func finish() -> Result<AbuseReport, ParseFailure> {
            calls.append("finish")
            let text = String(decoding: started, as: UTF8.self)
            if let failure = failures.first(where: { text.contains($0.key) })?.value { return .failure(failure) }
            return .success(ReportParser.parse(started))
        }
    }

    func queue(_ h: DeskHarness, _ text: String) throws -> Int64 {
        try h.store.enqueue(RawReport(receivedAt: 1_800_000_000, envelopeSender: "fbl@isp.example", envelopeRecipient: "abuse@example.com",
                                      queueID: nil, raw: Array(text.utf8))).reportID
    }

    @Test func aReportThatKillsTheParserTwiceGoesToTriageAndTheQueueBehindItIsFiled() throws {
        let h = try DeskHarness()
        let parser = ScriptedParser(["BOMB": .died(signal: 4, status: nil)])
        let worker = DeskWorker(desk: h.desk, queue: h.store, parser: parser)
        let bomb = try queue(h, "Subject: BOMB\n\nSpam from 192.0.2.1\n")
        let next = try queue(h, "Subject: spam\n\nSpam from 192.0.2.2 hit our trap.\n")
        var seen: [String] = []
        let first = try worker.drain { id, outcome in
            switch outcome {
            case .success(.retry(let f)): seen.append("\(id) retry \(f)")
            case .success(.done(let r)): seen.append("\(id) \(r.status.rawValue)")
            default: seen.append("\(id) other")
            }
        }
        #expect(first == DeskWorker.DrainPass(taken: 2, failed: 0))
        let second = try worker.drain { id, outcome in
            if case .success(.done(let r)) = outcome { seen.append("\(id) \(r.status.rawValue) \(r.reason ?? "")") }
        }
        #expect(second.taken == 1)
        #expect(seen == ["\(bomb) retry parser died: signal 4", "\(next) filed", "\(bomb) triage parser died: signal 4"])
        #expect(try worker.drain().taken == 0, "nothing is tried forever")
        #expect(try h.store.triageQueue().map(\.id) == [bomb])
        #expect(try h.store.reportRaw(id: bomb) == Array("Subject: BOMB\n\nSpam from 192.0.2.1\n".utf8))
    }

    @Test func theNextReportIsHandedToTheParserBeforeTheOneBeforeItIsFiled() throws {
        let h = try DeskHarness()
        let parser = ScriptedParser()
        let worker = DeskWorker(desk: h.desk, queue: h.store, parser: parser)
        let ids = try (1...3).map { try queue(h, "Subject: spam \($0)\n\nSpam from 192.0.2.\($0) hit our trap.\n") }
        let pass = try worker.drain { id, outcome in
            if case .success(.done(let r)) = outcome { parser.calls.append("\(r.status.rawValue) \(id)") }
        }
        #expect(pass == DeskWorker.DrainPass(taken: 3, failed: 0))
        #expect(parser.calls == ["start Subject: spam 1", "finish", "start Subject: spam 2", "filed \(ids[0])",
                                 "finish", "start Subject: spam 3", "filed \(ids[1])", "finish", "filed \(ids[2])"])
    }

    @Test func whenNoParserCanRunTheReportStaysQueuedAndNoFailureIsCountedAgainstIt() throws {
        let h = try DeskHarness()
        let parser = ScriptedParser()
        parser.unavailable = true
        let worker = DeskWorker(desk: h.desk, queue: h.store, parser: parser)
        let id = try queue(h, "Subject: spam\n\nSpam from 192.0.2.2\n")
        #expect(try worker.drain() == DeskWorker.DrainPass(taken: 1, failed: 1))
        #expect(try h.store.queuedReport(id: id)?.failedParses == 0)
        parser.unavailable = false
        #expect(try worker.drain() == DeskWorker.DrainPass(taken: 1, failed: 0))
        #expect(try h.store.queuedReport(id: id) == nil)
        #expect(try h.store.cases().map(\.subject.value) == ["192.0.2.2"])
    }
}
