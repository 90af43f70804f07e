// Every sample of the public report corpus (Fixtures/reports, with its README giving sources,
// licences and the expected extraction) parsed and checked against that README, transcribed
// below. Lists compare as sets: the README gives no order. `format` is ours, not the README's.
import Foundation
import MailWardenCore
import Testing
@testable import MailWardenReports

struct CorpusSample: CustomTestStringConvertible, Sendable {
    let file: String
    let format: ReportFormat
    let type: AbuseType?
    let reporter: String?
    let ips: [String]
    var domains: [String] = []
    var urls: [String] = []
    /// ISO 8601 with its offset, or a bare date when the README gives only the day; nil when the
    /// README gives no time.
    var time: String?
    /// Cases the report makes: 0 for no case, one per distinct IP for bulk reports, else 1.
    var cases = 1
    /// Per-IP types of a bulk report whose entries differ in type.
    var entryTypes: [String: AbuseType] = [:]

    var testDescription: String { file }
}

enum Corpus {
    static let directory: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/reports")

    static func load(_ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(file)))
    }

    static let samples: [CorpusSample] = [
        // ARF feedback-loop reports
        CorpusSample(file: "arf-rfc5965-b1-simple.eml", format: .arf, type: .spam, reporter: "abusedesk@example.com",
                     ips: ["192.0.2.1"], time: "2005-03-08T14:00:00-04:00"),
        CorpusSample(file: "arf-rfc5965-b2-complete.eml", format: .arf, type: .spam, reporter: "abusedesk@example.com",
                     ips: ["192.0.2.1"], domains: ["example.net"], urls: ["http://example.net/earn_money.html"],
                     time: "2005-03-08T14:00:00-04:00"),
        CorpusSample(file: "arf-fbl-aol.eml", format: .arf, type: .spam, reporter: "scomp@aol.net",
                     ips: ["10.17.18.1"], domains: ["server.domain5.tld"], time: "2016-01-19T14:32:40-05:00"),
        CorpusSample(file: "arf-fbl-yahoo.eml", format: .arf, type: .spam, reporter: "feedback@arf.mail.yahoo.com",
                     ips: ["10.17.18.25"], time: "2016-01-18T23:57:24Z"),
        CorpusSample(file: "arf-fbl-zoho-iso8859-subject.eml", format: .arf, type: .spam, reporter: "feedbackloop@fbl.zoho.com",
                     ips: ["10.17.18.28"], time: "2015-09-07T08:58:04-07:00"),
        // Reported-Domain comcast.net is the complainants' own domain (every Original-Rcpt-To is in it).
        CorpusSample(file: "arf-fbl-comcast-qp-html.eml", format: .arf, type: .spam, reporter: "feedbackloop@comcastfbl.senderscore.net",
                     ips: ["10.17.18.5"], time: "2016-01-19T12:42:56Z"),
        CorpusSample(file: "arf-fbl-smp-crlf.eml", format: .arf, type: .spam, reporter: "kijitora@example.co.jp",
                     ips: ["192.0.2.89"], domains: ["example.ed.jp"], time: "2009-04-29T00:00:00Z"),
        CorpusSample(file: "arf-returnpath-multi-domain.eml", format: .arf, type: .spam, reporter: "feedbackloop@feedback.example.com",
                     ips: ["192.0.2.1"], domains: ["example.com", "example.org"], time: "2015-04-29T23:34:45Z"),
        CorpusSample(file: "arf-spamtrap-abusix.eml", format: .arf, type: .spam, reporter: "no-reply@example.org",
                     ips: ["192.0.2.3"], time: "2016-04-29T23:34:45Z"),
        CorpusSample(file: "arf-outgoing-spamexperts-smtp-auth.eml", format: .arf, type: .spam, reporter: "admin@server1.test17.example.com",
                     ips: ["172.16.10.13"], time: "2015-08-04T08:51:18Z"),
        CorpusSample(file: "arf-opt-out-rfc822-headers.eml", format: .arf, type: .spam, reporter: "kijitora@example.com",
                     ips: ["192.0.2.89"]),
        CorpusSample(file: "jmrp-hotmail-complaint-rfc822.eml", format: .forwardedSpam, type: .spam, reporter: "staff@hotmail.com",
                     ips: ["192.0.2.222"]),
        // Auth-failure / DMARC failure reports
        CorpusSample(file: "authfail-rfc6591-dkim-bodyhash.eml", format: .authFailure, type: .phishing, reporter: "arf-daemon@example.com",
                     ips: ["192.0.2.1"], domains: ["example.net"], time: "2010-04-14T12:15:31-07:00"),
        CorpusSample(file: "authfail-dkim-bodyhash-phishing.eml", format: .authFailure, type: .phishing, reporter: "feedback@mail.receiver.example",
                     ips: ["192.0.2.1"], domains: ["a.sender.example", "www.sender.example"], urls: ["http://www.sender.example/"]),
        CorpusSample(file: "dmarc-failure-opendmarc-rfc822-headers.eml", format: .authFailure, type: .phishing,
                     reporter: "opendmarc@box.mydomain.name", ips: ["148.163.85.135"], domains: ["interpublication.org"], time: "2021-10-05"),
        CorpusSample(file: "dmarc-failure-lua-crlf.eml", format: .authFailure, type: .phishing, reporter: "dmarc-noreply@linkedin.com",
                     ips: ["10.10.10.10"], domains: ["example.com"], time: "2019-04-30T02:09:00Z"),
        CorpusSample(file: "dmarc-failure-netease-base64-report.eml", format: .authFailure, type: .phishing, reporter: "abuse@163.com",
                     ips: ["167.89.69.24"], domains: ["cardinal.com"], time: "2018-09-28T16:48:42+08:00"),
        CorpusSample(file: "dmarc-failure-exim-plaintext-no-arf.eml", format: .authFailure, type: .phishing,
                     reporter: "no-reply@node01.mailgate.example.net", ips: ["203.0.113.68"], domains: ["example.com"],
                     time: "2025-04-07T23:16:09+02:00"),
        // X-ARF and XARF
        CorpusSample(file: "xarf02-blocklistde-regbot-ipv4.eml", format: .xarf02, type: .networkAbuse, reporter: "abuse-team@blocklist.de",
                     ips: ["10.0.2.150"], time: "2014-01-31T07:19:02+01:00"),
        CorpusSample(file: "xarf02-blocklistde-regbot-ipv6.eml", format: .xarf02, type: .networkAbuse, reporter: "abuse-team@blocklist.de",
                     ips: ["fdf1:cb9d:f59e:19b0::33:4f"], time: "2014-01-31T07:19:02+01:00"),
        CorpusSample(file: "xarf01-cleanmx-harvesting-mangled-crlf.eml", format: .xarf01, type: .networkAbuse, reporter: "abuse@clean-mx.de",
                     ips: ["192.168.2.20"], time: "2015-06-07T21:09:11+02:00"),
        CorpusSample(file: "xarf-netcraft-malware-qp.eml", format: .xarf02, type: .malware, reporter: "takedown@netcraft.com",
                     ips: ["10.0.2.2"], domains: ["www.domain.tld"],
                     urls: ["http://www.domain.tld/guestbook.html", "http://www.domain.tld/contact.html", "http://www.domain.tld/scripts/ufo.js"],
                     time: "2015-07-23T01:58:17Z"),
        CorpusSample(file: "xarf-netcraft-phishing-dutch.eml", format: .xarf02, type: .phishing, reporter: "takedown@netcraft.com",
                     ips: ["10.2.2.15"], domains: ["johndoe.tld", "www.johndoe.tld"],
                     urls: ["http://www.johndoe.tld/modules/3xt/492fa6b3ede550428e9760cdefb33582/", "http://www.johndoe.tld/modules/3xt/"],
                     time: "2015-10-07T16:18:18Z"),
        CorpusSample(file: "xarf-v4-email-transport-example.eml", format: .xarfJSON, type: .networkAbuse, reporter: "abuse@example.com",
                     ips: ["192.0.2.100"], time: "2024-01-15T14:30:00Z"),
        CorpusSample(file: "xarf-v3-json-abusix-via-rt.eml", format: .xarfJSON, type: .spam, reporter: "reporting-support@abusix.com",
                     ips: ["10.42.9.42"], time: "2026-08-17T20:59:40Z"),
        // Other automated reporters
        CorpusSample(file: "spamcop-source-ip-forwarded.eml", format: .forwardedSpam, type: .spam, reporter: "999999999@reports.spamcop.net",
                     ips: ["10.0.0.1"], time: "2003-06-19T17:34:13-04:00"),
        CorpusSample(file: "cyscon-malware-url-qp.eml", format: .xarf02, type: .malware, reporter: "abuse-reports@cyscon.de",
                     ips: ["172.16.10.13"], domains: ["malware.cust.domain.tld"], urls: ["http://malware.cust.domain.tld/"],
                     time: "2015-09-23T04:04:18+02:00"),
        CorpusSample(file: "cleanmx-malware-url-pgp-iso8859.eml", format: .freeText, type: .malware, reporter: "abuse@clean-mx.de",
                     ips: ["172.16.10.13"], domains: ["victim.tld", "8f2e67c462.victim.tld"], urls: ["http://8f2e67c462.victim.tld/"],
                     time: "2015-09-14T07:49:54+02:00"),
        CorpusSample(file: "google-safebrowsing-xml.eml", format: .urlList, type: .malware, reporter: "noreply@google.com",
                     ips: ["10.0.2.23", "10.0.2.26"], domains: ["nacions.com"],
                     urls: ["http://nacions.com/", "http://nacions.com/wordpress/", "http://nacions.com/gallery2/",
                            "http://10.0.2.26:2222/CMD_FILE_MANAGER/domains/derada.com/public_html/wp-content/themes/econature/framework/class",
                            "http://10.0.2.26:2222/CMD_FILE_MANAGER/domains/zacater.com/public_html/wp-content/plugins/flexicache/_data"],
                     time: "2015-01-01", cases: 2),
        CorpusSample(file: "webiron-batched-botnet-attack.eml", format: .xarf02, type: .networkAbuse, reporter: "support@webiron.com",
                     ips: ["172.16.31.20"], time: "2015-05-15T17:03:11-07:00"),
        CorpusSample(file: "projecthoneypot-monitor-multi-ip.eml", format: .freeText, type: nil, reporter: "monitor-bounce@projecthoneypot.org",
                     ips: ["10.0.2.1", "10.0.2.2", "10.0.2.3", "10.0.2.4", "10.0.2.5"], cases: 5,
                     entryTypes: ["10.0.2.1": .networkAbuse, "10.0.2.2": .networkAbuse, "10.0.2.3": .networkAbuse,
                                  "10.0.2.4": .spam, "10.0.2.5": .spam]),
        // Bulk CSV
        CorpusSample(file: "shadowserver-dns-openresolver-csv-zip.eml", format: .csv, type: .networkAbuse, reporter: "autoreports@shadowserver.org",
                     ips: ["208.70.149.107", "204.245.210.223", "40.135.0.109", "76.74.186.178", "31.42.105.195"], cases: 5),
        CorpusSample(file: "shadowserver-scan-redis-csv-zip.eml", format: .csv, type: .networkAbuse, reporter: "autoreports@shadowserver.org",
                     ips: ["98.126.92.5", "153.120.101.170", "23.251.154.32", "104.203.27.243", "50.188.150.22", "54.167.182.69",
                           "46.4.13.206", "58.178.184.235", "173.208.211.213", "23.239.11.248", "54.174.181.36", "211.103.198.123",
                           "192.241.235.129"], cases: 13),
        CorpusSample(file: "abusehub-botnet-drone-csv-pgp.eml", format: .csv, type: .malware, reporter: "reports@reports.abusehub.nl",
                     ips: ["172.16.10.13"], time: "2015-03-02T00:45:59Z"),
        // Copyright
        CorpusSample(file: "dmca-irdeto-acns-pgp.eml", format: .acns, type: .copyright, reporter: "starz_media@copyright-compliance.com",
                     ips: ["10.0.2.100"], time: "2015-09-04T13:19:53Z"),
        CorpusSample(file: "dmca-ipechelon-acns-xml-attachment.eml", format: .acns, type: .copyright, reporter: "notices.p2p@ip-echelon.com",
                     ips: ["192.168.2.200"], time: "2015-11-13T20:35:03Z"),
        // No case
        CorpusSample(file: "negative-dsn-bounce-rfc3464.eml", format: .deliveryStatus, type: nil, reporter: nil, ips: [], cases: 0),
        CorpusSample(file: "negative-autoreply-away.eml", format: .autoReply, type: nil, reporter: nil, ips: [], cases: 0),
        CorpusSample(file: "negative-autoreply-outlook-cp1252.eml", format: .autoReply, type: nil, reporter: nil, ips: [], cases: 0),
    ]
}

