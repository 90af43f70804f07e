import Testing
@testable import MailWardenCore

@Suite struct ReporterAuthenticationTests {
    static let suffixes = PublicSuffixList(text: "com\nnet\nuk\nco.uk\n*.ck\n!www.ck\n")
    static let ours: Set<String> = ["mx.isp.example"]

    static func decide(_ fields: [(name: String, value: String)], from: String? = "isp.example",
                       trusted: Set<String> = ours) -> ReporterAuthentication {
        ReporterAuthentication.decide(fields: fields.filter { $0.name.lowercased() == "authentication-results" }.compactMap { AuthenticationResults($0.value) },
                                      fromDomain: from, trustedAuthservIDs: trusted,
                                      publicSuffixes: suffixes)
    }

    static func ar(_ value: String) -> (name: String, value: String) { ("Authentication-Results", value) }

    static let cases: [(why: String, fields: [(name: String, value: String)], from: String?, expected: ReporterAuthentication)] = [
        ("OpenDKIM pass for the From: domain",
         [ar("mx.isp.example; dkim=pass (2048-bit key; unprotected) header.d=isp.example header.i=@isp.example header.b=AbCd")],
         "isp.example", .authenticated(organizationalDomain: "isp.example", method: .dkim)),
        ("relaxed alignment: a subdomain signs for its organisation",
         [ar("mx.isp.example; dkim=pass header.d=mail.isp.example")],
         "isp.example", .authenticated(organizationalDomain: "isp.example", method: .dkim)),
        ("relaxed alignment the other way: From: a subdomain, d= the organisation",
         [ar("mx.isp.example; dkim=pass header.d=isp.example")],
         "abuse.isp.example", .authenticated(organizationalDomain: "isp.example", method: .dkim)),
        ("rspamd SPF pass for the envelope sender's domain",
         [ar("mx.isp.example; dkim=none; spf=pass (mx.isp.example: domain of fbl@bounces.isp.example designates "
             + "192.0.2.1 as permitted sender) smtp.mailfrom=fbl@bounces.isp.example; dmarc=pass header.from=isp.example")],
         "isp.example", .authenticated(organizationalDomain: "isp.example", method: .spf)),
        ("OpenDMARC's smtp.mailfrom is a bare domain",
         [ar("mx.isp.example; spf=pass smtp.mailfrom=isp.example")],
         "isp.example", .authenticated(organizationalDomain: "isp.example", method: .spf)),
        ("DKIM is preferred when both pass",
         [ar("mx.isp.example; spf=pass smtp.mailfrom=a@isp.example; dkim=pass header.d=isp.example")],
         "isp.example", .authenticated(organizationalDomain: "isp.example", method: .dkim)),
        ("names, ids and results compare case-insensitively; From: with a trailing dot",
         [("AUTHENTICATION-RESULTS", "MX.ISP.Example; DKIM=PASS Header.D=ISP.EXAMPLE")],
         "Isp.Example.", .authenticated(organizationalDomain: "isp.example", method: .dkim)),
        ("example.co.uk: the organisation is three labels",
         [ar("mx.isp.example; dkim=pass header.d=fbl.example.co.uk")],
         "example.co.uk", .authenticated(organizationalDomain: "example.co.uk", method: .dkim)),
        ("another co.uk registrant is not aligned",
         [ar("mx.isp.example; dkim=pass header.d=attacker.co.uk")],
         "example.co.uk", .unauthenticated(reason: "dkim=pass for d=attacker.co.uk not aligned with From: example.co.uk")),
        ("*.ck and !www.ck",
         [ar("mx.isp.example; dkim=pass header.d=mail.www.ck; spf=pass smtp.mailfrom=x@b.foo.ck")],
         "www.ck", .authenticated(organizationalDomain: "www.ck", method: .dkim)),
        ("under a wildcard, a sibling is another organisation",
         [ar("mx.isp.example; dkim=pass header.d=a.bar.ck")],
         "b.foo.ck", .unauthenticated(reason: "dkim=pass for d=a.bar.ck not aligned with From: b.foo.ck")),
        ("a From: that is a public suffix aligns with nothing",
         [ar("mx.isp.example; dkim=pass header.d=co.uk")],
         "co.uk", .unauthenticated(reason: "From: co.uk is a public suffix")),
        ("misaligned d=",
         [ar("mx.isp.example; dkim=pass header.d=bulk-sender.example")],
         "isp.example", .unauthenticated(reason: "dkim=pass for d=bulk-sender.example not aligned with From: isp.example")),
        ("misaligned SPF",
         [ar("mx.isp.example; spf=pass smtp.mailfrom=bounce@esp.example")],
         "isp.example", .unauthenticated(reason: "spf=pass for mailfrom=esp.example not aligned with From: isp.example")),
        ("failures are named, dkim first, each once",
         [ar("mx.isp.example; spf=softfail smtp.mailfrom=isp.example; dkim=fail header.d=isp.example; dkim=fail header.d=isp.example")],
         "isp.example", .unauthenticated(reason: "dkim=fail; spf=softfail")),
        ("a pass without the domain it vouches for",
         [ar("mx.isp.example; dkim=pass header.i=@isp.example; spf=pass smtp.mailfrom=\"\"")],
         "isp.example", .unauthenticated(reason: "dkim=pass without a d domain; spf=pass without a mailfrom domain")),
        ("an invalid d= is not echoed",
         [ar("mx.isp.example; dkim=pass header.d=isp.example<script>")],
         "isp.example", .unauthenticated(reason: "dkim=pass for an invalid d domain")),
        ("only dmarc and arc results",
         [ar("mx.isp.example; dmarc=pass header.from=isp.example; arc=pass")],
         "isp.example", .unauthenticated(reason: "no dkim or spf result from our authserv-id")),
        ("our MX wrote none",
         [ar("mx.isp.example; none")],
         "isp.example", .unauthenticated(reason: "no dkim or spf result from our authserv-id")),
        // RFC 8601 section 5: a field from anyone else is ignored, however good it looks.
        ("a forged pass with a foreign authserv-id",
         [ar("mx.google.com; dkim=pass header.i=@isp.example header.d=isp.example; spf=pass smtp.mailfrom=isp.example")],
         "isp.example", .unauthenticated(reason: "no Authentication-Results from our authserv-id")),
        ("a forged pass beside our real fail",
         [ar("mx.google.com; dkim=pass header.d=isp.example"), ar("mx.isp.example; dkim=fail header.d=isp.example")],
         "isp.example", .unauthenticated(reason: "dkim=fail")),
        ("an id that only starts like ours",
         [ar("mx.isp.example.evil.net; dkim=pass header.d=isp.example")],
         "isp.example", .unauthenticated(reason: "no Authentication-Results from our authserv-id")),
        ("Exchange's field has no authserv-id at all",
         [ar("spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=isp.example; dkim=pass (signature was verified) header.d=isp.example")],
         "isp.example", .unauthenticated(reason: "no Authentication-Results from our authserv-id")),
        ("A-R text in another field counts for nothing",
         [("X-Original-Authentication-Results", "mx.isp.example; dkim=pass header.d=isp.example"),
          ("Subject", "mx.isp.example; dkim=pass header.d=isp.example")],
         "isp.example", .unauthenticated(reason: "no Authentication-Results from our authserv-id")),
        ("any pass among several trusted fields suffices",
         [ar("mx.isp.example; dkim=fail header.d=isp.example"), ar("mx.isp.example; spf=pass smtp.mailfrom=isp.example")],
         "isp.example", .authenticated(organizationalDomain: "isp.example", method: .spf)),
        ("a quoted local-part cannot smuggle a statement",
         [ar("mx.isp.example; spf=pass smtp.mailfrom=\"x; dkim=pass header.d=isp.example\"@evil.example")],
         "isp.example", .unauthenticated(reason: "spf=pass for mailfrom=evil.example not aligned with From: isp.example")),
        ("no From: domain",
         [ar("mx.isp.example; dkim=pass header.d=isp.example")],
         nil, .unauthenticated(reason: "no From: domain")),
        ("a From: domain that is not a DNS name",
         [ar("mx.isp.example; dkim=pass header.d=isp.example")],
         "isp example", .unauthenticated(reason: "From: domain is not a DNS name")),
    ]

