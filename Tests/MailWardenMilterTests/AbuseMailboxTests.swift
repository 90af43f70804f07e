import Foundation
import Logging
import Synchronization
import Testing
import MailWardenCore
import MailWardenMilter

/// Keeps what the milter hands to the abuse desk; fails on demand (a full disk, a locked store).
final class RecordingIntake: ReportIntake {
    let stored = Mutex<[(raw: String, recipients: [String], bytes: [UInt8])]>([])
    let failing: Bool
    init(failing: Bool = false) { self.failing = failing }

    struct Failure: Error, CustomStringConvertible { var description: String { "database or disk is full" } }

    func enqueue(_ raw: [UInt8], sender: String?, recipients: [String], queueID: String?) throws -> String {
        if failing { throw Failure() }
        stored.withLock { $0.append((String(decoding: raw, as: UTF8.self), recipients, raw)) }
        return "report=1 status=queued"
    }
}

@Suite struct AbuseMailboxTests {
    func harness(_ extra: String = "", intake: RecordingIntake) throws -> Harness {
        try Harness("abuse_mailboxes = abuse@*, security@example.net\n" + extra, intake: intake)
    }

    let report = Harness.Message(recipients: ["<Abuse@Example.COM>"],
                                 headers: [("Subject", "Spam from your network"), ("From", " reporter@isp.example")],
                                 body: "Source-IP: 192.0.2.10\r\n")

    @Test func aReportToTheAbuseMailboxIsStoredThenDiscarded() throws {
        let intake = RecordingIntake()
        let h = try harness(intake: intake)
        #expect(h.send(report).0 == .discard)
        let stored = try #require(intake.stored.withLock { $0.first })
        #expect(stored.raw == "Subject: Spam from your network\r\nFrom: reporter@isp.example\r\n\r\nSource-IP: 192.0.2.10\r\n")
        #expect(stored.recipients == ["<Abuse@Example.COM>"])
    }

    /// A stranger's header in 8-bit bytes that are not UTF-8 (Latin-1, as much spam has) is stored as
    /// it came: each such byte was stored as U+FFFD, and the report's evidence was not what was sent.
    /// So is the white space after the colon, which MTAs pass with SMFIP_HDR_LEADSPC (a space was
    /// added where there was none, and one of several dropped).
    @Test func aReportsEightBitHeaderBytesAreStoredAsTheyCame() throws {
        let intake = RecordingIntake()
        let h = try harness(intake: intake)
        var m = report
        m.rawHeaders = [("Subject", Array(" caf".utf8) + [0xE9] + Array(" cr\u{E8}me".utf8)), ("X-Tight", Array("no-space".utf8)),
                        ("X-Wide", Array("   three".utf8))]
        #expect(h.send(m).0 == .discard)
        let stored = try #require(intake.stored.withLock { $0.first?.bytes })
        let subject: [UInt8] = Array("Subject: caf".utf8) + [0xE9] + Array(" cr\u{E8}me\r\nX-Tight:no-space\r\nX-Wide:   three\r\n".utf8)
        #expect(stored.firstRange(of: subject) != nil, "\(String(decoding: stored, as: UTF8.self))")
    }

    /// milter_memory bounds the bytes all sessions hold: a report that would go past it while another
    /// is being received is refused for now (on_error), and taken once the other is done; every byte
    /// is given back when a message ends, however it ends.
    @Test func reportsHeldAtOnceStayWithinMilterMemory() throws {
        let intake = RecordingIntake()
        let h = try harness("abuse_max_size = 12000000\nmilter_memory = 16777216\n", intake: intake)
        let body = Array(String(repeating: "Source-IP: 192.0.2.10 spammed us.\r\n", count: 300_000).utf8)
        func startReport(_ queueID: String) -> MeasuredSession {
            let s = h.filter.makeSession()
            _ = s.connect(hostname: "mx.isp.example", address: "203.0.113.9", macros: Macros())
            _ = s.mailFrom("<reporter@isp.example>", macros: Macros(["i": queueID]))
            _ = s.recipient("<abuse@example.com>", macros: Macros())
            _ = s.header(name: "Subject", value: "spam")
            _ = body.withUnsafeBytes { s.body($0) }
            return s
        }
        let first = startReport("Q1")
        #expect(h.filter.messageMemory.inUse > 10_000_000)
        let second = startReport("Q2")
        guard case .tempfail = second.endOfMessage(macros: Macros()).0 else { Issue.record("the second report must wait"); return }
        #expect(h.log.all.contains { $0.contains("Q2: report to <abuse@example.com> not stored: milter_memory (16777216 bytes) is held by other messages") })
        #expect(first.endOfMessage(macros: Macros()).0 == .discard)
        #expect(h.filter.messageMemory.inUse == 0)
        let retry = startReport("Q2")
        #expect(retry.endOfMessage(macros: Macros()).0 == .discard)
        let dropped = startReport("Q3")
        dropped.abort()
        for s in [first, second, retry, dropped] { s.close() }
        #expect(h.filter.messageMemory.inUse == 0)
        #expect(intake.stored.withLock { $0.count } == 2)
    }

