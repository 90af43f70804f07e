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

    /// A recipient is matched without its brackets, in lower case, and not at all past 320 bytes,
    /// counted once lowercased (U+212A KELVIN SIGN is three bytes, its `k` one).
    @Test func aRecipientIsMatchedBareAndLowercasedUpTo320Bytes() {
        let mailboxes = AbuseMailboxes(["abuse@*"])
        #expect(mailboxes.contains(" <ABUSE@ISP.Example> "))
        #expect(!mailboxes.contains("<abuse@isp.example"))
        #expect(mailboxes.contains("abuse@" + String(repeating: "k", count: 314)))
        #expect(!mailboxes.contains("abuse@" + String(repeating: "k", count: 315)))
        #expect(mailboxes.contains("abuse@" + String(repeating: "\u{212A}", count: 105)))
    }
}
