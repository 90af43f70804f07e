import Testing
@testable import MailWardenCore

@Suite struct AbuseMailboxPatternTests {
    static let cases: [(pattern: String, address: String, matches: Bool)] = [
        ("abuse@*", "abuse@isp.example", true),
        ("*@abuse.example.net", "x@abuse.example.net", true),
        ("*@abuse.example.net", "x@abuse.example.net.evil", false),
        ("a*b*c", "abc", true),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyycd", false),
        ("*", "", true),
        ("a*", "", false),
        ("**@*.*", "abuse@isp.example", true),
        ("abuse@isp.example", "abuse@isp.example", true),
        ("abuse@isp.example", "abuse@isp.example2", false),
        // Many stars against a long address that almost matches: the answer, not a hang.
        (String(repeating: "*a", count: 40) + "*b", String(repeating: "a", count: 320), false),
        (String(repeating: "*a", count: 40) + "*b", String(repeating: "a", count: 319) + "b", true),
    ]

    @Test(arguments: cases)
    func patternsMatchWholeAddresses(_ c: (pattern: String, address: String, matches: Bool)) {
        #expect(AbuseMailboxes.glob(Array(c.pattern.utf8), Array(c.address.utf8)) == c.matches)
    }
}
