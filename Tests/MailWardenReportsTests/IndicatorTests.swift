// Indicators in text (addresses, URLs, e-mail addresses, domains, defanged forms), dates, and
// the keyword classifier.
import Foundation
import MailWardenCore
import Testing
@testable import MailWardenReports

@Suite struct IndicatorTests {
    static let canonicalIPv6: [(String, String)] = [
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("fdf1:cb9d:f59e:19b0:0:0:33:4f", "fdf1:cb9d:f59e:19b0::33:4f"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("FE80::ABCD", "fe80::abcd"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:DB8::FF00:42:8329", "2001:db8::ff00:42:8329"),
    ]

    @Test(arguments: canonicalIPv6)
    func ipv6IsWrittenTheRFC5952Way(_ pair: (String, String)) throws {
        #expect(try #require(IPAddress(pair.0)).description == pair.1)
    }

    struct TextCase: Sendable, CustomTestStringConvertible {
        let text: String
        var ips: [String] = []
        var urls: [String] = []
        var emails: [String] = []
        /// Bare domain names, outside URLs and e-mail addresses.
        var domains: [String] = []
        var testDescription: String { String(text.prefix(40)) }
    }

    static let texts: [TextCase] = [
        TextCase(text: "Attack from 192.0.2[.]10 and 2001:db8::beef, see hxxp://evil[.]example/a.php?x=1.",
                 ips: ["192.0.2.10", "2001:db8::beef"], urls: ["http://evil.example/a.php?x=1"]),
        TextCase(text: "Mail spammer[at]bad[.]example or visit hXXps://phish.example[.]com/login (now)",
                 urls: ["https://phish.example.com/login"], emails: ["spammer@bad.example"]),
        TextCase(text: "From 192[.]0[.]2[.]33 via 198.51.100(.)4 and mal.example{.}org",
                 ips: ["192.0.2.33", "198.51.100.4"], domains: ["mal.example.org"]),
        // Not addresses, not domains: versions, clocks, networks, file names, a cut-off address.
        TextCase(text: "Version 1.2.3.4.5 at 12:30:45, net 192.0.2.0/24, report.txt, mod_rewrite, 999.1.1.1, IP 192.0.2. and e.g. this"),
        TextCase(text: "[IPv6:::ffff:203.0.113.68] then [2001:db8::1]:25, fe80::1%eth0 and ::1 and 127.0.0.1",
                 ips: ["203.0.113.68", "2001:db8::1"]),
        TextCase(text: "Server 198.51.100.7:8080 serves http://[2001:db8::2]/x and <http://host.example/p>",
                 ips: ["198.51.100.7"], urls: ["http://[2001:db8::2]/x", "http://host.example/p"]),
        // An address in a link's query string is not reported.
        TextCase(text: "Logs: https://reports.example/view?id=1&amp;ip=192.0.2.5 (entity from HTML)",
                 urls: ["https://reports.example/view?id=1&ip=192.0.2.5"]),
        TextCase(text: "Reply to Bob.Smith+x@Mail.Example.CO.UK.", emails: ["bob.smith+x@mail.example.co.uk"]),
        // A URL written without its scheme is a URL; a name with a bare slash after it is a name.
        TextCase(text: "Video links:\nteaseum.example/photos/clip-1\nshop.example/ and /var/log/mail.example",
                 urls: ["http://teaseum.example/photos/clip-1"], domains: ["shop.example"]),
    ]

    @Test(arguments: texts)
    func indicatorsAreFoundInText(_ c: TextCase) {
        let found = IndicatorScanner.scan(c.text)
        #expect(IndicatorScanner.ips(in: c.text).map(\.description) == c.ips)
        #expect(found.urls.items == c.urls)
        #expect(found.emails.items == c.emails)
        #expect(found.domains.items == c.domains)
    }

    @Test func registrableDomainsKnowCountrySecondLevels() {
        #expect(Hostname.registrable("mail.example.co.uk") == "example.co.uk")
        #expect(Hostname.registrable("reports.spamcop.net") == "spamcop.net")
        #expect(Hostname.registrable("example.com") == "example.com")
        #expect(Hostname.registrable("a.b.example.de") == "example.de")
    }

    static let dates: [(String, String)] = [
        ("Thu, 8 Mar 2005 14:00:00 EDT", "2005-03-08T18:00:00Z"),
        ("Tue, 19 Jan 2016 14:32:40 -0500 (EST)", "2016-01-19T19:32:40Z"),
        ("19 Jun 2003 17:34:13 -0400 (ES", "2003-06-19T21:34:13Z"),
        ("Tue, 11 Nov 03 17:07:06 GMT", "2003-11-11T17:07:06Z"),
        ("Mon, 18 Jan 2016 23:57:24 UTC", "2016-01-18T23:57:24Z"),
        ("2015-07-23T01:58:17+00:00", "2015-07-23T01:58:17Z"),
        ("2015-09-04T13:19:53.000Z", "2015-09-04T13:19:53Z"),
        ("2015-09-23 04:04:18 +0200", "2015-09-23T02:04:18Z"),
        ("'2015-05-15 17:03:11-07:00'", "2015-05-16T00:03:11Z"),
        ("2015-09-14 07:49:54 CEST", "2015-09-14T05:49:54Z"),
        ("2013-10-10 00:05:10", "2013-10-10T00:05:10Z"),
        ("2015-01-01", "2015-01-01T00:00:00Z"),
        ("Tue, 19 Jan 2016 14:32:34", "2016-01-19T14:32:34Z"),
        ("Sat, 16 Mar 2013 23:34:45 +0530", "2013-03-16T18:04:45Z"),
    ]

    @Test(arguments: dates)
    func datesParse(_ pair: (String, String)) throws {
        let expected = try #require(ISO8601DateFormatter().date(from: pair.1))
        #expect(ReportDate.parse(pair.0) == Int64(expected.timeIntervalSince1970))
    }

    @Test func notDates() {
        for text in ["(invalid)", "21: 09:11 +0200", "2015-13-01", "32 Jan 2015 10:00", "Version 2.01.0619", ""] {
            #expect(ReportDate.parse(text) == nil, "\(text)")
        }
        #expect(ReportDate.first(in: "no date here\nbut on Thu, 9 Apr 2006 23:34:45 JST this") == 1_144_593_285)
    }

    static let keywordTexts: [(String, AbuseType?)] = [
        ("We received unsolicited bulk email (spam) from your customer.", .spam),
        ("Sie versenden unerwünschte Werbung an unsere Kunden.", .spam),
        ("A phishing site imitating our bank is hosted on your network.", .phishing),
        ("Auf Ihrem Server liegt eine Phishing-Seite, die Zugangsdaten abgreift.", .phishing),
        ("Your host serves malware; the trojan downloader is still online.", .malware),
        ("Der Server ist mit Schadsoftware infiziert und Teil eines Botnetzes.", .malware),
        ("SSH brute force attempts and port scans from your IP.", .networkAbuse),
        ("Von Ihrer IP gehen Angriffe auf unsere Server aus (Portscan).", .networkAbuse),
        ("Notice of copyright infringement under the DMCA.", .copyright),
        ("Hinweis auf eine Urheberrechtsverletzung durch Filesharing.", .copyright),
        // A brand owner's notice that names no other abuse is a rights holder's; a phishing page
        // that wears the brand is still phishing.
        ("Notice of Trademark Abuse: the domain at 192.0.2.7 carries the registered mark of our client.", .copyright),
        ("This portal misuses our brand (brand misuse), please remove it.", .copyright),
        ("A phishing page steals our customers' passwords and copies our trademark.", .phishing),
        // A company's disclaimer below the complaint does not vote.
        ("Your server 198.51.100.48 is attacking our network on port 5060.\n\nThe recipient should check this email for the "
            + "presence of viruses. The company accepts no liability for any damage caused by any virus transmitted by this email.", .networkAbuse),
        ("The shop at 198.51.100.9 takes payment for goods it never sends: fraud.\n\nNo representation is made that this email is "
            + "free of viruses. Virus scanning is recommended and is the responsibility of the recipient.", .phishing),
        ("The account was hacked: a compromised account sends from your platform.", .accountMisuse),
        ("Het is een frauduleuze phishing site.", .phishing),
        ("Hello, how are you? Kind regards.", nil),
        // A keyword inside another word does not count.
        ("The transcript was rescanned by the dispatcher.", nil),
    ]

    @Test(arguments: keywordTexts)
    func keywordsPickTheType(_ pair: (String, AbuseType?)) {
        #expect(AbuseType(keywordsIn: pair.0) == pair.1)
    }

    @Test func explicitNamesMapToTypes() {
        #expect(AbuseType(feedbackType: "abuse") == .spam)
        #expect(AbuseType(feedbackType: "fraud") == .phishing)
        #expect(AbuseType(feedbackType: "virus") == .malware)
        #expect(AbuseType(feedbackType: "auth-failure") == .phishing)
        #expect(AbuseType(feedbackType: "opt-out") == .spam)
        #expect(AbuseType(feedbackType: "other") == nil)
        #expect(AbuseType(feedbackType: "not-spam") == nil)
        #expect(AbuseType(named: "login-attack") == .networkAbuse)
        #expect(AbuseType(named: "malware-attack") == .malware)
        #expect(AbuseType(named: "port_scan") == .networkAbuse)
        #expect(AbuseType(named: "Shadowserver Botnet Drone") == .malware)
        #expect(AbuseType(named: "abuse") == nil)
        #expect(AbuseType(named: "info") == nil)
    }

    @Test func labelsTellSourcesFromTargets() {
        let text = """
            Targeted Range: 172.16.30.0/24
            Destination IP: 203.0.113.100
            Offending IP:  198.51.100.66
            """
        #expect(LabelledLines.offendingIPs(in: text).map(\.description) == ["198.51.100.66"])
        let unlabelled = "Attacks from 198.51.100.1 on\nTarget: 203.0.113.9"
        #expect(LabelledLines.offendingIPs(in: unlabelled).map(\.description) == ["198.51.100.1"])
        #expect(LabelledLines.offendingNetworks(LabelledLines.parse(text + "\nSource range: 198.51.100.128/25")).map(\.description)
            == ["198.51.100.128/25"])
    }

    /// A label alone on its line labels the next line (a web form's HTML); a short line of prose or
    /// an unknown heading labels nothing.
    @Test func aLabelAboveItsValueLabelsIt() {
        let text = """
            Source IP Address
            198.51.100.9
            Destination
            203.0.113.4
            Summary
            203.0.113.5
            we saw scans from
            203.0.113.6
            """
        #expect(LabelledLines.parse(text).map { "\($0.label)=\($0.value)" } == ["source ip address=198.51.100.9", "destination=203.0.113.4"])
        #expect(LabelledLines.offendingIPs(in: text).map(\.description) == ["198.51.100.9"])
    }

    /// Networks are found apart from addresses, host bits cleared; those naming no one (broader
    /// than /16 or /32, loopback) are left out; a /32 is an address, not a network.
    @Test func networksAreFoundApartFromAddresses() {
        let text = "net 192.0.2.77/24, 2001:db8:1::/48, host 198.51.100.61/32, private 172.16.30.0/24, 8.0.0.0/8, 127.0.0.0/16, 192.0.2.1/1234"
        #expect(IndicatorScanner.networks(in: text).map(\.description) == ["192.0.2.0/24", "2001:db8:1::/48", "172.16.30.0/24"])
        #expect(IndicatorScanner.ips(in: text).map(\.description) == ["198.51.100.61"])
    }
}