    @Test func otherRecipientsStillGetTheMessage() throws {
        let intake = RecordingIntake()
        let h = try harness(intake: intake)
        var m = report
        m.recipients = ["<noc@example.com>", "<security@example.net>"]
        let (v, mods) = h.send(m)
        #expect(v == .accept)
        #expect(mods == [.deleteRecipient("<security@example.net>")])
    }

    @Test func inboundMailWithoutAnAbuseRecipientIsAcceptedAtDATA() throws {
        let intake = RecordingIntake()
        let h = try harness(intake: intake)
        var m = report
        m.recipients = ["<user@example.com>"]
        #expect(h.send(m).0 == .accept)
        #expect(intake.stored.withLock { $0.isEmpty })
    }

    @Test func aStoreFailureTempfailsAndRemovesNoRecipient() throws {
        let h = try harness(intake: RecordingIntake(failing: true))
        let (v, mods) = h.send(report)
        guard case .tempfail(let reply) = v else { Issue.record("\(v)"); return }
        #expect(reply.code == "451" && mods.isEmpty)
        #expect(h.log.all.contains { $0.contains("database or disk is full") })
    }

    @Test func keepDeliveryStoresAndDelivers() throws {
        let intake = RecordingIntake()
        let h = try harness("abuse_keep_delivery = yes", intake: intake)
        let (v, mods) = h.send(report)
        #expect(v == .accept && mods.isEmpty)
        #expect(intake.stored.withLock { $0.count } == 1)
    }

    @Test func anOversizedReportIsDeliveredNotStored() throws {
        let intake = RecordingIntake()
        let h = try harness("abuse_max_size = 1024", intake: intake)
        var m = report
        m.body = String(repeating: "x", count: 5000)
        #expect(h.send(m).0 == .accept)
        #expect(intake.stored.withLock { $0.isEmpty })
        #expect(h.log.all.contains { $0.contains("over abuse_max_size") })
    }

    /// A report with no body whose header block ends within two bytes of abuse_max_size: the blank
    /// line that ends the headers crosses the cap, and the report is delivered, not stored empty.
    @Test func aReportWhoseHeadersEndAtTheCapIsDeliveredNotStoredEmpty() throws {
        let intake = RecordingIntake()
        let h = try harness("abuse_max_size = 1024", intake: intake)
        var m = report
        m.headers = [("Subject", " " + String(repeating: "x", count: 1012))]   // 1,023 bytes with its CRLF
        m.body = ""
        #expect(h.send(m).0 == .accept)
        #expect(intake.stored.withLock { $0.isEmpty })
        #expect(h.log.all.contains { $0.contains("over abuse_max_size") })
    }

