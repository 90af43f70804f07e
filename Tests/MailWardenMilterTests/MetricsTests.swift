import MailWardenCore
import MailWardenMilter
import MetricsTestKit
import Testing

/// What the milter reports to swift-metrics, through a test backend (the daemon's is Prometheus).
@Suite struct MetricsTests {
    typealias Name = MessageMetrics.Name

    @Test func eachMessageIsCountedOnceByItsFinalActionAndTimed() throws {
        let backend = TestMetrics()
        let h = try Harness("limit_messages = 2/1h", metrics: MessageMetrics(factory: backend))
        for _ in 1...3 { h.send(.init(auth: "alice")) }      // accept, accept, the crossing one is rejected
        h.send(.init(auth: "alice"))                          // refused at MAIL FROM: locked
        h.send(.init())                                       // a stranger's inbound mail: accepted, uncounted
        let s = h.filter.makeSession()                        // abandoned after MAIL FROM: no final action
        _ = s.mailFrom("<x@example.net>", macros: Macros(["{auth_authen}": "bob"]))
        s.abort()
        s.close()

        #expect(try backend.expectCounter(Name.messages, [("action", "accept")]).totalValue == 3)
        #expect(try backend.expectCounter(Name.messages, [("action", "reject")]).totalValue == 2)
        #expect(try backend.expectCounter(Name.messages, [("action", "tempfail")]).totalValue == 0)
        let times = try backend.expectTimer(Name.messageTime).values
        #expect(times.count == 5)
        #expect(times.allSatisfy { $0 > 0 && $0 < 10_000_000_000 })
        // alice's four messages are checked at MAIL FROM (her identity comes from a macro) and the first
        // three again when counted; only the fourth finds her locked. bob's abandoned message adds one.
        #expect(try backend.expectCounter(Name.lockChecks, [("result", "locked")]).totalValue == 1)
        #expect(try backend.expectCounter(Name.lockChecks, [("result", "clear")]).totalValue == 7)
    }

    /// A pattern that backtracks without end on a long header runs into its time limit: it counts as
    /// no match (the next rule names the sender), and that is logged and counted, not silent.
    @Test func anAdminPatternThatRunsOutOfTimeIsLoggedAndCounted() throws {
        let backend = TestMetrics()
        let h = try Harness("""
            trusted_networks = 192.0.2.0/24
            identity_rule = user header X-Auth-User /^(?<id>(a+)+)$/
            identity_rule = net client_address
            spam_header = X-Spam-Report /^(a|aa)+$/
            """, metrics: MessageMetrics(factory: backend))
        let hostile = String(repeating: "a", count: 4000) + "!"
        let (verdict, _) = h.send(.init(client: "192.0.2.7", headers: [("X-Auth-User", hostile), ("X-Spam-Report", hostile)]))
        #expect(verdict == .accept)
        #expect(try backend.expectCounter(Name.regexTimeouts, [("setting", "identity_rule")]).totalValue == 1)
        #expect(try backend.expectCounter(Name.regexTimeouts, [("setting", "spam_header")]).totalValue == 1)
        #expect(h.log.all.contains { $0.contains("identity=net:192.0.2.7 rule=2") && $0.contains("spam=no") },
                "the next rule names the sender; the unread verdict is no verdict")
        #expect(h.log.all.contains { $0.hasPrefix("warning: ABC123: identity_rule user header X-Auth-User") && $0.contains("ran over its 50 ms time limit") })
    }

    @Test func aStoreFailureIsCountedWithItsTempfail() throws {
        let backend = TestMetrics()
        let h = try Harness("", store: FailingStore(), metrics: MessageMetrics(factory: backend))
        h.send(.init(auth: "ivy"))
        #expect(try backend.expectCounter(Name.storeErrors).totalValue == 1)
        #expect(try backend.expectCounter(Name.messages, [("action", "tempfail")]).totalValue == 1)
    }

    @Test func scansAreTimedAndFailuresCountedByReason() throws {
        for scanner in [ScriptedScanner(), ScriptedScanner(failure: .refused)] {
            let backend = TestMetrics()
            let h = try Harness("scanner = spamd 127.0.0.1:783", makeScanners: { _ in [scanner] }, metrics: MessageMetrics(factory: backend))
            h.send(.init(auth: "alice"))
            h.send(.init(auth: "alice"))
            if scanner.failure.withLock({ $0 }) == nil {
                let timed = try backend.expectTimer(Name.scanTime, [("scanner", scanner.label)]).values
                #expect(timed == [40_000_000, 40_000_000], "the scanner's own latency, in nanoseconds")
            } else {
                #expect(throws: (any Error).self, "a failed scan has no time") { try backend.expectTimer(Name.scanTime, [("scanner", scanner.label)]) }
                #expect(try backend.expectCounter(Name.scanFailures, [("scanner", scanner.label), ("reason", "refused")]).totalValue == 2)
            }
        }
    }
}