    @Test(arguments: cases)
    func decides(why: String, fields: [(name: String, value: String)], from: String?, expected: ReporterAuthentication) {
        #expect(Self.decide(fields, from: from) == expected, "\(why)")
    }

    @Test func noTrustedAuthservIDMeansNothingCounts() {
        let fields = [Self.ar("mx.isp.example; dkim=pass header.d=isp.example")]
        #expect(Self.decide(fields, trusted: []) == .unauthenticated(reason: "no authserv_id configured"))
        #expect(Self.decide(fields, trusted: ["mx2.isp.example", "mx.isp.example"])
            == .authenticated(organizationalDomain: "isp.example", method: .dkim))
    }

    /// Unicode case mapping would read the KELVIN SIGN as `k`; our MX would not strip that field as its own.
    @Test func anIDIsComparedInASCIIOnly() {
        let ours: Set<String> = ["mx.isp.uk"]
        #expect(Self.decide([Self.ar("\"MX.ISP.UK\"; dkim=pass header.d=isp.example")], trusted: ours)
            == .authenticated(organizationalDomain: "isp.example", method: .dkim))
        #expect(Self.decide([Self.ar("\"mx.isp.u\u{212A}\"; dkim=pass header.d=isp.example")], trusted: ours)
            == .unauthenticated(reason: "no Authentication-Results from our authserv-id"))
    }

    @Test func manyReasonsAreCut() {
        let value = "mx.isp.example; " + (1...6).map { "dkim=pass header.d=d\($0).example" }.joined(separator: "; ")
        guard case .unauthenticated(let reason) = Self.decide([Self.ar(value)]) else {
            Issue.record("misaligned signatures authenticated")
            return
        }
        #expect(reason.hasPrefix("dkim=pass for d=d1.example not aligned with From: isp.example; "))
        #expect(reason.hasSuffix("; and 2 more"))
    }

    @Test func aHugeHostileFieldIsIgnored() {
        let huge = "mx.isp.example; dkim=pass header.b=\(String(repeating: "A", count: 100_000)) header.d=isp.example"
        #expect(Self.decide([Self.ar(huge)]) == .unauthenticated(reason: "no Authentication-Results from our authserv-id"))
        let fields = Array(repeating: Self.ar("mx.isp.example; " + String(repeating: "(", count: 8000)), count: 200)
            + [Self.ar("mx.isp.example; dkim=pass header.d=isp.example")]
        #expect(Self.decide(fields) == .authenticated(organizationalDomain: "isp.example", method: .dkim))

        // Fields claiming our id that the MX did not strip: 500 of them, 64 distinct misaligned passes each.
        let forged = (0..<500).map { f in
            Self.ar("mx.isp.example; " + (0..<64).map { "dkim=pass header.d=f\(f)s\($0).example" }.joined(separator: "; "))
        }
        guard case .unauthenticated(let reason) = Self.decide(forged) else {
            Issue.record("misaligned passes authenticated")
            return
        }
        #expect(reason.hasSuffix("; and \(500 * 64 - ReporterAuthentication.maxReasons) more"))
    }
}