    /// A customer's complaint to another provider's abuse desk goes to that provider.
    @Test(arguments: [
        // (config, mailer, authenticated, recipient, diverted)
        ("", "smtp", true, "<abuse@foreign.example>", false),
        ("", "relay", false, "<abuse@customer-backup-mx.example>", false),
        // An outbound transport named by the admin (sender_dependent_default_transport_maps): it was
        // taken for local delivery, and the customer's complaint to that provider was swallowed.
        ("", "smtp-ip2", true, "<abuse@foreign.example>", false),
        ("", "dovecot", true, "<abuse@example.com>", true),
        ("", "local", true, "<abuse@example.com>", true),
        ("", "virtual", false, "<abuse@example.com>", true),
        ("", nil, true, "<abuse@foreign.example>", false),
        ("", nil, false, "<abuse@example.com>", true),
        ("abuse_domains = example.com", "smtp", true, "<abuse@example.com>", true),
        ("abuse_domains = example.com", "local", true, "<abuse@foreign.example>", false),
        ("abuse_domains = example.com", nil, false, "<abuse@other.example>", false),
    ] as [(String, String?, Bool, String, Bool)])
    func onlyOurOwnAbuseMailboxesAreTaken(config: String, mailer: String?, authenticated: Bool, recipient: String, diverted: Bool) throws {
        let intake = RecordingIntake()
        let h = try harness(config, intake: intake)
        var m = report
        m.auth = authenticated ? "alice@example.com" : nil
        m.recipients = [recipient]
        m.rcptMailer = mailer
        let (verdict, _) = h.send(m)
        #expect(intake.stored.withLock { $0.count } == (diverted ? 1 : 0))
        #expect((verdict == .discard) == diverted)
    }

    @Test func abuseDomainsTakesDomainNamesOnly() {
        #expect(throws: ConfigErrors.self) { try Config.parse(text: "abuse_domains = abuse@example.com", file: "t.conf") }
        #expect(throws: ConfigErrors.self) { try Config.parse(text: "abuse_domains = *.example.com", file: "t.conf") }
    }

    @Test func patternsMatchCaseInsensitivelyOnTheBareAddress() {
        let boxes = AbuseMailboxes(["abuse@*", "*@abuse.example.net", "postmaster@example.org"])
        #expect(boxes.contains("<ABUSE@anything.example>"))
        #expect(boxes.contains("x@abuse.example.net"))
        #expect(boxes.contains("Postmaster@Example.org"))
        #expect(!boxes.contains("notabuse@example.com"))
        #expect(!boxes.contains("abuse.team@example.com"))
    }
}

/// remove_forged_authentication_results: mailwardend runs before the authenticating milters, so a
/// field in our authserv-id's name at that point was written by the sender.
@Suite struct ForgedAuthenticationResultsTests {
    static let config = "authserv_id = mx.example.com\nremove_forged_authentication_results = yes\n"
    let forged = Harness.Message(recipients: ["<abuse@example.com>"], headers: [
        ("Authentication-Results", " mx.other.example; dkim=pass header.d=isp.example"),
        ("Authentication-Results", " MX.Example.COM 1; dkim=pass header.d=isp.example"),
        ("From", " fbl@isp.example"),
        ("Authentication-Results", " (comment) mx.example.com; spf=pass smtp.mailfrom=isp.example"),
    ])

