import Testing
@testable import MailWardenCore

struct FakeFacts: MessageFacts {
    var macros: [String: String] = [:]
    var envelopeFrom: String?
    var clientAddress: String?
    var headers: [(String, String)] = []

    func macro(_ name: String) -> String? { macros[name] }
    func headerValues(named name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
}

@Suite struct IdentityRuleTests {
    func rules(_ lines: String...) throws -> IdentityRules {
        IdentityRules(try lines.map { try IdentityRule(parsing: $0) })
    }

    @Test func macroRuleLowercasesWhenAsked() throws {
        let r = try rules("sasl macro {auth_authen} lowercase")
        #expect(r.resolve(FakeFacts(macros: ["{auth_authen}": "Alice@Example.NET"]))?.identity == "sasl:alice@example.net")
        #expect(r.resolve(FakeFacts()) == nil)
    }

    /// é as one scalar or as e and an accent: one identity, in one spelling (NFC), so that the store's
    /// rows (compared by bytes) and the daemon's maps (by String) agree on who it is.
    @Test func canonicallyEquivalentSpellingsNameOneIdentity() throws {
        let r = try rules("sasl macro {auth_authen} lowercase")
        let composed = Array("sasl:jos\u{E9}@example.net".utf8)
        #expect((r.resolve(FakeFacts(macros: ["{auth_authen}": "Jos\u{E9}@example.net"]))?.identity).map { Array($0.utf8) } == composed)
        #expect((r.resolve(FakeFacts(macros: ["{auth_authen}": "Jose\u{301}@example.net"]))?.identity).map { Array($0.utf8) } == composed)
    }

    @Test func headerRuleTakesTheNamedGroupFromTheFirstMatchingHeader() throws {
        let r = try rules("php header X-PHP-Originating-Script /^\\s*(?<id>[0-9]+):/")
        let facts = FakeFacts(headers: [("x-php-originating-script", "junk"), ("X-PHP-Originating-Script", "1001:mailer.php")])
        let m = try #require(r.resolve(facts))
        #expect(m.identity == "php:1001")
        #expect(m.ruleIndex == 1)
    }

    @Test func envelopeRuleWithoutAGroupTakesTheWholeMatch() throws {
        let r = try rules("ef envelope_from /[^@]+@shop\\.example$/i")
        #expect(r.resolve(FakeFacts(envelopeFrom: "<Orders@SHOP.example>"))?.identity == "ef:Orders@SHOP.example")
        #expect(r.resolve(FakeFacts(envelopeFrom: "<x@other.example>")) == nil)
    }

    @Test func firstMatchingRuleWins() throws {
        let r = try rules("user header X-Auth-User /(?<id>\\S+)/", "sasl macro {auth_authen}", "ip client_address")
        let both = FakeFacts(macros: ["{auth_authen}": "bob"], clientAddress: "192.0.2.1", headers: [("X-Auth-User", "shop7")])
        #expect(r.resolve(both)?.identity == "user:shop7")
        #expect(r.resolve(FakeFacts(clientAddress: "192.0.2.1"))?.identity == "ip:192.0.2.1")
    }

    @Test func anEnvelopeRuleIsDecidedEarlyOnlyWhenNoHeaderRuleStandsBeforeIt() throws {
        let facts = FakeFacts(macros: ["{auth_authen}": "bob"])
        #expect(try rules("sasl macro {auth_authen}", "user header X-Auth-User /(?<id>\\S+)/").resolveBeforeHeaders(facts)?.identity == "sasl:bob")
        #expect(try rules("user header X-Auth-User /(?<id>\\S+)/", "sasl macro {auth_authen}").resolveBeforeHeaders(facts) == nil)
    }

    @Test func valuesAreCappedAndStrippedOfControlCharacters() throws {
        let r = try rules("user header X-Auth-User /(?<id>.+)/")
        let long = String(repeating: "a", count: 10_000)
        let id = try #require(r.resolve(FakeFacts(headers: [("X-Auth-User", "x\u{7}y\t" + long)]))?.identity)
        #expect(id.hasPrefix("user:xya"))
        #expect(id.count <= "user:".count + IdentityRule.maxValueLength)
        // The cap counts characters, not bytes: 200 two-byte letters are kept whole, clean or not.
        let accented = String(repeating: "é", count: 200)
        #expect(r.resolve(FakeFacts(headers: [("X-Auth-User", " jörg@exämple.de\r\n")]))?.identity == "user:jörg@exämple.de")
        #expect(r.resolve(FakeFacts(headers: [("X-Auth-User", accented)]))?.identity == "user:" + accented)
        #expect(r.resolve(FakeFacts(headers: [("X-Auth-User", accented + "\u{1}" + accented)]))?.identity
                == "user:" + accented + String(repeating: "é", count: IdentityRule.maxValueLength - 201))
    }

    @Test func aPathologicalPatternOnHugeInputEndsQuickly() throws {
        // Catastrophic backtracking (2^40 paths): without the time limit this would run for hours.
        let p = try BoundedPattern(pattern: "^(a+)+$")
        #expect(p.firstMatch(in: String(repeating: "a", count: 40) + "!") == nil)
        // Input past the cap is cut before any pattern sees it.
        #expect(BoundedPattern.capped(String(repeating: "b", count: 100_000)).count == BoundedPattern.maxInputLength)
    }

    /// A field repeated (a stranger's report carries an original with 1,000 of them, a customer's
    /// message up to max_headers) costs one time limit in all, not one per field: the desk spent
    /// 50 s on one report with 1,000, outside its parse budget.
    @Test func aRepeatedFieldCostsOneTimeLimitInAll() throws {
        let rules = try IdentityRules([IdentityRule(parsing: "user header X-User /^(?<id>(a+)+)$/")])
        let values = Array(repeating: ("X-User", String(repeating: "a", count: 40) + "!"), count: 200)
        var timeouts = 0
        #expect(rules.resolve(FakeFacts(headers: values), onTimeout: { _ in timeouts += 1 }) == nil)
        #expect(timeouts == 1)
    }

    @Test func overlongPatternsAreRefused() {
        #expect(throws: BoundedPattern.Failure.self) {
            try BoundedPattern(pattern: String(repeating: "a", count: BoundedPattern.maxPatternLength + 1))
        }
    }
}

@Suite struct LockPolicyTests {
    @Test func theEventAfterTheLimitCrossesIt() {
        let policy = LockPolicy(limits: LimitSet(spam: RateLimit(count: 5, window: .hours(1))))
        for n in 1...5 { #expect(policy.crossing(totals: [.spam: n]) == nil, "verdict \(n) passes") }
        #expect(policy.crossing(totals: [.spam: 6]) == LimitCrossing(counter: .spam, limit: RateLimit(count: 5, window: .hours(1)), count: 6))
    }

    @Test func spamIsNamedBeforeVolumeWhenBothCross() {
        let policy = LockPolicy(limits: LimitSet(messages: RateLimit("1/1h"), spam: RateLimit("1/1h")))
        #expect(policy.crossing(totals: [.messages: 2, .spam: 2])?.counter == .spam)
    }

    @Test func overridesReplaceOrDisableLimits() {
        let base = LimitSet(messages: RateLimit("10/1h"), spam: RateLimit("5/1h"))
        let o = base.overridden(by: [.messages: .limit(RateLimit("1000/1h")!), .spam: .disabled])
        #expect(o.messages == RateLimit("1000/1h"))
        #expect(o.spam == nil)
        #expect(o.windows[.spam] == .hours(1), "an unlimited counter is still summed over the longest window")
    }
}
