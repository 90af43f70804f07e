import Foundation
import Testing
import MailWardenCore
import MailWardenMilter
import MailWardenStore
import Synchronization

@Suite struct MessageFlowTests {
    static let base = """
        limit_spam = 5/1h
        limit_messages = 1000/1h
        limit_recipients = 1000/1h
        """

    /// The outbound log keeps whom a message went to, by domain: a complaint about it counts only
    /// from one of their organisations. Each domain once, in lower case, the first 50 of a mailing.
    @Test func theOutboundLogKeepsTheRecipientsDomains() throws {
        let h = try Harness(Self.base)
        let recipients = ["<a@One.example>", "<b@one.example>", "c@two.example", "<postmaster>", "< s@Spaced.example. >", "<x@[192.0.2.1]>",
                          "<\"q@x\"@evil.example\">"] + (1...80).map { "<u@d\($0).example>" }
        h.send(.init(auth: "dora", recipients: recipients, headers: [("Subject", "hi"), ("Message-ID", "<m1@shop.example>")]))
        let sent = try #require(try h.store.outboundMessages(withMessageID: "<m1@shop.example>").first)
        #expect(sent.identity == "sasl:dora")
        #expect(sent.recipientDomains == ["one.example", "two.example", "spaced.example"] + (1...47).map { "d\($0).example" },
                "no domain literal, nothing that is not a DNS name")
    }

    @Test func authenticatedSpamLocksAtTheSixthVerdictAndTheCrossingMessageIsRejected() throws {
        let h = try Harness(Self.base)
        for n in 1...5 {
            let (v, _) = h.send(.init(auth: "Alice@Example.net", headers: Harness.spam, queueID: "Q\(n)"))
            #expect(v == .accept, "verdict \(n) of 5 passes")
        }
        let (v, _) = h.send(.init(auth: "alice@example.net", headers: Harness.spam, queueID: "Q6"))
        guard case .reject(let reply) = v else { Issue.record("6th: \(v)"); return }
        #expect(reply.code == "550" && reply.status == "5.7.1")
        let lock = try #require(try h.store.state(of: "sasl:alice@example.net").lock)
        #expect(lock.automatic && lock.counter == .spam && lock.count == 6)
        #expect(h.notifier.notices.withLock { $0 } == ["sasl:alice@example.net Q6"])
        #expect(h.log.all.contains { $0.contains("Q6: identity=sasl:alice@example.net") && $0.contains("action=reject") })

        // Locked: even clean mail is refused, and refused early at MAIL FROM (macro rule).
        let (again, _) = h.send(.init(auth: "alice@example.net"))
        guard case .reject = again else { Issue.record("after lock: \(again)"); return }
        #expect(try h.store.state(of: "sasl:alice@example.net").lock?.attempts == 2)

        // Another identity is untouched.
        #expect(h.send(.init(auth: "bob@example.net", headers: Harness.spam)).0 == .accept)
    }

    @Test func inboundMailFromStrangersIsNeverCounted() throws {
        let h = try Harness(Self.base)
        for _ in 1...10 {
            #expect(h.send(.init(auth: nil, headers: Harness.spam)).0 == .accept)
        }
        #expect(try h.store.state(of: "sasl:sender@example.net").lock == nil)
        #expect(h.log.all.filter { $0.contains("scope=inbound") }.count == 10)
    }

    @Test func anAdminUnlockClearsTheWindowsSoTheNextMessagePasses() throws {
        let h = try Harness(Self.base)
        for _ in 1...6 { h.send(.init(auth: "carol", headers: Harness.spam)) }
        #expect(try h.store.state(of: "sasl:carol").lock != nil)
        #expect(try h.store.unlock(identity: "sasl:carol", by: "admin", reason: "cleaned", at: h.clock.now()))
        #expect(h.send(.init(auth: "carol", headers: Harness.spam)).0 == .accept)
    }

    @Test func windowsSlide() throws {
        let h = try Harness(Self.base)
        for _ in 1...5 { h.send(.init(auth: "dave", headers: Harness.spam)) }
        h.clock.advance(.hours(1))
        #expect(h.send(.init(auth: "dave", headers: Harness.spam)).0 == .accept, "the first five left the window")
    }

    @Test func cooldownLiftsAnAutomaticLock() throws {
        let h = try Harness(Self.base + "\nlock_cooldown = 30m")
        for _ in 1...6 { h.send(.init(auth: "erin", headers: Harness.spam)) }
        guard case .reject = h.send(.init(auth: "erin")).0 else { Issue.record("not locked"); return }
        h.clock.advance(.minutes(30))
        #expect(h.send(.init(auth: "erin", headers: Harness.spam)).0 == .accept)
    }

    /// A session that read a lock whose cooldown has run out lifts only that lock: one set since
    /// (another host's crossing, an admin's lock) stands and refuses the message.
    @Test func aLockSetAfterTheExpiredOneWasReadStands() throws {
        let h = try Harness(Self.base)
        _ = try h.store.adminLock("sasl:erin", by: "root", reason: "first", expiresAt: h.clock.now() + 60, at: h.clock.now())
        let stale = try h.store.state(of: "sasl:erin")
        h.clock.advance(.minutes(2))
        #expect(try h.store.unlock(identity: "sasl:erin", by: "other-host", reason: nil, at: h.clock.now()))
        _ = try h.store.adminLock("sasl:erin", by: "root", reason: "second", expiresAt: nil, at: h.clock.now())
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        #expect(try accounting.activeLock(of: "sasl:erin", state: stale)?.reason == "second")
        #expect(try h.store.state(of: "sasl:erin").lock?.reason == "second")
    }

    @Test func recipientsCountTowardTheirOwnLimit() throws {
        let h = try Harness("limit_recipients = 10/1h")
        let five = (1...5).map { "<r\($0)@example.org>" }
        #expect(h.send(.init(auth: "frank", recipients: five)).0 == .accept)
        #expect(h.send(.init(auth: "frank", recipients: five)).0 == .accept)
        guard case .reject = h.send(.init(auth: "frank", recipients: ["<one@example.org>"])).0 else {
            Issue.record("11th recipient should lock"); return
        }
        #expect(try h.store.state(of: "sasl:frank").lock?.counter == .recipients)
    }

    @Test func holdPutsTheMessageOnHoldAndRemembersItsQueueID() throws {
        let h = try Harness(Self.base + "\nlock_action = hold")
        for n in 1...5 { h.send(.init(auth: "gina", headers: Harness.spam, queueID: "P\(n)")) }
        let (v, _) = h.send(.init(auth: "gina", headers: Harness.spam, queueID: "HELD1"))
        guard case .hold = v else { Issue.record("\(v)"); return }
        // Locked with hold: not refused at MAIL FROM (hold needs end-of-message).
        guard case .hold = h.send(.init(auth: "gina", queueID: "HELD2")).0 else { Issue.record("second not held"); return }
    }

    /// An MTA that grants fewer changes (an older MTA, another MTA): a change a message needs and
    /// cannot have is answered per on_error before the message is counted, so the client's retry is
    /// not counted twice; mail to be held is refused for now instead; a report's other recipients
    /// keep it; a header that cannot be added is left out.
    @Test func anMTAGrantingFewerChangesIsAnsweredBeforeTheCount() throws {
        let rule = "limit_messages = 1/1h\nidentity_header = remove\nidentity_rule = user header X-Auth-User /(?<id>\\S+)/"
        let h = try Harness(rule)
        let bob = Harness.Message(auth: "x", headers: [("X-Auth-User", "bob")], grantedActions: [.addHeaders, .deleteRecipients])
        for _ in 1...3 {
            guard case .tempfail(let reply) = h.send(bob).0 else { Issue.record("not tempfailed"); return }
            #expect(reply.code == "451")
        }
        #expect(try h.store.state(of: "user:bob").lock == nil, "retries of one message never counted")
        #expect(try h.store.identities().first { $0.identity == "user:bob" }?.messages ?? 0 == 0)
        #expect(h.log.all.first?.contains("did not grant SMFIF_CHGHDRS at negotiation, needed to remove the identity's X-Auth-User field") == true, "\(h.log.all)")
        let accepting = try Harness("on_error = accept\n" + rule)
        #expect(accepting.send(bob) == (.accept, []))
        #expect(try accepting.store.identities().first { $0.identity == "user:bob" }?.messages == 1)

        let held = try Harness(Self.base + "\nlock_action = hold")
        let noQuarantine: MilterActions = [.addHeaders, .changeHeaders, .deleteRecipients]
        for n in 1...5 { held.send(.init(auth: "gina", headers: Harness.spam, queueID: "P\(n)", grantedActions: noQuarantine)) }
        guard case .tempfail = held.send(.init(auth: "gina", headers: Harness.spam, queueID: "H1", grantedActions: noQuarantine)).0 else {
            Issue.record("the crossing message must be refused for now"); return
        }
        #expect(try held.store.state(of: "sasl:gina").lock != nil)
        guard case .tempfail = held.send(.init(auth: "gina", queueID: "H2", grantedActions: noQuarantine)).0 else {
            Issue.record("a locked identity's mail must be refused for now"); return
        }

        let intake = RecordingIntake()
        let reports = try Harness("abuse_mailboxes = abuse@example.com\nidentity_header = token\nidentity_rule = user header X-Auth-User /(?<id>\\S+)/",
                                  intake: intake)
        let spamRun = Harness.Message(auth: "x", recipients: ["<x@example.org>", "<abuse@example.com>"], rcptMailer: "local",
                                      headers: [("X-Auth-User", "carol")], grantedActions: [.deleteRecipients.union(.changeHeaders)])
        #expect(reports.send(spamRun) == (.accept, [.deleteRecipient("<abuse@example.com>"), .changeHeader(name: "X-Auth-User", index: 1, value: nil)]),
                "no token added")
        #expect(reports.log.all.contains { $0.contains("the MTA did not grant SMFIF_ADDHDRS at negotiation: no X-MailWarden-ID field is added") },
                "\(reports.log.all)")
        #expect(intake.stored.withLock { $0.count } == 1)
        // Said once a connection, not for each of its messages.
        let session = reports.filter.makeSession()
        session.negotiated(actions: [.changeHeaders, .deleteRecipients])
        _ = session.connect(hostname: "client.example", address: "198.51.100.7", macros: Macros(["{daemon_name}": "smtpd"]))
        for queueID in ["C1", "C2"] {
            _ = session.mailFrom("<app@example.com>", macros: Macros(["i": queueID, "{auth_authen}": "x"]))
            _ = session.recipient("<x@example.org>", macros: Macros())
            _ = session.header(name: "X-Auth-User", value: "dan")
            #expect(session.endOfMessage(macros: Macros(["i": queueID])).0 == .accept)
        }
        session.close()
        #expect(reports.log.all.filter { $0.contains("C1: the MTA did not grant") || $0.contains("C2: the MTA did not grant") }.count == 1,
                "\(reports.log.all)")
        var noDelete = spamRun
        noDelete.grantedActions = [.addHeaders, .changeHeaders]
        noDelete.queueID = "DEF456"
        let (verdict, changes) = reports.send(noDelete)
        #expect(verdict == .accept && !changes.contains { if case .deleteRecipient = $0 { true } else { false } })
        #expect(intake.stored.withLock { $0.count } == 2, "stored, and delivered to its other recipients")
    }

    /// A locked identity that keeps sending costs the store one write a second, not one per message:
    /// its attempts are tallied and written with the next second's first, or by the daemon's tick.
    @Test func aLockedIdentitysFloodIsWrittenOnceASecond() throws {
        let h = try Harness(Self.base)
        _ = try h.store.adminLock("sasl:mallory", by: "root", reason: "hijacked", expiresAt: nil, at: h.clock.now())
        func attempts() throws -> Int? { try h.store.state(of: "sasl:mallory").lock?.attempts }
        for _ in 1...50 { guard case .reject = h.send(.init(auth: "mallory")).0 else { Issue.record("not refused"); return } }
        #expect(try attempts() == 1, "the second's first attempt written, the others held back")
        h.clock.advance(TimeSpan(seconds: 1))
        #expect(h.send(.init(auth: "mallory")).0 != .accept)
        #expect(try attempts() == 51)
        for _ in 1...9 { _ = h.send(.init(auth: "mallory")) }
        h.filter.writeLockedAttempts()
        #expect(try attempts() == 60)
        h.filter.writeLockedAttempts()
        #expect(try attempts() == 60, "each attempt written once")
    }

    @Test func localSubmissionsAreAlwaysHeldNeverRejected() throws {
        let h = try Harness(Self.base + "\nidentity_rule = local envelope_from /^(?<id>[^@]+)@host\\.example$/")
        let local = Harness.Message(daemon: "mailwarden-local", client: "127.0.0.1", from: "www-data@host.example", headers: Harness.spam)
        for _ in 1...5 { #expect(h.send(local).0 == .accept) }
        guard case .hold = h.send(local).0 else { Issue.record("local crossing must be held"); return }
        guard case .hold = h.send(local).0 else { Issue.record("a locked local sender must be held, not refused at MAIL FROM"); return }
        #expect(try h.store.state(of: "local:www-data").lock != nil)
    }

    @Test func monitorModeRefusesNothingAndSaysWouldLock() throws {
        let h = try Harness(Self.base + "\nmode = monitor")
        for _ in 1...8 { #expect(h.send(.init(auth: "hank", headers: Harness.spam)).0 == .accept) }
        #expect(try h.store.state(of: "sasl:hank").lock == nil)
        #expect(h.log.all.contains { $0.contains("would lock") })
    }

    @Test func trustedNetworksAreCountedAndHeaderRulesNameTheSender() throws {
        let h = try Harness(Self.base + """

            trusted_networks = 192.0.2.0/24
            identity_rule = user header X-Auth-User /^\\s*(?<id>[A-Za-z0-9._-]+)/ lowercase
            """)
        for _ in 1...5 { h.send(.init(client: "192.0.2.10", headers: Harness.spam + [("X-Auth-User", "Shop42")])) }
        guard case .reject = h.send(.init(client: "192.0.2.10", headers: Harness.spam + [("X-Auth-User", "shop42")])).0 else {
            Issue.record("header identity should lock"); return
        }
        #expect(try h.store.state(of: "user:shop42").lock != nil)
    }

    @Test func tokenModeReplacesTheIdentityHeader() throws {
        let h = try Harness("identity_header = token\nidentity_rule = user header X-Auth-User /(?<id>\\S+)/")
        let (v, mods) = h.send(.init(auth: "x", headers: [("X-Auth-User", "shop1"), ("X-Auth-User", "shop1")]))
        #expect(v == .accept)
        #expect(mods.prefix(2) == [.changeHeader(name: "X-Auth-User", index: 2, value: nil), .changeHeader(name: "X-Auth-User", index: 1, value: nil)])
        guard case .addHeader(let name, let token) = mods.last else { Issue.record("no token header"); return }
        #expect(name == "X-MailWarden-ID" && token.count >= 22 && !token.contains("shop1"))
        #expect(try h.store.identity(forToken: token) == "user:shop1")
    }

    /// A lock the milter knows stands while the store is away: held mail whose token cannot be
    /// minted is held without it, not accepted per on_error.
    @Test func aLockedIdentitysMailIsHeldWhenItsTokenCannotBeMinted() throws {
        struct StoreAway: Error {}
        struct UnavailableTokenizer: IdentityTokenizer {
            func token(for identity: Identity) throws -> String { throw StoreAway() }
        }
        let h = try Harness("identity_header = token\nlock_action = hold\non_error = accept\nidentity_rule = user header X-Auth-User /(?<id>\\S+)/",
                            tokenizer: UnavailableTokenizer())
        _ = try h.store.adminLock("user:ivy", by: "root", reason: "by hand", expiresAt: nil, at: h.clock.now())
        let (verdict, changes) = h.send(.init(auth: "x", headers: [("X-Auth-User", "ivy")]))
        #expect(verdict == .hold(reason: "MailWarden: user:ivy is locked"))
        #expect(changes == [.changeHeader(name: "X-Auth-User", index: 1, value: nil)], "its identity header still goes")
        #expect(h.log.all.contains { $0.contains("held without its X-MailWarden-ID") })
    }

    /// on_error = accept lets mail through uncounted while the store fails, but never a login or
    /// past a lock: the identity header still goes, a failure at MAIL FROM waits for the end of the
    /// message (it accepted the whole message there, kept for no later count), and a report to our
    /// abuse@ among the recipients that cannot be stored still leaves its sender's lock in force.
    @Test func onErrorAcceptNeverLetsALoginOutNorALockedIdentityThrough() throws {
        let rule = "identity_header = remove\nidentity_rule = user header X-Auth-User /(?<id>\\S+)/"
        let failing = try Harness("on_error = accept\n" + rule, store: FailingStore())
        let (verdict, changes) = failing.send(.init(auth: "x", headers: [("X-Auth-User", "shop1")]))
        #expect(verdict == .accept && changes == [.changeHeader(name: "X-Auth-User", index: 1, value: nil)])

        // An expired lock the store cannot lift: the check at MAIL FROM fails.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-expired-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let shared = try SQLStore(path: dir.appendingPathComponent("store.db").path)
        let atMailFrom = try Harness("on_error = accept", store: FaultyStore(shared) { call in
            if call == "liftExpiredLock" { throw FailingStore.Failure() }
        })
        _ = try shared.adminLock("sasl:ivy", by: "root", reason: "a day", expiresAt: atMailFrom.clock.now() - 1, at: atMailFrom.clock.now() - 86_400)
        #expect(atMailFrom.send(.init(auth: "ivy")).0 == .accept)
        #expect(atMailFrom.filter.countBacklog.count == 1, "kept, to be counted once the store answers")
        #expect(atMailFrom.log.all.first?.contains("action=go on to the end of the message (on_error=accept)") == true, "\(atMailFrom.log.all)")

        let reportNotStored = try Harness("on_error = accept\nlock_action = hold\nabuse_mailboxes = abuse@example.com",
                                          intake: RecordingIntake(failing: true))
        _ = try reportNotStored.store.adminLock("sasl:mallory", by: "root", reason: "by hand", expiresAt: nil, at: reportNotStored.clock.now())
        let spamRun = Harness.Message(auth: "mallory", recipients: ["<x@example.org>", "<abuse@example.com>"], rcptMailer: "local")
        #expect(reportNotStored.send(spamRun).0 == .hold(reason: "MailWarden: sasl:mallory is locked"))
    }

    /// Monitor mode refuses nothing, and so delivers a locked identity's mail: without its login.
    @Test func monitorModeDeliversALockedIdentitysMailWithoutItsLogin() throws {
        let h = try Harness("mode = monitor\nidentity_header = remove\nidentity_rule = user header X-Auth-User /(?<id>\\S+)/")
        _ = try h.store.adminLock("user:ivy", by: "root", reason: "by hand", expiresAt: nil, at: h.clock.now())
        let (verdict, changes) = h.send(.init(auth: "x", headers: [("X-Auth-User", "ivy")]))
        #expect(verdict == .accept && changes == [.changeHeader(name: "X-Auth-User", index: 1, value: nil)])
    }

    @Test func exemptIdentitiesAreCountedButNeverLocked() throws {
        let h = try Harness(Self.base + "\nexempt = sasl:boss")
        for _ in 1...10 { #expect(h.send(.init(auth: "boss", headers: Harness.spam)).0 == .accept) }
        #expect(try h.store.state(of: "sasl:boss").lock == nil)
    }

    @Test func aStoreFailureTempfailsByDefaultAndAcceptsWhenConfigured() throws {
        for (setting, expected) in [("", "tempfail"), ("on_error = accept", "accept")] {
            let h = try Harness(setting, store: FailingStore())
            let (v, _) = h.send(.init(auth: "ivy"))
            switch (v, expected) {
            case (.tempfail(let r), "tempfail"): #expect(r.code == "451")
            case (.accept, "accept"): break
            default: Issue.record("\(setting): \(v)")
            }
            #expect(h.log.all.contains { $0.hasPrefix("error:") && $0.contains("disk I/O error") })
        }
    }

    @Test func severalMessagesPerConnectionAndRSETStartClean() throws {
        let h = try Harness(Self.base)
        let s = h.filter.makeSession()
        _ = s.connect(hostname: "c", address: "198.51.100.1", macros: Macros())
        _ = s.mailFrom("<a@x>", macros: Macros(["{auth_authen}": "jo"]))
        _ = s.recipient("<r@y>", macros: Macros())
        s.abort() // RSET
        _ = s.mailFrom("<a@x>", macros: Macros())  // second message is unauthenticated
        #expect(s.endOfMessage(macros: Macros()).0 == .accept)
        #expect(try h.store.state(of: "sasl:jo").lock == nil)
        #expect(h.log.all.last?.contains("scope=inbound") == true)
    }
}

@Suite struct BoundsTests {
    @Test func hugeAndNumerousHeadersAreCappedBeforeAnyRuleSeesThem() throws {
        let h = try Harness("max_headers = 50\nidentity_rule = user header X-Auth-User /^(?<id>[a-z]+)$/")
        // A 1 MB header value: the rule sees only max_header_length characters (as Postfix truncates at
        // header_size_limit), and the identity it names is capped again.
        let huge = String(repeating: "a", count: 1_000_000)
        #expect(h.send(.init(auth: "x", headers: [("X-Auth-User", huge)])).0 == .accept)
        let capped = "user:" + String(repeating: "a", count: IdentityRule.maxValueLength)
        #expect(h.log.all.last?.contains("identity=\(capped) ") == true)
        // A header past max_headers is not examined at all.
        let filler = (1...60).map { ("X-Filler-\($0)", "v") }
        h.send(.init(auth: "x", headers: filler + [("X-Auth-User", "late")]))
        #expect(try h.store.state(of: "user:late").lock == nil)
        #expect(h.log.all.last?.contains("no identity rule matched") == true)
    }

    @Test func manyRecipientsAreCountedAsOneMessage() throws {
        let h = try Harness("limit_recipients = 100000/1h")
        let rcpts = (1...5000).map { "<r\($0)@example.org>" }
        #expect(h.send(.init(auth: "bulk", recipients: rcpts)).0 == .accept)
        #expect(h.log.all.last?.contains("recipients=5000") == true)
        #expect(h.log.all.last?.contains("window=messages:1,recipients:5000") == true)
    }

    @Test func missingMacrosMeanNoIdentityNotACrash() throws {
        let h = try Harness("trusted_networks = 192.0.2.0/24")
        let s = h.filter.makeSession()
        _ = s.connect(hostname: "", address: nil, macros: Macros())
        #expect(s.mailFrom("", macros: Macros()) == .accept, "no auth, no daemon name, no address: inbound")
        let t = h.filter.makeSession()
        _ = t.connect(hostname: "", address: "192.0.2.5", macros: Macros())
        #expect(t.mailFrom("<>", macros: Macros()) == .proceed)
        #expect(t.endOfMessage(macros: Macros()).0 == .accept)
        #expect(h.log.all.last?.hasPrefix("info: NOQUEUE: identity=-") == true)
    }
}

/// A store whose every call fails, as a full or vanished disk would.
struct FailingStore: PolicyStore {
    struct Failure: Error, CustomStringConvertible { var description: String { "disk I/O error" } }
    func state(of identity: Identity) throws -> IdentityState { throw Failure() }
    func policyVersion() throws -> Int64 { throw Failure() }
    func policySnapshot() throws -> PolicySnapshot { throw Failure() }
    func record(_ run: [MessageEvent], windows: [Counter: TimeSpan]) throws -> [Counter: Int] { throw Failure() }
    func windowTotals(of identity: Identity, at: Int64, windows: [Counter: TimeSpan]) throws -> [Counter: Int] { throw Failure() }
    func recordComplaint(identity: Identity, reporter: String, reportID: Int64, at: Int64, window: TimeSpan) throws -> ComplaintTally { throw Failure() }
    func lock(_ lock: LockRecord) throws -> (lock: LockRecord, isNew: Bool) { throw Failure() }
    func unlock(identity: Identity, by actor: String, reason: String?, at: Int64) throws -> Bool { throw Failure() }
    func liftExpiredLock(of identity: Identity, at: Int64) throws -> Bool { throw Failure() }
    func recordLockedAttempts(_ count: Int, identity: Identity, at: Int64, heldQueueID: String?) throws { throw Failure() }
    func atomically<T>(_ body: () throws -> T) throws -> T { throw Failure() }
}

@Suite struct CountOnceTests {
    @Test func aStoreFailureAfterTheCountLeavesNoCountAndTheRetryIsCountedOnce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-once-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let shared = try SQLStore(path: dir.appendingPathComponent("store.db").path)
        // Setting a lock fails the first time, as a disk that fills up between the count and the lock would.
        let lockFailed = Flag()
        let h = try Harness("limit_messages = 1/1h", store: FaultyStore(shared) { call in
            if call == "lock", !lockFailed.set() { throw FailingStore.Failure() }
        })
        #expect(h.send(.init(auth: "alice")).0 == .accept)
        // The second message crosses 1/1h; setting the lock fails: tempfail, and its count is undone.
        guard case .tempfail = h.send(.init(auth: "alice")).0 else { Issue.record("a failed lock must tempfail"); return }
        func messages() throws -> Int? { try shared.identities().first { $0.identity == "sasl:alice" }?.messages }
        #expect(try messages() == 1, "the tempfailed message left no count")
        // The client retries: counted once, and this time the lock holds.
        guard case .reject = h.send(.init(auth: "alice")).0 else { Issue.record("the retry must lock"); return }
        #expect(try messages() == 2)
    }
}

@Suite struct ComplaintAccountingTests {
    /// A backlog imported late: complaints received before the window are kept and lock no one.
    @Test func complaintsReceivedBeforeTheWindowLockNoOne() throws {
        let h = try Harness("limit_complaints = 1/1d\ncomplaint_min_reporters = 1")
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        let monthsAgo = h.clock.now() - 90 * 86_400
        for (report, reporter) in [(Int64(1), "fbl@isp.example"), (2, "abuse@other.example"), (3, "spam@third.example")] {
            #expect(try accounting.accountComplaint(identity: "sasl:shop", reporter: reporter, reportID: report, receivedAt: monthsAgo).outcome
                == .pass(totals: [:]))
        }
        #expect(try h.store.state(of: "sasl:shop").lock == nil)
        #expect(try h.store.detail(of: "sasl:shop", config: h.filter.config, now: h.clock.now())?.summary.complaints == 3, "kept on record")
        // The same complaints received today lock at the second.
        _ = try accounting.accountComplaint(identity: "sasl:shop", reporter: "fbl@isp.example", reportID: 4, receivedAt: h.clock.now())
        guard case .locked = try accounting.accountComplaint(identity: "sasl:shop", reporter: "abuse@other.example", reportID: 5,
                                                              receivedAt: h.clock.now()).outcome else { Issue.record("not locked"); return }
    }

    /// An unlock starts the windows afresh: complaints that arrived before it, which the desk takes
    /// only after it (it was behind), are kept on record and do not lock the customer again.
    @Test func complaintsThatArrivedBeforeAnUnlockDoNotLockAgain() throws {
        let h = try Harness("limit_complaints = 1/1d\ncomplaint_min_reporters = 1")
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        _ = try accounting.accountComplaint(identity: "sasl:shop", reporter: "isp.example", reportID: 1, receivedAt: h.clock.now())
        guard case .locked = try accounting.accountComplaint(identity: "sasl:shop", reporter: "other.example", reportID: 2,
                                                              receivedAt: h.clock.now()).outcome else { Issue.record("not locked"); return }
        let arrived = h.clock.now() + 60
        h.clock.advance(TimeSpan(seconds: 120))
        let unlockedAt = h.clock.now()
        #expect(try h.store.unlock(identity: "sasl:shop", by: "admin", reason: "cleaned", at: unlockedAt))
        h.clock.advance(TimeSpan(seconds: 10))
        for (report, reporter) in [(Int64(3), "isp.example"), (4, "other.example"), (5, "third.example")] {
            #expect(try accounting.accountComplaint(identity: "sasl:shop", reporter: reporter, reportID: report, receivedAt: arrived).outcome
                == .pass(totals: [.complaints: 0]))
        }
        #expect(try h.store.state(of: "sasl:shop").lock == nil)
        // Complaints that arrive after the unlock count as ever, from its own second on (times are seconds).
        _ = try accounting.accountComplaint(identity: "sasl:shop", reporter: "isp.example", reportID: 6, receivedAt: unlockedAt)
        guard case .locked = try accounting.accountComplaint(identity: "sasl:shop", reporter: "other.example", reportID: 7,
                                                              receivedAt: h.clock.now()).outcome else { Issue.record("not locked after"); return }
    }

    @Test func complaintsLockOnlyPastTheLimitAndFromEnoughDistinctReporters() throws {
        let h = try Harness("limit_complaints = 1/1d\ncomplaint_min_reporters = 2")
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        // One reporter complaining three times is one voice, below the minimum: no count at all.
        for report in Int64(1)...3 {
            #expect(try accounting.accountComplaint(identity: "sasl:shop", reporter: "fbl@isp.example", reportID: report, receivedAt: h.clock.now()).outcome
                == .pass(totals: [.complaints: 0]))
        }
        // A second reporter: 2 distinct > limit 1 → locked, by the four reports in the window.
        let counted = try accounting.accountComplaint(identity: "sasl:shop", reporter: "abuse@other.example", reportID: 4, receivedAt: h.clock.now())
        guard case .locked(let lock, let crossing) = counted.outcome else {
            Issue.record("two distinct reporters over a limit of 1 must lock"); return
        }
        #expect(crossing?.counter == .complaints && lock.automatic)
        #expect(counted.reportIDs == [1, 2, 3, 4])
        #expect(h.send(.init(auth: "shop")).0 != .accept, "the locked customer's next message is refused")
    }
}