    @Test func aStrangersFieldsInOurNameAreRemovedOthersKept() throws {
        let h = try Harness(Self.config)
        let (verdict, changes) = h.send(forged)
        #expect(verdict == .accept, "a stranger's mail is not accepted at DATA: its headers must be seen")
        // The 2nd and 3rd Authentication-Results fields claim our id; the last index goes first.
        #expect(changes == [.changeHeader(name: "Authentication-Results", index: 3, value: nil),
                            .changeHeader(name: "Authentication-Results", index: 2, value: nil)])
        #expect(h.log.all.contains { $0.contains("removed 2 Authentication-Results field(s)") })
    }

    /// An MTA that does not let us change header fields: the forged fields cannot go, so the
    /// message is answered per on_error (tempfail), and with on_error = accept delivered with them.
    @Test func fieldsThatCannotBeRemovedAreAnsweredPerOnError() throws {
        var m = forged
        m.grantedActions = [.addHeaders, .deleteRecipients, .quarantine]
        guard case .tempfail = try Harness(Self.config).send(m).0 else { Issue.record("not tempfailed"); return }
        let accepting = try Harness(Self.config + "on_error = accept\n")
        #expect(accepting.send(m).0 == .accept)
        #expect(accepting.log.all.first?.contains("needed to remove the Authentication-Results fields forged in our authserv_id's name; action=deliver them") == true, "\(accepting.log.all)")
    }

    /// A stranger's mail is then accepted only at its end: it still gets its one log line.
    @Test func aStrangersMailAcceptedAtItsEndIsLoggedOnce() throws {
        let h = try Harness(Self.config)
        #expect(h.send(.init(recipients: ["<someone@example.com>"])).0 == .accept)
        #expect(h.log.all.count == 1 && h.log.all.first?.contains("ABC123: scope=inbound action=accept (not counted)") == true, "\(h.log.all)")
    }

    @Test func aCustomersToo() throws {
        let h = try Harness(Self.config)
        var m = forged
        m.auth = "shop"
        #expect(h.send(m).1.filter { if case .changeHeader = $0 { true } else { false } }.count == 2)
    }

    @Test func aReportStoredByTheMilterKeepsNoForgedField() throws {
        let intake = RecordingIntake()
        let h = try Harness(Self.config + "abuse_mailboxes = abuse@example.com", intake: intake)
        #expect(h.send(forged).0 == .discard)
        let raw = try #require(intake.stored.withLock { $0.first?.raw })
        #expect(raw == "Authentication-Results: mx.other.example; dkim=pass header.d=isp.example\r\nFrom: fbl@isp.example\r\n\r\nHello.\r\n")
    }

    /// However long, a field in our name is removed: Postfix's value keeps a line break at every
    /// fold, so a field the desk reads (at most 8 KiB unfolded) can be longer as the milter sees it.
    @Test func aFieldTooLongToParseIsStillRemoved() throws {
        let h = try Harness(Self.config)
        let folded = " mx.example.com; dkim=pass header.d=isp.example" + String(repeating: "\n x", count: 3_000)
        #expect(folded.utf8.count > AuthenticationResults.maxValueBytes)
        let m = Harness.Message(headers: [("Authentication-Results", folded)])
        #expect(h.send(m).1 == [.changeHeader(name: "Authentication-Results", index: 1, value: nil)])
    }

    /// Each removal costs Postfix a search of the header from its top: past 32 in our name the
    /// message is refused, not edited, and nothing of it is stored or counted.
    @Test func tooManyForgedFieldsAreRefused() throws {
        let intake = RecordingIntake()
        let h = try Harness(Self.config + "abuse_mailboxes = abuse@example.com", intake: intake)
        func message(_ forged: Int) -> Harness.Message {
            Harness.Message(recipients: ["<abuse@example.com>", "<x@example.org>"],
                            headers: Array(repeating: ("Authentication-Results", " mx.example.com; dkim=pass header.d=isp.example"), count: forged))
        }
        let (accepted, removals) = h.send(message(32))
        #expect(accepted == .accept && removals.filter { if case .changeHeader = $0 { true } else { false } }.count == 32)
        let (refused, changes) = h.send(message(33))
        guard case .reject(let reply) = refused else { Issue.record("\(refused)"); return }
        #expect(reply.code == "550" && changes.isEmpty)
        #expect(intake.stored.withLock { $0.count } == 1, "only the first message's report")
    }

    @Test func offByDefaultAndRefusedWithoutAnAuthservID() throws {
        let h = try Harness("authserv_id = mx.example.com")
        #expect(h.send(forged).1.isEmpty)
        #expect(throws: ConfigErrors.self) { try Config.parse(text: "remove_forged_authentication_results = yes", file: "t.conf") }
    }
}

/// What the bridge negotiates from: fewer events and fewer replies than a milter that answers all.
@Suite struct EventPlanTests {
    @Test func theBodyIsAskedForOnlyForReportsOrScanners() throws {
        #expect(try Harness("").filter.makeSession().eventPlan.unused.contains(.body))
        #expect(try !Harness("abuse_mailboxes = abuse@example.com").filter.makeSession().eventPlan.unused.contains(.body))
        let scanned = try Harness("scanner = spamd 127.0.0.1:783", makeScanners: { _ in [ScriptedScanner()] })
        #expect(!scanned.filter.makeSession().eventPlan.unused.contains(.body))
        #expect(try Harness("").filter.makeSession().eventPlan.unused.isSuperset(of: [.helo, .endOfHeaders, .unknownCommand]))
    }