@Suite struct CorpusTests {
    @Test func everySampleInTheFixturesHasAnExpectation() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Corpus.directory.path).filter { $0.hasSuffix(".eml") }
        #expect(Set(files) == Set(Corpus.samples.map(\.file)))
        #expect(files.count == 39)
    }

    @Test(arguments: Corpus.samples)
    func sampleParsesAsTheReadmeSays(_ sample: CorpusSample) throws {
        let report = ReportParser.parse(try Corpus.load(sample.file))
        let cases = report.status == .filed ? max(1, report.bulkEntries.count) : 0

        #expect(report.format == sample.format)
        #expect(cases == sample.cases)
        if sample.cases == 0 {
            #expect(report.status == .ignored)
            #expect(report.reason != nil)
            return
        }
        #expect(report.status == .filed, "\(report.reason ?? "")")
        if sample.entryTypes.isEmpty {
            #expect(report.type == sample.type)
        } else {
            #expect(Dictionary(uniqueKeysWithValues: report.bulkEntries.map { ($0.source, $0.type) }) == sample.entryTypes)
        }
        #expect(report.reporter == sample.reporter)
        #expect(Set(report.sourceIPs) == Set(sample.ips))
        #expect(Set(report.domains) == Set(sample.domains))
        #expect(Set(report.urls) == Set(sample.urls))
        if let time = sample.time {
            let at = try #require(report.receivedAt)
            if time.count == 10 {
                #expect(RFC3339Day.of(at) == time)
            } else {
                let expected = try #require(ISO8601DateFormatter().date(from: time))
                #expect(at == Int64(expected.timeIntervalSince1970))
            }
        }
        // No public sample carries our identity header.
        #expect(report.originalHeader("X-Auth-User") == nil)
    }
}