@Suite struct ConcurrentCountTests {
    /// Messages of one identity ending at the same moment, whose counts share transactions (group
    /// commit): every one is counted, the limit locks the identity once, and exactly the messages
    /// past the limit get the lock.
    @Test func messagesEndingTogetherAreEachCountedAndLockTheIdentityOnce() throws {
        let h = try Harness("limit_messages = 10/1h")
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        let state = try accounting.check("sasl:burst").state
        let outcomes = Mutex<[AccountingOutcome]>([])
        let start = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let clock = h.clock
        for i in 0..<24 {
            Thread {
                start.wait()
                let event = MessageEvent(identity: "sasl:burst", at: clock.now(), recipients: 1, spam: false, messageID: nil, queueID: "Q\(i)")
                if let outcome = try? accounting.count(event, state: state) { outcomes.withLock { $0.append(outcome) } }
                done.signal()
            }.start()
        }
        for _ in 0..<24 { start.signal() }
        for _ in 0..<24 { _ = done.wait(timeout: .now() + 60) }
        let all = outcomes.withLock { $0 }
        #expect(all.count == 24, "every count succeeded")
        #expect(all.filter { if case .pass = $0 { true } else { false } }.count == 10)
        #expect(all.filter { if case .locked = $0 { true } else { false } }.count == 14)
        #expect(try h.store.identities().first { $0.identity == "sasl:burst" }?.messages == 24, "each message counted once")
        #expect(try h.store.policySnapshot().locks.count == 1)
        #expect(all.filter { if case .locked(_, crossing: .some) = $0 { true } else { false } }.count == 1,
                "one message set the lock, so one notice")
    }

    /// Sessions that passed check() before the lock count after it (a hijacked account on many
    /// connections): each crosses the limit, but only the one that set the lock announces it.
    @Test func aCountCrossingALockSetMeanwhileDoesNotAnnounceItAgain() throws {
        let h = try Harness("limit_messages = 2/1h")
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        let stale = try accounting.check("sasl:many").state
        func count(_ n: Int) throws -> AccountingOutcome {
            try accounting.count(MessageEvent(identity: "sasl:many", at: h.clock.now(), recipients: 1, spam: false,
                                              messageID: nil, queueID: "Q\(n)"), state: stale)
        }
        #expect(try count(1) == .pass(totals: [.messages: 1, .recipients: 1, .spam: 0]))
        #expect(try count(2) == .pass(totals: [.messages: 2, .recipients: 1 + 1, .spam: 0]))
        guard case .locked(let lock, crossing: .some) = try count(3) else { Issue.record("the third message locks"); return }
        guard case .locked(let inForce, crossing: nil) = try count(4) else { Issue.record("the fourth must not announce a lock"); return }
        #expect(inForce.reason == lock.reason && inForce.lockedAt == lock.lockedAt, "the lock in force, set by the third")
    }
}