    /// DATA is answered only to accept a stranger's mail that holds no report; where nothing can be
    /// accepted there, the MTA is not asked for it.
    @Test func dataIsAskedForOnlyWhereAStrangersMailCanBeAcceptedThere() throws {
        func asksForData(_ config: String, scanner: Bool = false) throws -> Bool {
            let h = try Harness(config, makeScanners: { _ in scanner ? [ScriptedScanner()] : [] })
            return !h.filter.makeSession().eventPlan.unused.contains(.data)
        }
        let mailbox = "abuse_mailboxes = abuse@example.com\n"
        #expect(try !asksForData(""), "no abuse mailbox: a stranger's mail is accepted at MAIL FROM")
        #expect(try asksForData(mailbox))
        #expect(try asksForData(mailbox + "scanner = spamd 127.0.0.1:783", scanner: true), "only our customers' mail is scanned")
        #expect(try !asksForData(mailbox + "scanner = spamd 127.0.0.1:783\nscanner_scope = all", scanner: true))
        #expect(try !asksForData(mailbox + "authserv_id = mx.example.com\nremove_forged_authentication_results = yes"))
    }

    /// Asked of the MTA so that its own lists cannot leave them out: each event's, and at MAIL FROM
    /// the macro an identity rule names, once.
    @Test func theMacrosReadAreAskedForByEvent() throws {
        let plan = try Harness("identity_rule = cert macro {cert_subject}\nidentity_rule = sasl macro {auth_authen} lowercase")
            .filter.makeSession().eventPlan
        #expect(plan.macros == [.connect: ["{daemon_name}"], .mailFrom: ["{auth_authen}", "i", "{cert_subject}"],
                                .recipient: ["{rcpt_mailer}"], .data: ["i"], .endOfMessage: ["i"]])
        // As smfi_setsymlist takes them, made once with the snapshot.
        #expect(plan.macroLists.map(\.stage) == [.connect, .mailFrom, .recipient, .data, .endOfMessage])
        #expect(plan.macroLists.map(\.names) == ["{daemon_name}", "{auth_authen} i {cert_subject}", "{rcpt_mailer}", "i", "i"])
    }

    /// The MTA does not wait for these answers, so each must be "go on" whatever the message: a
    /// stranger's, a locked customer's, a report, one with a forged field to remove.
    @Test func eventsLeftUnansweredAlwaysGoOn() throws {
        let h = try Harness("limit_messages = 1/1h\nabuse_mailboxes = abuse@example.com\nauthserv_id = mx.example.com\n"
                            + "remove_forged_authentication_results = yes\nidentity_rule = user header X-Auth-User /^(?<id>\\S+)$/")
        let plan = h.filter.makeSession().eventPlan
        #expect(plan.unanswered == [.connect, .recipient, .header])
        for _ in 1...3 { h.send(.init(auth: "shop")) }
        for auth in [nil, "shop"] as [String?] {
            let s = h.filter.makeSession()
            #expect(s.connect(hostname: "c", address: "198.51.100.7", macros: Macros()) == .proceed)
            _ = s.mailFrom("<a@b>", macros: Macros(auth.map { ["{auth_authen}": $0] } ?? [:]))
            for rcpt in ["<abuse@example.com>", "<x@example.org>"] { #expect(s.recipient(rcpt, macros: Macros()) == .proceed) }
            for (name, value) in [("X-Auth-User", "shop"), ("Authentication-Results", "mx.example.com; dkim=pass"), ("Subject", "x")] {
                #expect(s.header(name: name, value: value) == .proceed)
            }
            s.close()
        }
    }

    @Test func aBodyNobodyKeepsIsSkipped() throws {
        let h = try Harness("abuse_mailboxes = abuse@example.com\nabuse_max_size = 1024")
        let s = h.filter.makeSession()
        _ = s.mailFrom("<a@b>", macros: Macros(["{auth_authen}": "shop"]))
        _ = s.recipient("<x@example.org>", macros: Macros())
        #expect(Array("hello".utf8).withUnsafeBytes { s.body($0) } == .skip, "not a report, not scanned")
        let r = h.filter.makeSession()
        _ = r.mailFrom("<a@b>", macros: Macros())
        _ = r.recipient("<abuse@example.com>", macros: Macros())
        #expect(Array("hello".utf8).withUnsafeBytes { r.body($0) } == .proceed, "a report is kept")
        #expect([UInt8](repeating: 65, count: 2048).withUnsafeBytes { r.body($0) } == .skip, "past abuse_max_size nothing more is kept")
    }
}
