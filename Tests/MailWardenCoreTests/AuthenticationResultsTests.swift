import Testing
@testable import MailWardenCore

@Suite struct AuthenticationResultsTests {
    /// A result as one line: `method=result [reason="..."] ptype.property=value ...`.
    static func line(_ r: AuthenticationResults.MethodResult) -> String {
        ([r.method + "=" + r.result] + (r.reason.map { ["reason=\"\($0)\""] } ?? [])
            + r.properties.map { "\($0.ptype).\($0.property)=\($0.value)" }).joined(separator: " ")
    }

    static let fields: [(value: String, id: String, results: [String])] = [
        // OpenDKIM: a comment holding `;`, folded lines, dkim-atps.
        ("mx.isp.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com "
            + "header.a=rsa-sha256 header.s=mail header.b=AbCdEfGh;\r\n\tdkim-atps=neutral",
         "mx.isp.example",
         ["dkim=pass header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=mail header.b=AbCdEfGh",
          "dkim-atps=neutral"]),
        // OpenDMARC.
        ("mx.isp.example; dmarc=pass (p=reject dis=none) header.from=example.com",
         "mx.isp.example", ["dmarc=pass header.from=example.com"]),
        // rspamd: quoted header.b, SPF with a long comment, arc=none.
        ("mx.isp.example;\n\tdkim=pass header.d=example.com header.s=dkim header.b=\"Xy/9+ab=\";\n\tspf=pass "
            + "(mx.isp.example: domain of bounce@example.com designates 192.0.2.1 as permitted sender) "
            + "smtp.mailfrom=bounce@example.com;\n\tdmarc=pass (policy=reject) header.from=example.com;\n\tarc=none",
         "mx.isp.example",
         ["dkim=pass header.d=example.com header.s=dkim header.b=Xy/9+ab=", "spf=pass smtp.mailfrom=bounce@example.com",
          "dmarc=pass header.from=example.com", "arc=none"]),
        // Gmail: no header.d, base64 with + and / unquoted.
        ("mx.google.com;\n       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab+Cd/Ef;\n       spf=pass "
            + "(google.com: domain of bounce@example.com designates 209.85.220.41 as permitted sender) "
            + "smtp.mailfrom=bounce@example.com;\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com",
         "mx.google.com",
         ["dkim=pass header.i=@example.com header.s=20230601 header.b=Ab+Cd/Ef", "spf=pass smtp.mailfrom=bounce@example.com",
          "dmarc=pass header.from=example.com"]),
        // Exchange's bare `action=none` and `reason=100` next to the RFC's pairs.
        ("mx.isp.example; dmarc=pass action=none header.from=example.com;compauth=pass reason=100",
         "mx.isp.example", ["dmarc=pass header.from=example.com", "compauth=pass reason=\"100\""]),
        // RFC 8601 appendix B shapes: none, a version, method versions, smtp.auth, helo.
        ("example.org; none", "example.org", []),
        ("example.com 1; spf=pass smtp.mailfrom=example.net", "example.com", ["spf=pass smtp.mailfrom=example.net"]),
        ("example.com; dkim/1=pass header.d=example.net; spf = pass smtp.helo=mx.example.net",
         "example.com", ["dkim=pass header.d=example.net", "spf=pass smtp.helo=mx.example.net"]),
        ("example.com;\n auth=pass (cram-md5) smtp.auth=sender@example.net;\n spf=pass smtp.mailfrom=example.net",
         "example.com", ["auth=pass smtp.auth=sender@example.net", "spf=pass smtp.mailfrom=example.net"]),
        // Comments and white space wherever CFWS may go, nested comments with quoted pairs.
        ("(c1) mx.example (c2 (nested \\) still)) ; (c4) dkim (c5) = (c6) pass (c7) header (c8) . (c9) d (c10) = (c11) example.com (c12)",
         "mx.example", ["dkim=pass header.d=example.com"]),
        // Case: names and ids lowercased, values as written.
        ("MX.Example.NET; DKIM=Pass Header.D=Example.COM Reason=\"Good Sig\"",
         "mx.example.net", ["dkim=pass reason=\"Good Sig\" header.d=Example.COM"]),
        // Quoted strings: a `;` inside stays inside; a quoted authserv-id; a quoted local-part.
        ("\"mx.example\"; dkim=pass reason=\"good; signature\" header.d=\"example.com\"",
         "mx.example", ["dkim=pass reason=\"good; signature\" header.d=example.com"]),
        ("mx.example; spf=pass smtp.mailfrom=\"john; dkim=pass header.d=bank.example\"@evil.example",
         "mx.example", ["spf=pass smtp.mailfrom=john; dkim=pass header.d=bank.example@evil.example"]),
        // A statement that does not parse is dropped, the others kept; empty statements are skipped.
        ("mx.example; dkim=pass header.d; spf=pass smtp.mailfrom=a@example.com", "mx.example",
         ["spf=pass smtp.mailfrom=a@example.com"]),
        ("mx.example; dkim pass; ;; spf=fail (x) smtp.mailfrom=example.com;", "mx.example",
         ["spf=fail smtp.mailfrom=example.com"]),
        ("mx.example; dkim=pass header.d=ex\u{1}ample.com; spf=none", "mx.example", ["spf=none"]),
        // An unclosed quote swallows the rest: nothing after it can be believed.
        ("mx.example; dkim=pass header.d=\"example.com; spf=pass smtp.mailfrom=x@example.com", "mx.example", []),
        ("mx.example; dkim=pass (unclosed comment; spf=pass smtp.mailfrom=x@example.com", "mx.example", ["dkim=pass"]),
    ]