@Suite struct RetentionTests {
    /// An identity counted over a longer window than the config's (`mailwarden limits … 100/60d`)
    /// keeps that window's counts through pruning, which kept only the config's longest (or 31 days).
    @Test func pruningKeepsTheLongestWindowOfAnOverride() throws {
        let h = try Harness("limit_messages = 1000/1d")
        try h.store.setLimits([.messages: try #require(LimitOverride("100/60d"))], of: "sasl:bulk", by: "root", at: h.clock.now())
        let accounting = IdentityAccounting(config: h.filter.config, store: h.store, clock: h.clock)
        /// Sends `n` messages, one after the other; the outcome of the last, or of the first that did not pass.
        func send(_ n: Int) throws -> AccountingOutcome? {
            var outcome: AccountingOutcome?
            for i in 0..<n {
                let checked = try accounting.check("sasl:bulk")
                if let refusal = checked.refusal { return refusal }
                outcome = try accounting.count(MessageEvent(identity: "sasl:bulk", at: h.clock.now(), recipients: 1, spam: false,
                                                            messageID: nil, queueID: "Q\(i)"), state: checked.state)
                if case .locked = outcome { return outcome }
            }
            return outcome
        }
        #expect(try send(80)?.totals?[.messages] == 80)
        h.clock.advance(.days(40))
        let config = h.filter.config
        try h.store.prune(now: h.clock.now(), outboundRetention: config.outboundLogRetention,
                          windowRetention: config.windowRetention(overrides: try h.store.policySnapshot().overrides.values))
        guard case .locked = try send(30) else { Issue.record("80 + 30 messages within 60 days must cross 100/60d"); return }
    }
}