/// The UTC day of a Unix time, as `YYYY-MM-DD`.
enum RFC3339Day {
    static func of(_ t: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }
}

/// Real bounces, automatic replies and read receipts of the major MTAs, appliances and bounce
/// parsers' test sets (Fixtures/bounces/<source>): every one is ignored, none becomes a case or a
/// complaint, whatever it carries of the original. Bounces a person forwarded go to triage.
@Suite struct BounceFixtureTests {
    static let directory: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/bounces")
    static let forwardedDirectory = "forwarded-by-a-person"
    /// Paths below `directory`, of every `.eml` at any depth.
    static let files: [String] = (FileManager.default.subpaths(atPath: directory.path) ?? [])
        .filter { $0.hasSuffix(".eml") }.sorted()
    static let machineWritten = files.filter { !$0.contains(forwardedDirectory) }

    @Test func thereAreSamples() {
        #expect(Self.machineWritten.count >= 50)
        #expect(Self.files.count > Self.machineWritten.count)
    }

    @Test(arguments: machineWritten) func everyBounceIsIgnored(file: String) throws {
        let report = try Self.parse(file)
        #expect(report.status == .ignored, "\(file): \(report.status) \(report.format) \(report.reason ?? "")")
        #expect([.deliveryStatus, .autoReply, .sesNotification].contains(report.format), "\(file): \(report.format)")
    }

    /// `Fwd: Returned mail` from a customer: maybe backscatter from us, maybe a question. A person
    /// reads it; it files no case on the addresses the bounce quotes.
    @Test(arguments: files.filter { $0.contains(forwardedDirectory) }) func aForwardedBounceWaitsForAPerson(file: String) throws {
        let report = try Self.parse(file)
        #expect(report.status == .triage && report.reason?.contains("forwarded") == true, "\(file): \(report.status) \(report.reason ?? "")")
    }

    static func parse(_ file: String) throws -> AbuseReport {
        ReportParser.parse(Array(try Data(contentsOf: directory.appendingPathComponent(file))))
    }
}
