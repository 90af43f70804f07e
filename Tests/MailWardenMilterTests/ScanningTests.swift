import Synchronization
import Testing
import MailWardenCore
import MailWardenMilter
import MailWardenStore

/// A scanner with a scripted answer: spam when the message contains "GTUBE", or a failure.
final class ScriptedScanner: SpamScanner {
    let name = "spamd"
    let address = ScannerAddress("127.0.0.1:783")!
    /// How it fails (nil: it answers); a test may change it.
    let failure: Mutex<ScanFailure?>
    let calls = Mutex<Int>(0)
    /// The message of the last request.
    let lastMessage = Mutex<[UInt8]>([])
    let lastHostname = Mutex<String?>(nil)
    /// A clock each scan moves on, as long as the scan takes (a timeout takes scanner_timeout).
    let takes = Mutex<(clock: ManualClock, span: TimeSpan)?>(nil)

    init(failure: ScanFailure? = nil) { self.failure = Mutex(failure) }

    func scan(_ request: ScanRequest) throws(ScanFailure) -> ScanResult {
        calls.withLock { $0 += 1 }
        lastMessage.withLock { $0 = request.message }
        lastHostname.withLock { $0 = request.clientHostname }
        if let takes = takes.withLock({ $0 }) { takes.clock.advance(takes.span) }
        if let failure = failure.withLock({ $0 }) { throw failure }
        let spam = String(decoding: request.message, as: UTF8.self).contains("GTUBE")
        return ScanResult(scanner: name, isSpam: spam, score: spam ? 1000 : 0.5, requiredScore: 5, action: nil,
                          symbols: spam ? ["GTUBE"] : [], latencyMicroseconds: 40_000)
    }
}

@Suite struct ScanningTests {
    func harness(_ extra: String = "", scanner: ScriptedScanner) throws -> Harness {
        try Harness("scanner = spamd 127.0.0.1:783\nlimit_spam = 2/1h\n" + extra, makeScanners: { _ in [scanner] })
    }

    let gtube = Harness.Message(auth: "alice", body: "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n")

    @Test func scannerVerdictsFeedTheSpamWindowAndLockedMailIsNotScanned() throws {
        let box = ScriptedScanner()
        let h = try harness(scanner: box)
        #expect(h.send(gtube).0 == .accept)
        #expect(h.send(gtube).0 == .accept)
        guard case .reject = h.send(gtube).0 else { Issue.record("3rd GTUBE must lock at limit_spam 2/1h"); return }
        #expect(h.log.all.contains { $0.contains("scan=spamd:1000.0/5.0:spam") })
        let before = box.calls.withLock { $0 }
        guard case .reject = h.send(.init(auth: "alice")).0 else { Issue.record("locked"); return }
        #expect(box.calls.withLock { $0 } == before, "a locked identity's mail is not scanned")
        #expect(h.filter.scannerHealth.snapshot().first?.spam == 3)
        let detail = try #require(try h.store.detail(of: "sasl:alice", config: h.filter.config, now: h.clock.now()))
        #expect(detail.recent.first?.scan == "spamd 1000.0/5.0 spam", "show lists the scanner, score and verdict")
    }

    @Test func hamIsDeliveredAndTheResultHeaderAddedWhenAsked() throws {
        let h = try harness("scanner_header = X-MailWarden-Spam", scanner: ScriptedScanner())
        let (v, mods) = h.send(.init(auth: "bob"))
        #expect(v == .accept)
        #expect(mods == [.addHeader(name: "X-MailWarden-Spam", value: "no; score=0.5; scanner=spamd")])
    }

    @Test func aDeadScannerIsSkippedByDefaultAndTempfailsWhenConfigured() throws {
        let dead = ScriptedScanner(failure: .refused)
        let skip = try harness(scanner: dead)
        #expect(skip.send(gtube).0 == .accept)
        #expect(skip.filter.scannerHealth.snapshot().first?.failures == 1)
        #expect(skip.filter.scannerHealth.snapshot().first?.isUp == false)

        let strict = try harness("scanner_failure = tempfail", scanner: dead)
        guard case .tempfail(let reply) = strict.send(gtube).0 else { Issue.record("scanner_failure = tempfail"); return }
        #expect(reply.code == "451")
        #expect(try strict.store.state(of: "sasl:alice").lock == nil, "a tempfailed message is not counted")
    }