    @Test(arguments: fields)
    func parsesRealFieldShapes(value: String, id: String, results: [String]) throws {
        let parsed = try #require(AuthenticationResults(value))
        #expect(parsed.authservID == id)
        #expect(parsed.results.map(Self.line) == results)
    }

    static let refused: [(String, String)] = [
        ("", "empty"),
        ("   \t", "white space only"),
        ("(only a comment)", "a comment only"),
        (";dkim=pass header.d=example.com", "no authserv-id"),
        ("mx.example", "no statements and no none"),
        ("\"mx.example; dkim=pass", "an unclosed quoted authserv-id"),
        // Exchange Online writes its fields without an authserv-id.
        ("spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=example.com; dkim=pass (signature was verified) "
            + "header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass reason=100",
         "an Exchange field without an authserv-id"),
        ("mx.example; " + String(repeating: "dkim=pass header.d=example.com; ", count: 300), "over 8 KiB"),
        ("mx.example; " + String(repeating: "dkim=fail;", count: AuthenticationResults.maxResults + 1), "too many results"),
    ]

    @Test(arguments: refused)
    func refusesWhatIsNotOneOfOurFields(value: String, why: String) {
        #expect(AuthenticationResults(value) == nil, "\(why)")
    }

    @Test func aLongFieldIsRefusedWholeNotCut() {
        // Cut at 8 KiB, this would read header.d=isp.example.
        let padding = String(repeating: "x", count: AuthenticationResults.maxValueBytes - 40)
        let value = "mx.example; dkim=pass header.b=\(padding) header.d=isp.example.evil.net"
        #expect(value.utf8.count > AuthenticationResults.maxValueBytes)
        #expect(AuthenticationResults(value) == nil)
        #expect(AuthenticationResults(String(repeating: "a", count: AuthenticationResults.maxValueBytes - 20) + "; spf=pass") != nil)
    }

    @Test func hostileValuesNeverTrap() {
        let hostile: [(value: String, results: [String])] = [
            ("mx.example; " + String(repeating: "(", count: 8000), []),
            ("mx.example; dkim=pass " + String(repeating: "(\\", count: 4000), ["dkim=pass"]),
            ("mx.example; " + String(repeating: "\"", count: 8000), []),
            ("mx.example;" + String(repeating: ";", count: 8000), []),
            ("mx.example; dkim=pass " + String(repeating: "a.", count: 4000), []),
            ("mx.example; dkim=pass header.d=\"\\", []),
            ("mx.example; dkim=pass header.d=\"a\"@", ["dkim=pass header.d=a@"]),
            ("mx.example; dkim=\u{0}pass\u{7F}; spf=\u{FFFD}", []),
        ]
        for (value, results) in hostile {
            #expect(AuthenticationResults(value)?.results.map(Self.line) == results)
        }

        // Random fields from the grammar's own alphabet. A fixed-seed LCG (Knuth's MMIX constants),
        // so a failure repeats; its high bits are the random ones.
        var state: UInt64 = 8601
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let alphabet = Array(" \t\r\n;=.()\"\\@/abdkimpsfx0123456789é\u{0}")
        for _ in 0..<3000 {
            let length = next(200)
            let value = "mx.example;" + String((0..<length).map { _ in alphabet[next(alphabet.count)] })
            if let parsed = AuthenticationResults(value) {
                #expect(parsed.authservID == "mx.example")
                #expect(parsed.results.count <= AuthenticationResults.maxResults)
            }
        }
    }
}
