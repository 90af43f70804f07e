import Foundation
import Testing
@testable import MailWardenCore

@Suite struct PublicSuffixListTests {
    /// Rules in the list's own format, taken from the real list (comments and trailing text included).
    static let text = """
        // ===BEGIN ICANN DOMAINS===
        com
        uk
        co.uk
        jp
        // kawasaki.jp : a wildcard with exceptions
        *.kawasaki.jp
        !city.kawasaki.jp
        *.ck
        !www.ck
        // ===BEGIN PRIVATE DOMAINS===
        github.io
        blogspot.com  trailing words are ignored
        \r
        """
    static let list = PublicSuffixList(text: text)

    static let cases: [(name: String, organizational: String?)] = [
        ("example.com", "example.com"),
        ("mail.isp.example.com", "example.com"),
        ("EXAMPLE.Com.", "example.com"),
        ("example.co.uk", "example.co.uk"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("co.uk", nil),
        ("uk", nil),
        ("foo.ck", nil),
        ("a.foo.ck", "a.foo.ck"),
        ("b.a.foo.ck", "a.foo.ck"),
        ("www.ck", "www.ck"),
        ("mail.www.ck", "www.ck"),
        ("city.kawasaki.jp", "city.kawasaki.jp"),
        ("ward.kawasaki.jp", nil),
        ("x.ward.kawasaki.jp", "x.ward.kawasaki.jp"),
        ("alice.github.io", "alice.github.io"),
        ("github.io", nil),
        ("me.blogspot.com", "me.blogspot.com"),
        // No rule at all: the implicit `*` makes the last label the suffix.
        ("isp.example", "isp.example"),
        ("mail.isp.example", "isp.example"),
        ("example", nil),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("", nil),
        (".", nil),
        ("a..example.com", nil),
        ("user@example.com", nil),
        ("exampl\u{212A}.com", nil),
        (String(repeating: "a", count: 64) + ".com", nil),
        (String(repeating: "a.", count: 127) + "com", nil),
    ]

    @Test(arguments: cases)
    func organizationalDomain(name: String, organizational: String?) {
        #expect(Self.list.organizationalDomain(of: name) == organizational)
    }

    /// Without the private section, a name handed out by a company (a GitHub page, a blog) belongs
    /// to that company's organisation: the desk counts reporters so.
    @Test func theICANNSectionAloneMakesPrivateRegistriesOneOrganisation() {
        let icann = PublicSuffixList(text: Self.text, icannOnly: true)
        #expect(icann.organizationalDomain(of: "alice.github.io") == "github.io")
        #expect(icann.organizationalDomain(of: "me.blogspot.com") == "blogspot.com")
        #expect(icann.organizationalDomain(of: "www.bbc.co.uk") == "bbc.co.uk")
    }

    /// A name can exist only under a top-level domain the list holds (every delegated one is in it);
    /// without a list nothing can be told, and IDNA top-level labels are in U-labels there.
    @Test func aNameUnderNoTopLevelDomainOfTheListCannotExist() {
        for name in ["shop.example.com", "WWW.BBC.CO.UK.", "a.foo.ck", "x.xn--p1ai"] {
            #expect(Self.list.knowsTopLevel(of: name), "\(name)")
        }
        for name in ["5321.mfrom", "hitmanpro.alert", "smtp.mailfrom", "not a name"] {
            #expect(!Self.list.knowsTopLevel(of: name), "\(name)")
        }
        #expect(PublicSuffixList.lastTwoLabels.knowsTopLevel(of: "5321.mfrom"))
    }

    @Test func theFallbackIsTheLastTwoLabels() {
        let fallback = PublicSuffixList.lastTwoLabels
        #expect(fallback.ruleCount == 0)
        #expect(fallback.organizationalDomain(of: "mail.isp.example.net") == "example.net")
        // Coarser than the list, never finer: two co.uk registrants merge into one reporter.
        #expect(fallback.organizationalDomain(of: "bbc.co.uk") == "co.uk")
    }

    /// Debian's publicsuffix package, which the Makefile installs.
    @Test func theInstalledListLoads() throws {
        let list = try PublicSuffixList.load(path: "/usr/share/publicsuffix/public_suffix_list.dat")
        #expect(list.ruleCount > 5000)
        #expect(list.organizationalDomain(of: "mail.example.co.uk") == "example.co.uk")
        #expect(list.organizationalDomain(of: "abuse.yahoo.co.jp") == "yahoo.co.jp")
        #expect(list.organizationalDomain(of: "www.ck") == "www.ck")
        #expect(list.organizationalDomain(of: "feedback.mail.example.ck") == "mail.example.ck")
    }

    @Test func loadFailuresSayWhatToDo() throws {
        #expect(throws: PublicSuffixList.LoadError.self) { try PublicSuffixList.load(path: "/nonexistent/psl.dat") }
        do {
            _ = try PublicSuffixList.load(path: "/nonexistent/psl.dat")
        } catch {
            #expect(error.description.contains("install the publicsuffix package or set public_suffix_list"))
        }
        // A file that is only comments, as a truncated download can be.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("psl-\(getpid()).dat").path
        try "// ===BEGIN ICANN DOMAINS===\n// ac : https://en.wikipedia.org/wiki/.ac\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try PublicSuffixList.load(path: path)
            Issue.record("a list without rules was accepted")
        } catch {
            #expect(error.description.contains("holds no rules"))
        }
    }
}