    /// A stuck scanner cost every message scanner_timeout: after three failures in a row it is not
    /// asked for 10 s from the last (the messages go on per scanner_failure), then the next message
    /// asks it again; an answer ends the run of failures. Each failure here takes its 10 s timeout.
    @Test func aScannerFailingThreeTimesInARowRestsTenSeconds() throws {
        let stuck = ScriptedScanner(failure: .timedOut(.reply, after: .seconds(10)))
        let h = try harness(scanner: stuck)
        stuck.takes.withLock { $0 = (h.clock, TimeSpan(seconds: 10)) }
        for _ in 0..<10 { #expect(h.send(gtube).0 == .accept) }
        #expect(stuck.calls.withLock { $0 } == 3)
        #expect(h.filter.scannerHealth.snapshot().first?.failures == 10, "the rests are failures too")
        h.clock.advance(TimeSpan(seconds: 10))
        #expect(h.send(gtube).0 == .accept)
        #expect(stuck.calls.withLock { $0 } == 4, "asked again after its rest")
        #expect(h.send(gtube).0 == .accept)
        #expect(stuck.calls.withLock { $0 } == 4, "failing again, it rests again")

        h.clock.advance(TimeSpan(seconds: 10))
        stuck.failure.withLock { $0 = nil }
        #expect(h.send(gtube).0 == .accept)
        stuck.failure.withLock { $0 = .refused }
        for _ in 0..<2 { h.send(.init(auth: "bob")) }
        #expect(stuck.calls.withLock { $0 } == 7, "an answer started the count of failures again")
        let strict = try harness("scanner_failure = tempfail", scanner: ScriptedScanner(failure: .refused))
        for _ in 0..<3 { _ = strict.send(.init(auth: "carol")) }
        guard case .tempfail = strict.send(.init(auth: "carol")).0 else { Issue.record("a resting scanner fails as scanner_failure says"); return }
    }

    /// An answer about one message (an error, too big, not the protocol) shows the scanner is up: a
    /// sender (a stranger, with scanner_scope = all) sending three such messages must not put it to
    /// rest, which would pass everyone's spam as unscanned or tempfail everyone's mail.
    @Test(arguments: [ScanFailure.responseTooBig(limit: 1 << 20), .scannerError("HTTP/1.1 400 Bad Request: cannot parse"),
                      .garbled(excerpt: "x")])
    func failuresAboutOneMessageDoNotRestTheScanner(failure: ScanFailure) throws {
        let scanner = ScriptedScanner(failure: failure)
        let h = try harness("scanner_failure = tempfail\nscanner_scope = all", scanner: scanner)
        for _ in 0..<5 { _ = h.send(.init(body: "poison\r\n")) }
        #expect(scanner.calls.withLock { $0 } == 5)
        #expect(h.filter.scannerHealth.snapshot().first?.isUp == true, "it answered: up, as status shows it")
        scanner.failure.withLock { $0 = nil }
        #expect(h.send(gtube).0 == .accept)
        #expect(scanner.calls.withLock { $0 } == 6, "the next sender's message is scanned")
        #expect(h.log.all.contains { $0.contains("sasl:alice") && $0.contains("scan=spamd:1000.0/5.0:spam") }, "\(h.log.all)")
        #expect(h.filter.scannerHealth.snapshot().first?.failures == 5)
    }

    /// rspamd scores a message from a client with no name (hfilter) when it is not told the name.
    @Test func theScannerIsToldTheClientsHostnameUnlessItHasNone() throws {
        let scanner = ScriptedScanner()
        let h = try harness(scanner: scanner)
        h.send(.init(auth: "alice", clientHostname: "mail.client.example"))
        #expect(scanner.lastHostname.withLock { $0 } == "mail.client.example")
        for unnamed in ["unknown", "[198.51.100.7]"] {
            h.send(.init(auth: "alice", clientHostname: unnamed))
            #expect(scanner.lastHostname.withLock { $0 } == nil, "\(unnamed)")
        }
    }

    /// A scanner a reload removed is no longer reported (it stayed listed with its last state).
    @Test func aScannerRemovedByAReloadIsNoLongerReported() throws {
        let scanner = ScriptedScanner()
        let h = try Harness("scanner = spamd 127.0.0.1:783\n", makeScanners: { $0.scanners.isEmpty ? [] : [scanner] })
        h.send(gtube)
        #expect(h.filter.scannerHealth.snapshot().map(\.label) == ["spamd 127.0.0.1:783"])
        h.filter.replaceConfig(try Config.parse(text: "limit_spam = 2/1h\n", file: "reloaded.conf"))
        #expect(h.filter.scannerHealth.snapshot().isEmpty)
    }

    @Test func inboundMailAndAbuseReportsAreNotScannedByDefault() throws {
        let box = ScriptedScanner()
        let h = try harness("abuse_mailboxes = abuse@*", scanner: box)
        #expect(h.send(.init(auth: nil, body: "GTUBE")).0 == .accept)
        h.send(.init(auth: "carol", recipients: ["<abuse@example.com>"], rcptMailer: "local",
                     headers: [("To", "Abuse Desk <Abuse@Example.com>")], body: "GTUBE"))
        // A customer's spam sample forwarded to us with a Cc is a report too: not scanned, so not
        // counted as the customer's spam.
        h.send(.init(auth: "carol", recipients: ["<abuse@example.com>", "<colleague@example.com>"], rcptMailer: "local",
                     headers: [("To", "abuse@example.com"), ("Cc", "colleague@example.com")], body: "GTUBE"))
        #expect(box.calls.withLock { $0 } == 0)
    }

    /// A spam run that copies our abuse@ is no report: its other recipients' copy is scanned and
    /// counted as spam, and the report is still stored as it came.
    @Test func aMailingThatCopiesAbuseIsScannedForItsOtherRecipients() throws {
        let box = ScriptedScanner()
        let intake = RecordingIntake()
        let h = try Harness("scanner = spamd 127.0.0.1:783\nabuse_mailboxes = abuse@*\nlimit_spam = 1/1h\n", intake: intake,
                            makeScanners: { _ in [box] })
        let victims = (1...20).map { "<v\($0)@example.org>" }
        h.send(.init(auth: "carol", recipients: victims + ["<abuse@example.com>"], rcptMailer: "local", body: "GTUBE"))
        #expect(box.calls.withLock { $0 } == 1)
        #expect(intake.stored.withLock { $0.count } == 1)
        #expect(try h.store.identities().first { $0.identity == "sasl:carol" }?.spam == 1)
        // One victim a message, abuse@ in Bcc (not named in To or Cc): a mailing too.
        guard case .reject = h.send(.init(auth: "carol", recipients: ["<v1@example.org>", "<abuse@example.com>"], rcptMailer: "local",
                                          headers: [("To", "v1@example.org")], body: "GTUBE")).0 else {
            Issue.record("the second spam run crosses limit_spam = 1/1h"); return
        }
        #expect(box.calls.withLock { $0 } == 2)
    }

    /// With strangers' mail scanned nothing is accepted at DATA, so the MTA does not send it: a
    /// report is known from its recipients alone.
    @Test func withStrangersMailScannedAReportIsStillNotScanned() throws {
        let box = ScriptedScanner()
        let h = try harness("abuse_mailboxes = abuse@*\nscanner_scope = all", scanner: box)
        #expect(h.filter.makeSession().eventPlan.unused.contains(.data))
        #expect(h.send(.init(auth: nil, body: "GTUBE")).0 == .accept)
        #expect(box.calls.withLock { $0 } == 1, "a stranger's mail is scanned")
        h.send(.init(auth: nil, recipients: ["<abuse@example.com>"], rcptMailer: "local", body: "GTUBE"))
        #expect(box.calls.withLock { $0 } == 1, "a report to an abuse mailbox is not")
    }

    /// The MTA separates a folded field's lines with a bare LF; the scanner gets them as delivered.
    @Test func aFoldedFieldReachesTheScannerWithCRLFLineEnds() throws {
        let box = ScriptedScanner()
        let h = try harness(scanner: box)
        #expect(h.send(.init(auth: "alice", headers: [("Subject", " a\n\tb"), ("To", " x@example.org")], body: "Hi.\r\n")).0 == .accept)
        let sent = box.lastMessage.withLock { $0 }
        #expect(String(decoding: sent, as: UTF8.self) == "Subject: a\r\n\tb\r\nTo: x@example.org\r\n\r\nHi.\r\n")
    }

    /// Headers ending within two bytes of the cap and no body: the scanners get no empty message.
    @Test func aMessageWhoseHeadersEndAtTheCapIsNotSent() throws {
        let box = ScriptedScanner()
        let h = try harness("scanner_max_size = 1024", scanner: box)
        #expect(h.send(.init(auth: "alice", headers: [("Subject", " " + String(repeating: "x", count: 1012))], body: "")).0 == .accept)
        #expect(box.calls.withLock { $0 } == 0)
        #expect(h.log.all.last?.contains("scan=skipped(scanner_max_size)") == true)
    }

    @Test func anOversizedMessageIsNotSentAndIsCounted() throws {
        let box = ScriptedScanner()
        let h = try harness("scanner_max_size = 1000", scanner: box)
        var m = gtube
        m.body = String(repeating: "GTUBE ", count: 1000)
        #expect(h.send(m).0 == .accept)
        #expect(box.calls.withLock { $0 } == 0)
        #expect(h.filter.scannerHealth.snapshot().first?.skippedTooBig == 1)
        #expect(h.log.all.last?.contains("scan=skipped(scanner_max_size)") == true)
    }
}
