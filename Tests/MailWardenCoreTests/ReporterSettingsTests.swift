import Testing
@testable import MailWardenCore

/// The settings of authenticated complaints: authserv_id, public_suffix_list, complaint_trusted_reporters.
@Suite struct ReporterSettingsTests {
    @Test func defaultsTrustNoAuthservID() throws {
        let c = try Config.parse(text: "", file: "t.conf")
        #expect(c.authservIDs.isEmpty)
        #expect(c.publicSuffixListPath == "/usr/share/publicsuffix/public_suffix_list.dat")
        #expect(c.complaintTrustedReporters.isEmpty)
    }

    @Test func listsAreLowercasedAndRepeatable() throws {
        let c = try Config.parse(text: """
            authserv_id = MX.Example.NET, mx2.example.net
            authserv_id = mx3.example.net
            public_suffix_list = /etc/mailwarden/psl.dat
            complaint_trusted_reporters = Yahoo.com. aol.com
            """, file: "t.conf")
        #expect(c.authservIDs == ["mx.example.net", "mx2.example.net", "mx3.example.net"])
        #expect(c.publicSuffixListPath == "/etc/mailwarden/psl.dat")
        #expect(c.complaintTrustedReporters == ["yahoo.com", "aol.com"])
    }

    static let badLines: [(String, String)] = [
        ("authserv_id = mx.example.net; spf=pass", "authserv_id: `mx.example.net;` is not an authserv-id"),
        ("authserv_id = \"mx example\"", "authserv_id: `\"mx` is not an authserv-id"),
        ("public_suffix_list = psl.dat", "public_suffix_list must be an absolute path"),
        ("complaint_trusted_reporters = abuse@yahoo.com", "`abuse@yahoo.com` is not a domain name"),
    ]

    @Test(arguments: badLines)
    func aBadLineNamesFileLineAndProblem(line: String, message: String) {
        do {
            _ = try Config.parse(text: "# first line\n\(line)\n", file: "/etc/mailwarden/mailwarden.conf")
            Issue.record("`\(line)` was accepted")
        } catch {
            let text = error.description
            #expect(text.hasPrefix("/etc/mailwarden/mailwarden.conf:2: "), "\(text)")
            #expect(text.contains(message), "\(text)")
        }
    }
}
