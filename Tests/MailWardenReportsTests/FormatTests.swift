// Each report format and each rule that decides a report's status, on small hand-made messages.
import Foundation
import MailWardenCore
import Testing
@testable import MailWardenReports

@Suite struct FeedbackReportTests {
    static func arf(feedbackType: String, fields: String = "", text: String = "An abuse report.", original: String, autoSubmitted: String? = nil) -> String {
        """
        From: fbl@provider.example
        To: abuse@isp.example
        Subject: Abuse report
        \(autoSubmitted.map { "Auto-Submitted: \($0)\n" } ?? "")Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

        --arf
        Content-Type: text/plain

        \(text)
        --arf
        Content-Type: message/feedback-report

        Feedback-Type: \(feedbackType)
        User-Agent: Test/1.0
        Version: 1
        \(fields)
        --arf
        Content-Type: message/rfc822

        \(original)
        --arf--
        """
    }

    static let original = """
        Received: from bulk.customer.example (bulk.customer.example [198.51.100.25]) by mx.provider.example
        From: news@customer.example
        Message-ID: <n1@customer.example>
        X-MailWarden-ID: mw-abc123
        X-Auth-User: alice@customer.example
        Subject: offers

        Visit http://offers.customer.example/
        """

    @Test func sourceIPComesFromTheOriginalsFirstHopWhenTheReportGivesNone() {
        let report = TestMail.parse(Self.arf(feedbackType: "abuse", original: Self.original))
        #expect(report.status == .filed)
        #expect(report.format == .arf)
        #expect(report.type == .spam)
        #expect(report.sourceIPs == ["198.51.100.25"])
        #expect(report.reporter == "fbl@provider.example")
        #expect(report.originalHeader("X-MailWarden-ID") == "mw-abc123")
        #expect(report.originalHeader("message-id") == "<n1@customer.example>")
        #expect(report.originalHeader("X-Auth-User") == "alice@customer.example")
        #expect(report.original?.headers.count == 6)
        let originalText = String(decoding: report.original?.bytes ?? [], as: UTF8.self)
        #expect(originalText.hasPrefix("Received: from bulk"))
        // Links in the attached original are evidence, not reported.
        #expect(report.urls.isEmpty)
        #expect(report.evidence.map(\.contentType) == ["message/rfc822"])
    }

    /// A complaint from someone@mailbox.example saying `words`, with `attached` as its attached message.
    static func forward(_ words: String, attaching attached: String) -> AbuseReport {
        TestMail.parse("""
            From: Reporter <someone@mailbox.example>
            To: abuse@isp.example
            Subject: Fwd: offer
            Content-Type: multipart/mixed; boundary="outer"

            --outer
            Content-Type: text/plain

            \(words)
            --outer
            Content-Type: message/rfc822

            \(attached)
            --outer--
            """)
    }

    /// Forwarded spam: the reporter's own inbound relay (its host named in the reporter's domain)
    /// handed it to the reporter's mail store and is skipped; the host before it sent the spam.
    /// A complaint naming only the sender's domain ("more spam from sender.example") is still about
    /// the sending host.
    @Test func theSourceIsFoundPastTheReportersOwnRelay() {
        func forward(_ words: String) -> AbuseReport {
            Self.forward(words, attaching: """
                Received: from mx3.mailbox.example (mx3.mailbox.example [198.51.100.50]) by store7.mailstore.example; Mon, 17 Jan 2022 12:44:49 +0000
                Received: from sender.example (server.sender.example [198.51.100.51]) by mx3.mailbox.example; Mon, 17 Jan 2022 12:44:48 +0000
                From: Deals <deals@sender.example>
                Subject: offer

                Buy now.
                """)
        }
        let plain = forward("Spam, please stop it.")
        #expect(plain.status == .filed && plain.sourceIPs == ["198.51.100.51"], "\(plain.status) \(plain.sourceIPs)")
        let namingTheSender = forward("More spam from sender.example, please stop it.")
        #expect(namingTheSender.sourceIPs == ["198.51.100.51"], "\(namingTheSender.sourceIPs)")
        let namingASite = forward("Spam advertising shop.example, please take the site down.")
        #expect(namingASite.sourceIPs.isEmpty && namingASite.domains == ["shop.example"], "\(namingASite.sourceIPs) \(namingASite.domains)")
    }

    /// A reporter attaching its own earlier forward (to SpamCop, to another desk) wraps the original
    /// once more: the original is the message inside the reporter's, both for the source and for
    /// the evidence. An attached spam that only forges the reporter's address is still the original.
    @Test func theOriginalInsideTheReportersOwnForwardIsTheOneReported() {
        let report = Self.forward("Please stop this spammer, see my report below.", attaching: """
            Received: from [192.168.8.2] (dialup.mobile.example [198.51.100.80]) by mail.mailbox.example with ESMTPSA
            From: Reporter <someone@mailbox.example>
            To: submit.x@spam.spamcop.example
            Subject: spam report
            Content-Type: multipart/mixed; boundary="inner"

            --inner
            Content-Type: text/plain

            Spam below.
            --inner
            Content-Type: message/rfc822

            Received: from spam.sender.example (spam.sender.example [203.0.113.45]) by mail.mailbox.example
            From: Deals <deals@sender.example>
            Subject: cheap offer

            Buy now.
            --inner--
            """)
        #expect(report.sourceIPs == ["203.0.113.45"], "\(report.sourceIPs)")
        #expect(report.originalHeader("Subject") == "cheap offer")
        let forged = Self.forward("Spam pretending to come from us.", attaching: """
            Received: from spam.sender.example (spam.sender.example [203.0.113.46]) by mail.mailbox.example
            From: Billing <billing@mailbox.example>
            Subject: your invoice

            Pay now.
            """)
        #expect(forged.sourceIPs == ["203.0.113.46"], "\(forged.sourceIPs)")
        #expect(forged.originalHeader("Subject") == "your invoice")
    }

    /// Outlook forwards a spam with its header block quoted below a rule of underscores, and the
    /// spam attached: the quoted block is the spam's, not the complaint's words, so the source is
    /// the original's sender, not the sites the spam links.
    @Test func anOutlookForwardBlockIsTheOriginalsNotTheComplaints() {
        let report = TestMail.parse("""
            From: Someone <someone@mailbox.example>
            To: abuse@isp.example
            Subject: Fw: Your recent claim
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain


            ________________________________
            From: admin@sender.example <admin@sender.example> on behalf of **Survey** <admin@sender.example>
            Sent: Thursday, November 10, 2022 5:20 PM
            To: someone@mailbox.example
            Subject: Your recent claim

            [https://images.example/claim.png]
            --b
            Content-Type: message/rfc822

            Received: from mail.sender.example (mail.sender.example [198.51.100.96]) by mx.mailbox.example
            From: admin@sender.example
            Subject: Your recent claim

            [https://images.example/claim.png]
            --b--
            """)
        #expect(report.status == .filed && report.sourceIPs == ["198.51.100.96"], "\(report.sourceIPs) \(report.domains)")
        #expect(!report.domains.contains("images.example"), "\(report.domains)")
    }

    /// A blocklist's query name gives the address reversed (`51.100.51.198.zen.spamhaus.org`,
    /// Synacor's `….synbl`, `….in-addr.arpa`); other host names that open with numbers give none.
    @Test func aBlocklistQueryNameGivesTheAddress() {
        #expect(IndicatorScanner.ips(in: "blocked due to being on synbl:\n52.100.51.198.synbl\n").items.map(\.description) == ["198.51.100.52"])
        #expect(IndicatorScanner.ips(in: "listed: 53.100.51.198.zen.spamhaus.org").items.map(\.description) == ["198.51.100.53"])
        #expect(IndicatorScanner.ips(in: "PTR 54.100.51.198.in-addr.arpa").items.map(\.description) == ["198.51.100.54"])
        #expect(IndicatorScanner.ips(in: "host 55.100.51.198.static.isp.example and version 1.2.3.4.5").items.isEmpty)
    }

    /// `Feedback-Type: spam` is common in real feedback loops though RFC 5965 does not name it;
    /// `not-spam` (a recipient taking a complaint back) is no complaint at all.
    @Test func feedbackTypeSpamIsSpamAndNotSpamIsNot() {
        #expect(TestMail.parse(Self.arf(feedbackType: "spam", original: Self.original)).type == .spam)
        #expect(TestMail.parse(Self.arf(feedbackType: "Spam", original: Self.original)).status == .filed)
        let retracted = TestMail.parse(Self.arf(feedbackType: "not-spam", fields: "Source-IP: 198.51.100.25", original: Self.original))
        #expect(retracted.type == nil && retracted.status == .triage)
    }

    @Test func feedbackTypeOtherWaitsForAPerson() {
        let report = TestMail.parse(Self.arf(feedbackType: "other", fields: "Source-IP: 198.51.100.25", original: Self.original))
        #expect(report.status == .triage)
        #expect(report.type == nil)
        #expect(report.reason == "the type of abuse could not be determined")
        #expect(report.sourceIPs == ["198.51.100.25"])
    }

    /// Some feedback loops write every field on one line (`Source-Ip: … Reported-Domain: …
    /// Feedback-Type: abuse`): each field is still read.
    @Test func feedbackFieldsOnOneLineAreRead() {
        let report = TestMail.parse(Self.arf(feedbackType: "abuse Abuse-Type: complaint Source-Ip: 198.51.100.43 Reported-Domain: sender.example",
                                             original: Self.original))
        #expect(report.status == .filed && report.type == .spam && report.sourceIPs == ["198.51.100.43"], "\(report.status) \(report.reason ?? "")")
        #expect(report.domains.contains("sender.example"), "\(report.domains)")
    }

    /// An empty feedback part names no type: the report's own words say it (`other` needs a person).
    @Test func anEmptyFeedbackPartIsTypedByItsWords() {
        let arf = Self.arf(feedbackType: "", text: "SPAM REPORT: spam was received from the IP address 198.51.100.44.", original: Self.original)
        let report = TestMail.parse(arf.replacingOccurrences(of: "Feedback-Type: \nUser-Agent: Test/1.0\nVersion: 1\n", with: ""))
        #expect(report.status == .filed && report.type == .spam && report.sourceIPs == ["198.51.100.44"], "\(report.status) \(report.reason ?? "")")
    }

    /// SpamCop's report of a spamvertised site goes to the site's host: it is filed on the site and
    /// the address SpamCop resolved, not on the spam's Source-IP.
    @Test func aSpamvertisedSiteReportIsFiledOnTheSite() {
        let report = TestMail.parse(Self.arf(feedbackType: "abuse", fields: "Source-IP: 198.51.100.25", text: """
            [ SpamCop V4.8.6 ]
            Spamvertised web site: http://shop.example/w/v7jk.php
            http://shop.example/w/v7jk.php is 203.0.113.80; Fri, 28 Jul 2017 08:28:30 GMT

            This is an email abuse report for an email message received from IP source 198.51.100.25
            """, original: Self.original))
        #expect(report.status == .filed && report.sourceIPs == ["203.0.113.80"], "\(report.sourceIPs)")
        #expect(report.urls.contains("http://shop.example/w/v7jk.php"), "\(report.urls)")
        let source = TestMail.parse(Self.arf(feedbackType: "abuse", fields: "Source-IP: 198.51.100.25", original: Self.original))
        #expect(source.sourceIPs == ["198.51.100.25"])
    }

    @Test func reportContentWinsOverAutoSubmitted() {
        let report = TestMail.parse(Self.arf(feedbackType: "virus", fields: "Source-IP: 198.51.100.25\nArrival-Date: 2020-02-03T04:05:06Z",
                                             original: Self.original, autoSubmitted: "auto-replied"))
        #expect(report.status == .filed)
        #expect(report.type == .malware)
        #expect(report.receivedAt == 1_580_702_706)
    }

    @Test func reportedURIsAndDomains() {
        let report = TestMail.parse(Self.arf(feedbackType: "fraud", fields: """
            Source-IP: 198.51.100.25
            Reported-Domain: login-bank.example
            Reported-URI: <hxxp://login-bank[.]example/verify>
            Reported-URI: mailto:collector@drop.example
            """, original: Self.original))
        #expect(report.type == .phishing)
        #expect(report.domains == ["login-bank.example"])
        #expect(report.urls == ["http://login-bank.example/verify"])
        #expect(report.emails.contains("collector@drop.example"))
    }

    @Test func authFailureReportsArePhishing() {
        let report = TestMail.parse(Self.arf(feedbackType: "auth-failure", fields: "Auth-Failure: dmarc\nSource-IP: 203.0.113.4\nReported-Domain: brand.example",
                                             original: Self.original))
        #expect(report.format == .authFailure)
        #expect(report.type == .phishing)
        #expect(report.fields.value("Auth-Failure") == "dmarc")
    }
}

@Suite struct XARFTests {
    /// Netcraft (and Abusix) send XARF JSON in its older capitalised schema, any `Version`.
    @Test func theOlderCapitalisedXARFJSONIsRead() {
        let json = #"{"Version": "1", "ReporterInfo": {"ReporterOrg": "Netcraft", "ReporterOrgEmail": "takedown@netcraft.example"}, "#
            + #""Report": {"ReportClass": "Content", "ReportType": "Phishing", "SourceIp": "198.51.100.89", "#
            + #""SourceUrl": "https://shop.example/wp-content/x/engine.html", "Date": "2023-09-01T22:41:12Z"}}"#
        let report = Self.parse(json: json, from: "takedown@netcraft.example")
        #expect(report.format == .xarfJSON && report.type == .phishing && report.sourceIPs == ["198.51.100.89"])
        #expect(report.urls == ["https://shop.example/wp-content/x/engine.html"])
        #expect(report.reporter == "takedown@netcraft.example")
    }

    /// Abusix's legacy reports: an ARF envelope (`Feedback-Type: xarf`, the `Version` there) around
    /// the capitalised JSON, which then has no `Version` of its own.
    @Test func theCapitalisedXARFJSONInsideAnARFEnvelopeIsRead() {
        let json = #"{"ReporterInfo": {"ReporterOrg": "ExampleOrg", "ReporterOrgEmail": "reports@reporter.example"}, "Disclosure": true, "#
            + #""Report": {"ReportClass": "Activity", "ReportType": "Spam", "ReportSubType": "Trap", "Date": "2018-02-05T14:17:10Z", "#
            + #""SourceIp": "192.0.2.55", "SourcePort": 54321, "DestinationIp": "198.51.100.33", "DestinationPort": 25}}"#
        let report = TestMail.parse("""
            From: Abusix <noreply@reporter.example>
            Subject: XARF report
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=feedback-report; boundary="b"

            --b
            Content-Type: text/plain

            This is the human readable description
            --b
            Content-Type: message/feedback-report

            Feedback-Type: xarf
            User-Agent: Abusix/1.0
            Version: 1
            --b
            Content-Type: application/json; name=xarf.json
            Content-Transfer-Encoding: base64
            Content-Disposition: inline; filename=xarf.json

            \(TestMail.base64(Array(json.utf8)))
            --b--
            """)
        #expect(report.status == .filed && report.format == .xarfJSON && report.type == .spam)
        #expect(report.sourceIPs == ["192.0.2.55"], "the source, not the destination")
        #expect(report.receivedAt == 1_517_840_230)
    }

    @Test func aBoundaryOtherThanTheDeclaredOneIsFound() {
        // As Netcraft once sent it: the header declares one boundary, the body uses another.
        let report = TestMail.parse("""
            From: takedown@netcraft.example
            Subject: phishing attack at http://shop.example/login/
            X-XARF: PLAIN
            Content-Type: multipart/mixed; boundary="declared-1"

            --written-2
            Content-Type: text/plain

            We found phishing: http://shop.example/login/ [192.0.2.140]
            --written-2
            Content-Type: text/plain; name="report.txt"

            ---
            Category: fraud
            Report-Type: phishing
            Source: http://shop.example/login/
            Source-Type: uri
            --written-2--
            """)
        #expect(report.format == .xarf02)
        #expect(report.type == .phishing)
        #expect(report.sourceIPs == ["192.0.2.140"])
        #expect(report.urls == ["http://shop.example/login/"])
    }


    @Test func xarf02WithAURISource() {
        let report = TestMail.parse("""
            From: reports@scanner.example
            Subject: phishing report
            X-XARF: PLAIN
            Content-Type: multipart/mixed; boundary="x"

            --x
            Content-Type: text/plain

            We found phishing at the URL below; our portal is https://portal.scanner.example/case/1.
            http://secure-login.victimbank.example.attacker.example/index.php [198.51.100.80]
            --x
            Content-Type: text/plain; name="report.txt"

            ---
            Reported-From: desk@scanner.example
            Category: fraud
            Report-Type: phishing
            Date: 2021-06-01T10:00:00Z
            Source-Type: uri
            Source: http://secure-login.victimbank.example.attacker.example/index.php
            Version: 0.2
            --x--
            """)
        #expect(report.status == .filed)
        #expect(report.format == .xarf02)
        #expect(report.type == .phishing)
        #expect(report.reporter == "desk@scanner.example")
        #expect(report.urls == ["http://secure-login.victimbank.example.attacker.example/index.php"])
        #expect(report.domains == ["secure-login.victimbank.example.attacker.example"])
        #expect(report.sourceIPs == ["198.51.100.80"])
        #expect(report.receivedAt == 1_622_541_600)
    }

    @Test func xarf01IsTheArfYesHeader() {
        let report = TestMail.parse("""
            From: a@ids.example
            X-ARF: yes
            Content-Type: multipart/mixed; boundary="x"

            --x

            Login attack.
            --x
            Content-Type: text/plain; name="report.txt"

            Reported-From: a@ids.example
            Category: abuse
            Report-Type: login-attack
            Source-Type: ip-address
            Source: 2001:db8:0:0::7
            --x--
            """)
        #expect(report.format == .xarf01)
        #expect(report.type == .networkAbuse)
        #expect(report.sourceIPs == ["2001:db8::7"])
        // `Category: abuse` says nothing; an X-ARF port probe is network abuse, not spam.
        #expect(AbuseType(named: "port-probe") == .networkAbuse)
        #expect(AbuseType(named: "LoginAttack") == .networkAbuse, "the older XARF JSON runs the words together")
    }

    /// An X-ARF `dnsbl-listing` report says the address is on a spam blocklist; its text ("your
    /// server … has attacked one of our server on the service: dnsbl") would call it an attack.
    @Test func anXARFBlocklistListingIsSpam() {
        let report = TestMail.parse("""
            From: tickets@dnsbl.example
            X-XARF: PLAIN
            Subject: INFO: dnsbl-listing report about 192.0.2.36
            Content-Type: multipart/mixed; boundary="x"

            --x
            Content-Type: text/plain

            Your server with the IP 192.0.2.36 has attacked one of our servers on the service "dnsbl".
            The IP is listed at spam.dnsbl.example.
            --x
            Content-Type: text/plain; name="report.txt"

            Reported-From: tickets@dnsbl.example
            Category: info
            Report-Type: dnsbl-listing
            Service: dnsbl
            Version: 0.2
            Source-Type: ip-address
            Source: 192.0.2.36
            --x--
            """)
        #expect(report.format == .xarf02 && report.type == .spam && report.sourceIPs == ["192.0.2.36"])
    }

    @Test func xarfJSONWithoutAnARFEnvelope() {
        let json = """
            {"xarf_version": "4.0.0", "category": "content", "type": "malware",
             "reporter": {"org": "Lab", "contact": "lab@lab.example", "domain": "lab.example"},
             "source_identifier": "203.0.113.30", "url": "http://203.0.113.30/dropper.exe",
             "timestamp": "2024-03-01T12:00:00Z"}
            """
        let report = Self.parse(json: json, from: "noreply@lab.example")
        #expect(report.format == .xarfJSON)
        #expect(report.type == .malware)
        #expect(report.reporter == "lab@lab.example")
        #expect(report.sourceIPs == ["203.0.113.30"])
        #expect(report.urls == ["http://203.0.113.30/dropper.exe"])
        #expect(report.fields.value("reporter.org") == "Lab")
    }

    /// A line of text and the JSON document attached, base64 as reporters send it.
    static func parse(json: String, from sender: String) -> AbuseReport {
        TestMail.parse("""
            From: \(sender)
            Subject: XARF report
            Content-Type: multipart/mixed; boundary="j"

            --j
            Content-Type: text/plain

            See attached.
            --j
            Content-Type: application/json; name=report.json
            Content-Transfer-Encoding: base64

            \(TestMail.base64(Array(json.utf8)))
            --j--
            """)
    }
}

@Suite struct BulkReportTests {
    /// IntelMQ's JSON event list (SWITCH-CERT, CERT.at and other national CERTs attach it): one
    /// entry per address, typed by the event's `classification.type`, dotted names and all.
    @Test func anIntelMQEventListIsATable() {
        let events = """
            [{"classification.taxonomy": "malicious code", "classification.type": "infected-system", "malware.name": "mirai",
              "source.ip": "198.51.100.7", "source.asn": 64500, "time.source": "2021-08-04T04:12:35+00:00"},
             {"classification.taxonomy": "intrusion attempts", "classification.type": "brute-force", "source.ip": "198.51.100.8"},
             {"classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "source.ip": "198.51.100.9",
              "source.fqdn": "host9.customer.example"}]
            """
        let report = TestMail.parse("""
            From: SWITCH-CERT <cert@cert.example>
            Subject: [CERT#2021080610000505] CERT Report
            Content-Type: multipart/mixed; boundary="j"

            --j
            Content-Type: text/plain

            Dear network owner, we were informed of IT security issues in your network: see the attached file.
            --j
            Content-Type: application/json
            Content-Disposition: inline; filename="events.json"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(Array(events.utf8)))
            --j--
            """)
        #expect(report.format == .csv && report.status == .filed)
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.7", "198.51.100.8", "198.51.100.9"])
        #expect(report.bulkEntries.map(\.type) == [.malware, .networkAbuse, .networkAbuse])
        #expect(report.bulkEntries.last?.domains == ["host9.customer.example"])
        // One event per line (IntelMQ's file output) reads the same; JSON of another shape is no table.
        let lines = """
            {"classification.type": "infected-system", "source.ip": "198.51.100.7"}
            {"classification.type": "brute-force", "source.ip": "198.51.100.8"}
            """
        #expect(TextTable.jsonEvents(Array(lines.utf8))?.records == [["classification.type", "source.ip"],
                                                                     ["infected-system", "198.51.100.7"], ["brute-force", "198.51.100.8"]])
        #expect(TextTable.jsonEvents(Array(#"{"a": {"b": 1}} trailing"#.utf8)) == nil)
        #expect(TextTable.jsonEvents(Array("[1, 2]".utf8)) == nil)
    }

    static let csv = """
        "timestamp","ip","port","type","hostname"
        "2021-01-02 03:04:05","192.0.2.10",22,"ssh-bruteforce","host-a.example"
        "2021-01-02 03:04:06","192.0.2.11",445,"botnet drone","host-b.example"
        "2021-01-02 03:04:07","192.0.2.10",23,"telnet-scan",""
        "2021-01-02 03:04:08","not an ip",23,"scan",""
        "2021-01-02 03:04:09","198.51.100.200",53,"",""
        """

    /// Shadowserver's compromised_website rows give the page's path in `url` and its site in
    /// `http_host`: the entry's URL is the page's, not a bare path.
    @Test func aURLColumnsPathIsOnTheRowsHost() {
        let report = Self.parse(csv: """
            "timestamp","ip","port","tag","url","http_host","category"
            "2014-06-16 00:16:33","198.51.100.68",80,"hacked-webserver","wp-includes/x.php","shop.example","malware"
            "2014-06-16 00:16:34","198.51.100.69",80,"hacked-webserver","/index.php","blog.example","malware"
            """)
        #expect(report.status == .filed && report.format == .csv)
        #expect(report.bulkEntries.map(\.urls) == [["http://shop.example/wp-includes/x.php"], ["http://blog.example/index.php"]])
    }

    /// A feed's report: a line of text and the CSV attached.
    static func parse(csv: String) -> AbuseReport {
        TestMail.parse("""
            From: reports@feeds.example
            Subject: Daily report for your network
            Content-Type: multipart/mixed; boundary="c"

            --c
            Content-Type: text/plain

            Attached are the events we saw on your network (open services and scanning).
            --c
            Content-Type: text/csv; name="events.csv"

            \(csv)
            --c--
            """)
    }

    @Test func csvAttachmentGivesOneEntryPerDistinctIP() {
        let report = Self.parse(csv: Self.csv)
        #expect(report.format == .csv)
        #expect(report.status == .filed)
        #expect(report.bulkEntries.map(\.source) == ["192.0.2.10", "192.0.2.11", "198.51.100.200"])
        #expect(report.bulkEntries.map(\.type) == [.networkAbuse, .malware, .networkAbuse])
        #expect(report.bulkEntries[0].receivedAt == 1_609_556_645)
        #expect(report.domains.isEmpty, "the hostname column is reverse DNS")
    }

    /// Shadowserver's block list names networks in its `ip` column (`192.0.2.8/29`): each is an entry
    /// of its own, with its host bits cleared; a /32 is an address; a network too broad to name
    /// anyone (or one of loopback addresses) is no entry.
    @Test func aBlocklistsNetworksAreEntriesOfTheirOwn() {
        let report = Self.parse(csv: """
            "timestamp","ip","hostname","source","reason"
            "2026-12-01 07:07:03","198.51.100.7",,"IPblocklist - Spyware","C2"
            "2026-12-01 07:07:03","203.0.113.13/29",,"IPblocklist - Spyware","C2"
            "2026-12-01 07:07:03","203.0.113.99/32",,"IPblocklist - Spyware","C2"
            "2026-12-01 07:07:03","2001:db8:77::/48",,"IPblocklist - Spyware","C2"
            "2026-12-01 07:07:03","8.0.0.0/8",,"IPblocklist - Spyware","C2"
            "2026-12-01 07:07:03","127.0.0.0/24",,"IPblocklist - Spyware","C2"
            """)
        #expect(report.status == .filed && report.format == .csv)
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.7", "203.0.113.8/29", "203.0.113.99", "2001:db8:77::/48"])
        #expect(report.sourceIPs == ["198.51.100.7", "203.0.113.99"])
        #expect(report.sourceNetworks == ["203.0.113.8/29", "2001:db8:77::/48"])
    }

    /// CERT feeds name their feed, not a type (PROKI's `feed_name`: `Malware-C2`).
    @Test func aFeedNameColumnGivesTheType() {
        let report = Self.parse(csv: """
            feed_name,time_detected,ip,raw
            Malware-C2,2025-01-02T03:04:05Z,198.51.100.42,"botnet,seen"
            """)
        #expect(report.status == .filed && report.bulkEntries.map(\.type) == [.malware])
    }

    /// Shadowserver's sinkhole HTTP referer report: the offender is the referring site's address,
    /// and `http_url` is a request line whose target is on `http_host`.
    @Test func aSinkholeRefererRowIsFiledOnTheReferer() {
        let report = Self.parse(csv: """
            "timestamp","protocol","http_referer_ip","dst_ip","infection","http_url","http_host"
            "2022-02-24 23:01:38","tcp","198.51.100.175","192.0.2.211","sunburst","GET /www.drugs.example HTTP/1.1","scan.example"
            """)
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.175"])
        #expect(report.urls == ["http://scan.example/www.drugs.example"])
    }

    @Test func csvInsideAZIP() {
        let zip = TestMail.storedZIP([("readme.txt", Array("not a table".utf8)), ("scan.csv", Array(Self.csv.utf8))])
        let report = TestMail.parse("""
            From: reports@feeds.example
            Subject: Scan report
            Content-Type: multipart/mixed; boundary="z"

            --z
            Content-Type: application/zip; name="scan.zip"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(zip))
            --z--
            """)
        #expect(report.format == .csv)
        #expect(Set(report.sourceIPs) == ["192.0.2.10", "192.0.2.11", "198.51.100.200"])
        #expect(report.evidence.first?.filename == "scan.zip")
    }

    @Test func inflateIsBoundedAndReadsFixedAndDynamicBlocks() throws {
        // Raw DEFLATE from zlib: 1000 × "a" (fixed Huffman), a 39-row CSV (dynamic), a stored block.
        let thousandA = try #require(Data(base64Encoded: "S0wcBaNgFAx3AAA="))
        var inflater = Inflater(Array(thousandA)[...], limit: 10_000)
        let full = inflater.run()
        #expect(full.bytes == Array(repeating: UInt8(ascii: "a"), count: 1000) && !full.truncated)
        var capped = Inflater(Array(thousandA)[...], limit: 100)
        let cut = capped.run()
        #expect(cut.bytes.count == 100 && cut.truncated)

        let table = try #require(Data(base64Encoded: "XdE7CoRQGEPh3rXI5SaZhy5HxGKaQdBmdj+NCP8pT/eRfPbx/O3boNmtNzeNx7p873TN1HzUfNZ81XzXnGrONdXRcAkwQSbQBJuAE3QCT/AZPnM3+Ayf4TN8hs/wGT7DF/gCX3gsfIEv8AW+wBf4cvn+"))
        var tableInflater = Inflater(Array(table)[...], limit: 10_000)
        let rows = String(decoding: tableInflater.run().bytes, as: UTF8.self)
        #expect(rows.hasPrefix("ip,type\n192.0.2.1,scan\n") && rows.hasSuffix("192.0.2.39,scan\n"))

        let stored = try #require(Data(base64Encoded: "AQwA8/9zdG9yZWQgYmxvY2s="))
        var storedInflater = Inflater(Array(stored)[...], limit: 100)
        #expect(String(decoding: storedInflater.run().bytes, as: UTF8.self) == "stored block")

        var garbage = Inflater([0xFF, 0xFF, 0xFF, 0x00, 0x12][...], limit: 100)
        #expect(garbage.run().truncated)
    }

    @Test func csvQuotingAndDelimiters() {
        #expect(TextTable.csv("a;b;c\n1;\"x;y\";3\r\n").records == [["a", "b", "c"], ["1", "x;y", "3"]])
        #expect(TextTable.csv("a,b\n\"line\nbreak\",\"say \"\"hi\"\"\"\n").records == [["a", "b"], ["line\nbreak", "say \"hi\""]])
        #expect(TextTable.csv("ip\tnote\n192.0.2.1\tx\n").records == [["ip", "note"], ["192.0.2.1", "x"]])
    }

    @Test func aListOfAddressesUnderHeadings() {
        let report = TestMail.parse("""
            From: monitor@honeypot.example
            Subject: Weekly report

            IPs seen harvesting addresses:

            192.0.2.1
            192.0.2.2

            IPs sending comment spam:

            192.0.2.3
            """)
        #expect(report.format == .freeText)
        #expect(report.bulkEntries.map(\.type) == [.networkAbuse, .networkAbuse, .spam])
    }

    /// A list aligned under its label's first entry (JPCERT/CC): that entry is the list's first, but
    /// a label's address and one address below it make no list (a site's address and its name's
    /// other resolution, below a link that stays the subject).
    @Test func aListStartsOnItsLabelsLine() {
        let list = TestMail.parse("""
            From: cert@cert.example
            Subject: Regarding unauthorized access

            Your controlled IP addresses logged in to our constituency's web mail server.

               Related IP address: 192.0.2.11
                                   192.0.2.12
                                   192.0.2.13
            """)
        #expect(list.bulkEntries.map(\.source) == ["192.0.2.11", "192.0.2.12", "192.0.2.13"], "\(list.bulkEntries.map(\.source)) \(list.sourceIPs)")
        let site = TestMail.parse("""
            From: agent@brand.example
            Subject: Copyright infringement

            Infringing content: https://pirate.example/film.mp4
            NS Lookup: 192.0.2.21
            192.0.2.22
            """)
        #expect(site.bulkEntries.isEmpty && site.urls == ["https://pirate.example/film.mp4"], "\(site.bulkEntries.map(\.source)) \(site.urls)")
    }
}

@Suite struct ComplaintTests {
    /// A notice sent through a mailing platform: the plain rendering is a lone `.`, the HTML says
    /// it all. The HTML is read; a plain rendering with words would be.
    @Test func anAlternativeWhosePlainTextSaysNothingIsReadFromItsHTML() {
        func notice(plain: String) -> AbuseReport {
            TestMail.parse("""
                From: alerts@vendor.example
                Subject: Important Alert
                Content-Type: multipart/alternative; boundary="a"

                --a
                Content-Type: text/plain; charset=UTF-8

                \(plain)
                --a
                Content-Type: text/html; charset=UTF-8

                <p>Your management interface is exposed to the internet.</p><p>Your IP Address: 198.51.100.23</p>
                --a--
                """)
        }
        let dot = notice(plain: ".")
        #expect(dot.status == .filed && dot.sourceIPs == ["198.51.100.23"] && dot.type == .networkAbuse,
                "\(dot.status) \(dot.sourceIPs) \(String(describing: dot.type))")
        #expect(notice(plain: "Port scans from 203.0.113.5 against our servers.").sourceIPs == ["203.0.113.5"])
    }

    /// A takedown notice sent to the offending site's own `hostmaster@` as well as to its host's
    /// `abuse@`: only the abuse mailbox's domain is ours, so the site's URLs are the report's.
    @Test func aNoticeCopiedToTheOffendingSiteIsAboutThatSite() {
        let report = TestMail.parse("""
            From: DMCA Notice <notice@dmca.example>
            To: owner@mail.example, hostmaster@pirate.example, abuse@hoster.example
            Subject: DMCA Takedown/Copyright Infringement Notice

            These exclusive rights are being violated by material available upon your site at the following URL(s):
            http://pirate.example/5Ea2SLZoppU/course-download.html
            """)
        #expect(report.status == .filed && report.type == .copyright)
        #expect(report.urls == ["http://pirate.example/5Ea2SLZoppU/course-download.html"] && report.domains == ["pirate.example"])
        // Sent to our abuse mailbox alone, our own domain in the text is still not the subject.
        let ours = TestMail.parse("""
            From: DMCA Notice <notice@dmca.example>
            To: abuse@hoster.example
            Subject: DMCA Takedown/Copyright Infringement Notice

            Dear hoster.example team, material at http://pirate.example/x.html infringes our copyright.
            """)
        #expect(ours.domains == ["pirate.example"])
    }

    /// A spam pasted whole below the complaint ("view source", no forwarding marker): the pasted
    /// message is the original, so its words do not vote and its hops do not become the source;
    /// the complaint's own words and address decide. With CRLF line ends as mailers send it.
    @Test func aSpamPastedWholeIsTheOriginal() {
        let pasted = """
            From: Roger <roger@isp.example>
            Subject: Unlock Your Full Potential
            Content-Type: text/plain

            SPAMMER: http://198.51.100.226/cl/105809

             From - Sat Aug  5 20:16:25 2023
            X-Account-Key: account17
            Return-Path: <promo@sender.example>
            Received: from mx.isp.example (mx.isp.example [192.0.2.10]) by store.isp.example with LMTP; Sun, 6 Aug 2023 00:12:32 +0000
            Received: from bitwarden [203.0.113.173]
            \tby mx.isp.example [10.90.0.14] with ESMTP; Sun, 6 Aug 2023 00:12:30 +0000
            Subject: Win a copyright-free prize
            From: Prize <promo@sender.example>

            Claim your prize. © 2023 Prize Ltd. All rights reserved. Copyright infringement is not our thing.
            """
        let named = TestMail.parse(pasted, ending: "\r\n")
        #expect(named.format == .forwardedSpam && named.type == .spam && named.status == .filed)
        #expect(named.sourceIPs == ["198.51.100.226"])
        // Nothing named in the complaint: the hop that handed the spam to the reporter's server,
        // written `from host [ip] by …` outside a comment.
        let unnamed = TestMail.parse(pasted.replacingOccurrences(of: "SPAMMER: http://198.51.100.226/cl/105809", with: "Please stop this."),
                                     ending: "\r\n")
        #expect(unnamed.format == .forwardedSpam && unnamed.sourceIPs == ["203.0.113.173"], "\(unnamed.sourceIPs) \(unnamed.domains)")
    }

    /// Yahoo's forward puts the pasted header's first line, its webmail's internal hop, on the
    /// marker's line: that address is in the complaint's words, yet names no source. The
    /// original's chain does.
    @Test func anInternalAddressInTheComplaintsWordsLeavesTheSourceToTheOriginal() {
        let report = TestMail.parse("""
            From: Ann <ann@isp.example>
            Subject: Fw: Your parcel
            Content-Type: text/plain

            The forwarded message below is SPAM, please investigate!

               ----- Forwarded Message -----  Received: from 10.197.40.72
             by atlas106.mail.isp.example pod-id NONE with HTTPS; Thu, 28 Mar 2024 12:41:11 +0000
            Return-Path: <promo@parcel.example>
            X-Apparently-To: ann@isp.example; Thu, 28 Mar 2024 12:41:11 +0000
            Received: from 198.51.100.231 (EHLO mail.parcel.example)
             by 10.197.40.72 with SMTPs; Thu, 28 Mar 2024 12:41:11 +0000
            From: Parcel <promo@parcel.example>
            Subject: Your parcel

            Pay the customs fee today.
            """)
        #expect(report.format == .forwardedSpam && report.status == .filed)
        #expect(report.sourceIPs == ["198.51.100.231"], "\(report.sourceIPs)")
    }

    /// A person forwarding spam pastes the header as their mail program shows it, verdicts and all:
    /// `dmarc=fail` is a receiver's check, not the reporter calling the spam phishing.
    @Test func aPastedHeadersVerdictsDoNotTypeTheReport() {
        let report = TestMail.parse("""
            From: Greg <greg@isp.example>
            Subject: FW: You Have Won a FREE Power Station!
            Content-Type: text/plain

            Email Headers:

            Authentication-Results: spf=softfail (sender IP is 203.0.113.61)
             smtp.mailfrom=prize.example; dkim=none (message not signed)
             header.d=none;dmarc=fail action=none header.from=prize.example;

            ________________________________
            From: Prize <promo@prize.example>
            Sent: Wednesday, February 22, 2023 12:20 PM
            To: greg@isp.example
            Subject: You Have Won a FREE Power Station!

            Claim it today.
            """)
        #expect(report.format == .forwardedSpam)
        #expect(report.type == .spam, "\(report.type.map(\.rawValue) ?? "none")")
    }

    /// Gmail's "Show original" page, copied whole: its summary under `Original Message` (no header
    /// block there; `DMARC: 'FAIL'` is Gmail's check, not the reporter calling it phishing), then
    /// the message's source, which is the original.
    @Test func gmailsShowOriginalPageIsAForwardedSpam() {
        let report = TestMail.parse("""
            From: Victor <victor@isp.example>
            Subject: Fwd: Good afternoon I want to know more about you!
            Content-Type: text/plain

            Original Message
            Message ID <A91F4C@sender.example>
            Created at: Sat, Mar 16, 2024 at 9:41 PM (Delivered after 788172 seconds)
            From: Tsira <news@sender.example>
            Subject: Good afternoon I want to know more about you!
            SPF: FAIL with IP 198.51.100.208 Learn more
            DKIM: 'PASS' with domain other.example Learn more
            DMARC: 'FAIL' Learn more

            Download Original
            Copy to clipboard

            Delivered-To: victor@isp.example
            Received: by 2002:a2e:4c19:0:b0:2d6:a974:f12e with SMTP id z25csp1211590lja;
                    Mon, 25 Mar 2024 21:37:55 -0700 (PDT)
            Return-Path: <news@sender.example>
            Received: from host208.vps.example (host208.vps.example. [198.51.100.208])
                    by mx.isp.example with ESMTPS id i21si; Mon, 25 Mar 2024 21:37:54 -0700 (PDT)
            From: Tsira <news@sender.example>
            Subject: Good afternoon I want to know more about you!

            Hello dear, write to me.
            """)
        #expect(report.format == .forwardedSpam && report.status == .filed)
        #expect(report.type == .spam, "\(report.type.map(\.rawValue) ?? "none")")
        #expect(report.sourceIPs == ["198.51.100.208"])
    }

    /// A provider passing on a complaint its abuse mailbox received, pasted below Outlook's marker:
    /// the forwarded text is the complaint (read as text), not a spam from the reporter's address.
    @Test func aComplaintForwardedInlineIsReadAsTheComplaint() {
        let report = TestMail.parse("""
            From: "Abuse (Colo)" <abuse@colo.example>
            Subject: FW: [Abuse][C157983] Malware incident detected on a website hosted by you
            Content-Type: text/plain

            -----Original Message-----
            From: takedown@security.example
            Sent: Thursday, June 15, 2023 3:58 AM
            To: abuse@colo.example
            Subject: [Abuse][C157983] Malware incident detected on a website hosted by you

            We have detected a malware incident on a website hosted at 203.0.113.173:
            hxxp://starmasgolp[.]example/download
            """, ending: "\r\n")
        #expect(report.format == .freeText && report.type == .malware && report.status == .filed)
        #expect(report.sourceIPs == ["203.0.113.173"])
    }

    /// Microsoft's old junk-mail reports are the reported message itself, Hotmail's hops on top:
    /// the source is the hop that handed the spam to Hotmail, and the original is our customer's
    /// message (its token traces it), however much its newsletter text talks of scans.
    @Test func anInlineJunkMailReportIsTheReportedMessage() {
        let report = TestMail.parse("""
            Return-Path: staff@hotmail.com
            Received: from bay0-omc2-s1.bay0.hotmail.com (bay0-omc2-s1.bay0.hotmail.com [65.54.190.76]) by mx.isp.example
            Received: from BAY0-JMR-DB02 ([65.54.190.125]) by bay0-omc2-s1.bay0.hotmail.com
            X-HmXmrOriginalRecipient: someone@hotmail.com
            X-Reporter-IP: 192.0.2.155
            Received: from promo.customer.example ([198.51.100.206]) by bay0-mc3-f8.Bay0.hotmail.com
            Received: from mass.customer.example (unknown [10.1.209.5]) by promo.customer.example
            Date: Fri, 19 Feb 2010 22:58:37 -0500
            From: contact@promo.customer.example
            Subject: Your finance report at an easier rate
            Message-ID: <n49@promo.customer.example>
            X-MailWarden-ID: mw-jmrp49

            Scanned by ScanAlert: http://www.scanalert.example/ - vulnerability scan passed, scan, scan.
            """)
        #expect(report.status == .filed && report.format == .forwardedSpam && report.type == .spam, "\(report.status) \(report.format)")
        #expect(report.sourceIPs == ["198.51.100.206"] && report.domains.isEmpty)
        #expect(report.reporter == "staff@hotmail.com")
        #expect(report.originalHeader("X-MailWarden-ID") == "mw-jmrp49")
    }

    @Test func inlineForwardedSpamWithOurTokenHeader() {
        let report = TestMail.parse("""
            From: Jane <jane@mailbox.example>
            To: abuse@isp.example
            Subject: Fwd: You won!!!

            This is spam sent from your network, please stop it.

            ---------- Forwarded message ---------
            From: Winner Team <win@customer.example>
            Date: Mon, 3 May 2021 10:00:00 +0200
            Subject: You won!!!
            Message-ID: <win-1@customer.example>
            X-MailWarden-ID: mw-token-9

            Claim at http://claim.customer.example/now and mail win@customer.example
            """)
        #expect(report.format == .forwardedSpam)
        #expect(report.type == .spam)
        #expect(report.status == .triage, "no IP and no domain outside the original; tracing may still find the customer")
        #expect(report.originalHeader("X-MailWarden-ID") == "mw-token-9")
        #expect(report.originalHeader("Message-ID") == "<win-1@customer.example>")
        #expect(report.urls.isEmpty)
        #expect(report.domains.isEmpty)
        #expect(report.receivedAt == 1_620_028_800)
    }

    @Test func aSpamvertisedSiteIsTheSubjectNotTheSendingHost() {
        let report = TestMail.parse("""
            From: 12345@reports.spamcop.net
            Subject: [SpamCop (http://pills.customer-shop.example/) id:12345]Cheap pills
            Content-Type: multipart/mixed; boundary="s"

            --s
            Content-Type: text/plain

            Spamvertised web site: http://pills.customer-shop.example/buy
            --s
            Content-Type: message/rfc822

            Received: from bot.example ([203.0.113.61]) by mx.victim.example
            From: x@bot.example
            Subject: Cheap pills

            buy
            --s--
            """)
        #expect(report.format == .forwardedSpam)
        #expect(report.sourceIPs.isEmpty)
        #expect(report.domains == ["pills.customer-shop.example"])
        // The subject of a forwarded complaint is mostly the spam's own; only the complaint's words count.
        #expect(report.urls == ["http://pills.customer-shop.example/buy"])
    }

    @Test func germanFreeTextComplaint() {
        let report = TestMail.parse("""
            From: admin@opfer.example
            To: abuse@isp.example
            Subject: Angriffe von Ihrem Netz
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Guten Tag,

            von Ihrer IP 203.0.113.5 gehen seit heute Nacht Brute-Force-Angriffe auf unseren SSH-Server aus.
            Ziel-IP: 198.51.100.9
            Bitte unterbinden Sie das. Mehr unter https://status.opfer.example/ und bei abuse@isp.example.
            Mit freundlichen Gr=FC=DFen
            """)
        #expect(report.format == .freeText)
        #expect(report.type == .networkAbuse)
        #expect(report.sourceIPs == ["203.0.113.5"])
        #expect(report.urls.isEmpty, "the reporter's own link")
        #expect(report.emails.isEmpty, "our own abuse address")
    }

    /// Notices name their type in their own words: in other languages than English and German, or
    /// in English that names the traffic rather than the attack.
    @Test(arguments: [
        ("您好，我们通过本信件通知您，您的网站侵犯了我们客户的版权。请立即移除：https://video.shop.example/live/1", AbuseType.copyright),
        ("Estimado proveedor: el sitio https://video.shop.example/live/1 infringe los derechos de autor de nuestro cliente.", .copyright),
        ("お客様のネットワーク上でフィッシングサイトを確認しました。 https://login.bank.shop.example/", .phishing),
        ("Здравствуйте! С вашего сервера 203.0.113.7 рассылается спам, просим принять меры.", .spam),
        ("귀하의 IP 203.0.113.8 에서 당사 서버에 대한 공격이 탐지되었습니다.", .networkAbuse),
        ("Zaobserwowaliśmy następujące publicznie dostępne, podatne urządzenia w Państwa sieci: 203.0.113.9", .networkAbuse),
        // English notices that name the traffic, not the attack.
        ("Abusive behavior was detected from the IP address 203.0.113.10 targeting one of our SIP servers.", .networkAbuse),
        ("We are contacting you because of unusual activity coming from your IP address 203.0.113.11.", .networkAbuse),
        ("The domain shop.example appears to be engaged in malicious activities.", .networkAbuse),
        ("203.0.113.12 Added to ZapBL. Blacklist severity: Low", .spam),
        ("Alert triggered - SSH top talkers blocked: 203.0.113.14", .networkAbuse),
        ("Wir haben festgestellt, dass die Webseite shop.example für Drive-By missbraucht wird.", .malware),
        ("You host https://vaccine-card.shop.example/, a site imitating government-issued vaccination cards.", .phishing),
        ("Included is a report for the bad/threat actor: 203.0.113.16\n203.0.113.16 → 198.51.100.5 TCP 41710 → 22 [SYN] Seq=0 Win=64240", .networkAbuse),
        ("Network abuse notice: 203.0.113.15 was observed performing an excessive number of HTTP requests.", .networkAbuse),
        // A CERT's template calls every page phishing; the incident's own field says scanning.
        ("We have been informed about a malicious|phishing web page in your constituency.\n\nAttack Vectors: Attrition/Scanning\nIP: 203.0.113.13", .networkAbuse),
    ])
    func aNoticeIsTypedByItsOwnWords(_ text: String, _ type: AbuseType) {
        let report = TestMail.parse("""
            From: notices@agent.example
            To: abuse@isp.example
            Subject: Notice 4711
            Content-Type: text/plain; charset=utf-8

            \(text)
            """)
        #expect(report.type == type, "\(report.type.map(\.rawValue) ?? "none"): \(text)")
    }

    /// A ticket line names the report's kind in parentheses ("Reporting Abuse (SPAM)"); the policy
    /// text below it lists every other kind, and more often.
    @Test(arguments: [("SPAM", AbuseType.spam), ("DMCA/Copyright", .copyright), ("Phishing/419 Scam {email, content}", .phishing)])
    func aTicketsKindInParenthesesOutweighsItsPolicyText(_ kind: String, _ type: AbuseType) {
        let report = TestMail.parse("""
            From: Abuse Desk <abuse@transit.example>
            To: abuse@isp.example
            Subject: [2019-07-04] Abuse; Cust; Shop Ltd.:
            Content-Type: text/plain

            Attached is a complaint received by our abuse department.

            [Ticket 275346] Reporting Abuse (\(kind)) for IP address: 203.0.113.14

            Timed-based response before the offending IP address is null routed:
            - Phishing attack: 1 hour.
            - DDoS attack: 1 hour.
            - Botnet and malware: 1 hour.
            - Hacking attack: 1 day.
            """)
        #expect(report.type == type, "\(report.type.map(\.rawValue) ?? "none") for \(kind)")
        #expect(report.sourceIPs == ["203.0.113.14"])
    }

    /// Cloudflare passes a report on to the host behind its proxy, naming that host's addresses
    /// above the report it quotes; the quoted report names Cloudflare's own address.
    @Test func aProxysForwardIsFiledOnTheHostBehindIt() {
        let report = TestMail.parse("""
            From: Cloudflare <abuse@cloudflare.example>
            To: abuse@isp.example
            Subject: [140c4ae316cab4e5]: Cloudflare received an abuse report regarding one of your customers.
            Content-Type: text/plain

            Cloudflare received an abuse report regarding:
            bank-login.shop.example

            The actual host for bank-login.shop.example are the following IP addresses. 203.0.113.30, 203.0.113.31. Using the following command, you can confirm the site in question is hosted at that IP address: curl -v -H "Host: bank-login.shop.example" 203.0.113.30/

            Below is the report we received:

            Reported URLs:
            \thttps://bank-login.shop.example/login.htm

            Logs or Evidence of Abuse:
            We found a phishing page on your servers.
            IP Address: 198.51.100.77

            Please address this issue with your customer.
            """)
        #expect(report.status == .filed && report.type == .phishing)
        #expect(report.sourceIPs == ["203.0.113.30", "203.0.113.31"], "\(report.sourceIPs)")
        #expect(report.urls == ["https://bank-login.shop.example/login.htm"], "\(report.urls)")
    }

    @Test func defangedPhishingComplaint() {
        let report = TestMail.parse("""
            From: soc@bank.example
            Subject: Phishing kit on your server

            The phishing page hxxps://secure-update[.]customer-site[.]example/bank/login.php collects
            credentials and sends them to drop[at]collector[.]example. Server: 192.0.2[.]77
            """)
        #expect(report.type == .phishing)
        #expect(report.urls == ["https://secure-update.customer-site.example/bank/login.php"])
        #expect(report.emails == ["drop@collector.example"])
        #expect(Set(report.domains) == ["secure-update.customer-site.example", "collector.example"])
        #expect(report.sourceIPs == ["192.0.2.77"])
    }

    @Test func accountMisuse() {
        let report = TestMail.parse("""
            From: trust@social.example
            Subject: Compromised account on your mail service

            The account j.doe@mail.customer.example is a compromised account: it was hacked and now
            sends scam messages to our users.
            """)
        #expect(report.type == .accountMisuse)
        #expect(report.domains == ["mail.customer.example"])
    }
}

@Suite struct NoCaseTests {
    static let autoReplies: [String] = [
        "Auto-Submitted: auto-replied\nSubject: Re: your report",
        "X-Autoreply: yes\nSubject: Re: your report",
        "Precedence: auto_reply\nSubject: Re: your report",
        "Subject: Out of Office: your report",
        "Subject: Abwesenheitsnotiz: Ihre Meldung",
        "Subject: Automatic reply: spam from 192.0.2.1",
        "Subject: Automatická odpověď: spam from 192.0.2.1",
        "Subject: Automatisk svar: spam from 192.0.2.1",
        "Subject: 自動応答: spam from 192.0.2.1",
        "Subject: 自动回复: spam from 192.0.2.1",
        "Subject: Автоответ: spam from 192.0.2.1",
        "Subject: Otomatik yanıt: spam from 192.0.2.1",
        "Subject: Automatikus válasz: spam from 192.0.2.1",
    ]

    @Test(arguments: autoReplies)
    func autoRepliesAreIgnored(_ headers: String) {
        let report = TestMail.parse("From: someone@isp.example\n\(headers)\n\nI am away until Monday. Spam from 192.0.2.1 will be handled then.")
        #expect(report.status == .ignored)
        #expect(report.format == .autoReply)
        #expect(report.reason?.hasPrefix("automatic reply") == true)
    }

    /// CERTs' ticket systems (RT, Jira, Zendesk) send reports marked Auto-Submitted with References
    /// to their own ticket: without a subject that answers, such a message is a report.
    @Test func aTicketSystemsReportWithReferencesAndAutoSubmittedIsFiled() {
        let report = TestMail.parse("""
            From: "NKSC/CERT-LT" <cert@cert.example>
            In-Reply-To:
            References: <RT-Ticket-99206@cert.example>
            Auto-Submitted: auto-replied
            Precedence: bulk
            Subject: [CERT-EX #99206] SSH brute-force 198.51.100.25

            Our sensors registered SSH brute-force attempts from 198.51.100.25 in your network.
            """)
        #expect(report.status == .filed && report.type == .networkAbuse && report.sourceIPs == ["198.51.100.25"], "\(report.status) \(report.reason ?? "")")
    }

    /// A reply in a thread the store does not hold, whose own words name no address or link ("the
    /// logs are in UTC", "the case can be closed"), waits for a person instead of opening a case on
    /// what it quotes; a reporter's follow-up that names the address again is a report.
    @Test func aReplyNamingNothingOfItsOwnWaitsForAPerson() {
        func reply(_ ownWords: String) -> AbuseReport {
            TestMail.parse("""
                From: Mathias <mathias@reporter.example>
                Subject: Re: Hacking from your IP range
                In-Reply-To: <CAJzKEgi6eD0vOQ2@mail.example>
                References: <62ec42b3.Qvk4iuu0cpFMF1VW@reporter.example>

                Hello Mike,

                \(ownWords)

                On 05.08.22 15:28, Abuse wrote:
                > Thanks for reaching out. Could you pass along detailed logs?
                >
                >     Our IDS has detected that the IP address 198.51.100.44
                >     has been found to try to break into our web system.
                """, ending: "\r\n")
        }
        let thanks = reply("sorry, yes of course. All timestamps are UTC.")
        #expect(thanks.status == .triage && thanks.reason?.hasPrefix("a reply whose own words") == true, "\(thanks.status) \(thanks.reason ?? "")")
        let followUp = reply("the attacks from 198.51.100.44 go on: brute force against our SSH server, logs below.")
        #expect(followUp.status == .filed && followUp.sourceIPs == ["198.51.100.44"], "\(followUp.status) \(followUp.reason ?? "")")
    }

    /// A reply that names only its own signature's links (the reporter's site, its social pages),
    /// with References but no In-Reply-To (Outlook), names nothing to file either.
    @Test func aReplyWhoseOnlyLinksAreItsSignaturesWaitsForAPerson() {
        let report = TestMail.parse("""
            From: Client Support <support@brandwatch.example>
            Subject: Re: Abuse Portal Submission
            References: <CACRsp_v8@mail.example>

            Content has not been removed but it looks like they changed the host provider. Thank you for your attempt.

            Samantha, Client Support, https://www.brandwatch.example/
            Follow us: Twitter<http://www.twitter.com/brandwatch> | LinkedIn<http://www.linkedin.com/company/brandwatch>

            From: Abuse <abuse@isp.example>
            > The site at http://198.51.100.80/login was hosted by a customer of ours.
            """)
        #expect(report.status == .triage && report.reason?.hasPrefix("a reply whose own words") == true, "\(report.status) \(report.reason ?? "")")
    }

    /// A provider's new mail about the recipient's own complaint ("is in receipt of your report"),
    /// with no reply headers, is correspondence too; a CERT passing a report on is not.
    @Test func aProvidersMailAboutYourReportWaitsForAPerson() {
        let answer = TestMail.parse("""
            From: Hoster Abuse <abuse@hoster.example>
            Subject: Copyright Infringement Complaint Regarding "pirate.example"

            Hello,

            Hoster is in receipt of your report regarding copyright infringement at pirate.example.
            The DMCA requires that takedown notices fulfill six specific elements of notification.
            """)
        #expect(answer.status == .triage && answer.reason?.hasPrefix("an answer to a complaint") == true, "\(answer.status) \(answer.reason ?? "")")
        let passedOn = TestMail.parse("""
            From: CERT <cert@cert.example>
            Subject: Copyright infringement at pirate.example

            We have received a report of copyright infringement at http://pirate.example/film.mkv hosted in your network.
            """)
        #expect(passedOn.status == .filed && passedOn.type == .copyright, "\(passedOn.status) \(passedOn.reason ?? "")")
    }

    /// A provider's answer to a complaint quotes it, address and all. When no case of ours is in
    /// its thread it waits for a person; it never opens a case on the address it quotes.
    @Test func aProvidersAnswerToAComplaintWaitsForAPerson() {
        let report = TestMail.parse("""
            From: Trust & Compliance Team <abuse@hoster.example>
            Subject: [Ticket#2023040710031813] Re: Re: 198.51.100.25 [login-attack]

            Dear Abuse Desk Team,

            We have received your complaint about the following IP address(es):

            198.51.100.25

            We have opened a case and contacted our customer.

            Your original complaint
            > We have been notified of brute force attacks originating from 198.51.100.25.
            """)
        #expect(report.status == .triage && report.reason?.hasPrefix("an answer to a complaint") == true, "\(report.status) \(report.reason ?? "")")
        let unmonitored = TestMail.parse("From: AFCC <afcc@fraud.example>\nSubject: The fraud.example mailbox is currently not monitored for inbound\n\n"
            + "Dear sender, this mailbox is currently not monitored. For phishing reports write to afcc@rsa.example.")
        #expect(unmonitored.status == .ignored && unmonitored.format == .autoReply, "\(unmonitored.status) \(unmonitored.reason ?? "")")
        // A CERT that forwards the report to the network's owner thanks the reporter too: a report.
        let forwarded = TestMail.parse("""
            From: "CERT-EX" <cert@cert.example>
            Subject: Re: Issue 35388560: IP address attacking a web application at 198.51.100.148
            In-Reply-To: <fe73757c@takedown.example>

            I'm forwarding your email to the proper contacts for this network so they can investigate.
            Thank you for reporting this incident.

            ----- Original message -----
            The host 198.51.100.148 is attacking a web application: brute force on its login page.
            """)
        #expect(forwarded.status == .filed && forwarded.sourceIPs == ["198.51.100.148"], "\(forwarded.status) \(forwarded.reason ?? "")")
    }

    /// A ticket system's notice about a ticket it opened before (closed for want of an answer, a
    /// statement received, a staff answer above its `Status: Answered` footer) is correspondence on
    /// that ticket's case: for a person when the store does not hold it, never a new case. A
    /// ticket it opens (`Status: Open`) with a complaint is a report.
    @Test func aTicketSystemsNoticeAboutItsTicketWaitsForAPerson() {
        func ticket(_ subject: String, _ text: String) -> AbuseReport {
            TestMail.parse("From: \"Hoster Abuse\" <abuse-team@hoster.example>\nSubject: \(subject)\nAuto-Submitted: auto-generated\n\n\(text)")
        }
        let notices = [
            ticket("[Ticket ID: TN-656679] 198.51.100.7 [login-attack] Abuse originating from IP you are using", """
                abuse@isp.example,

                This is a notification to let you know that we are changing the status of your ticket #TN-656679 to Closed
                as we have not received a response from you in over 96 hours.
                """),
            ticket("Abuse Message [AbuseID:A98175:19]: AbuseBlacklist: [SpamCop (198.51.100.8) id:7187465162]", """
                Dear Sir or Madam,

                As we have not received requested information from you within the deadline, this ticket will now be manually checked.
                """),
            ticket("[CERT-EX #3352370] Posible servicio RDP expuesto", "El CERT ha cerrado el ticket [CERT-EX #3352370] sobre 198.51.100.9."),
            ticket("[Ticket ID: TN-364686] 198.51.100.10 [port-scan] Abuse originating from IP you are using", """
                The user is suspended.

                ----------------------------------------------
                Ticket ID: #TN-364686
                Subject: 198.51.100.10 [port-scan] Abuse originating from IP you are using
                Status: Answered
                Ticket URL: https://billing.hoster.example/viewticket.php?tid=TN-364686
                ----------------------------------------------
                """),
            // A status the provider named itself.
            ticket("[Ticket ID: OB-8678616] 198.51.100.12 [fraud] Abuse originating from IP you are using", """
                Forwarded to client.

                Need anything else? Just let us know.

                ----------------------------------------------
                Ticket ID: #OB-8678616
                Subject: 198.51.100.12 [fraud] Abuse originating from IP you are using
                Status: Critical - Abuse (Resolved within 12 Hours)
                Ticket URL: https://my.hoster.example/viewticket.php?tid=OB-8678616
                ----------------------------------------------
                """),
        ]
        for notice in notices {
            #expect(notice.status == .triage && notice.reason?.hasPrefix("a ticket system's notice") == true, "\(notice.status) \(notice.reason ?? "")")
        }
        let opened = ticket("[Ticket ID: TN-364686] 198.51.100.10 [port-scan] Abuse originating from IP you are using", """
            Our sensors registered port scans from 198.51.100.10, an address you are using, against our network.

            Ticket ID: #TN-364686
            Status: Open
            Ticket URL: https://billing.hoster.example/viewticket.php?tid=TN-364686
            """)
        #expect(opened.status == .filed && opened.sourceIPs == ["198.51.100.10"] && opened.type == .networkAbuse, "\(opened.status) \(opened.reason ?? "")")
        let announcing = ticket("[CERT-EX #3352371] SSH brute force from 198.51.100.11", """
            Our sensors registered SSH brute force attacks from 198.51.100.11 in your network.
            This ticket will be closed automatically if we do not hear from you within 14 days.
            """)
        #expect(announcing.status == .filed && announcing.sourceIPs == ["198.51.100.11"], "\(announcing.status) \(announcing.reason ?? "")")
    }

    /// A reporter's follow-up on an earlier report ("we refer to our notice dated …", "an update on
    /// a previous ticket") joins that report's case; without it in the store a person sees it.
    @Test func aReportersFollowUpOnAnEarlierReportWaitsForAPerson() {
        let followUps = [
            ("Requesting follow up of abuse ticket #05649474", "I would like to obtain an update on a previous ticket. We reported a phishing site at http://198.51.100.11:9393/."),
            ("Trademark Infringement Claim Regarding \"brand.example\"", "We refer to our notice dated 1 December (attached), and would be grateful if you could advise how this matter is progressing."),
        ]
        for (subject, text) in followUps {
            let report = TestMail.parse("From: Brand Protection <notices@brand.example>\nSubject: \(subject)\n\nDear Sirs,\n\n\(text)")
            #expect(report.status == .triage && report.reason?.hasPrefix("a follow-up on an earlier report") == true, "\(report.status) \(report.reason ?? "")")
        }
        let firstNotice = TestMail.parse("From: CERT <cert@cert.example>\nSubject: SSH brute force\n\n"
            + "We are following up on reports we received about SSH brute force attacks from 198.51.100.12 in your network.")
        #expect(firstNotice.status == .filed && firstNotice.sourceIPs == ["198.51.100.12"], "\(firstNotice.status) \(firstNotice.reason ?? "")")
    }

    /// A provider's reply that quotes our own mail to it ("… <abuse@isp.example> wrote:") answers our
    /// correspondence, even when it repeats the complaint's address and link; a person's complaint
    /// that quotes the spammer's mail is still filed.
    @Test func aReplyQuotingMailFromItsOwnRecipientWaitsForAPerson() {
        let reply = TestMail.parse("""
            From: abuse@host.example
            To: abuse@isp.example
            Subject: Re: Abuse Message [AbuseID:A98175:19]: SpamCop (198.51.100.30)
            Message-ID: <reply-1@host.example>

            Dear Sir or Madam,

            The second complaint was most definitely spam. Here it is again:
            https://www.spamcop.example/sc?id=z6758078200z

            > Please see the response provided by our customer with regards to the complaint, below: Yes we are adhering to the policies. \(String(repeating: "The complainants subscribed. ", count: 60))
            > On
            > Fri, 27 May at 4:20 PM
            > , ISP Trust & Safety <abuse@isp.example> wrote:
            > Thank you for notifying us of this incident.
            """)
        #expect(reply.status == .triage && reply.reason?.hasPrefix("a reply quoting mail from the mailbox it is sent to") == true, "\(reply.status) \(reply.reason ?? "")")
        let complaint = TestMail.parse("""
            From: Jane <jane@mail.example>
            To: abuse@isp.example
            Subject: Re: Your prize is waiting
            In-Reply-To: <offer-1@spam.example>

            This is spam from 198.51.100.31, I never asked for it.

            On Fri, 27 May 2022, Prize Team <offers@spam.example> wrote:
            > Claim your prize at http://prize.example/claim
            """)
        #expect(complaint.status == .filed && complaint.sourceIPs == ["198.51.100.31"], "\(complaint.status) \(complaint.reason ?? "")")
    }

    /// A notice that mail to someone was refused quotes the SMTP client's diagnostic: for a person,
    /// never a case on the refusing server.
    @Test func aNoticeQuotingAnSMTPRefusalWaitsForAPerson() {
        let report = TestMail.parse("""
            From: Brand Services <antipiracy@brand.example>
            Subject: Notices on the unauthorized copying and distribution

            Hello,

            We are unable to inform you about the unauthorized distribution of the content because of the following error:

            (host mx.isp.example[198.51.100.12] said: 550 5.1.1 <abuse@isp.example> recipient rejected (in reply to RCPT TO command))
            """)
        #expect(report.status == .triage && report.reason?.hasPrefix("quotes a delivery failure") == true, "\(report.status) \(report.reason ?? "")")
    }

    /// Outlook's request to recall a message is no report, whatever the recalled one said.
    @Test func anOutlookRecallIsIgnored() {
        let report = TestMail.parse("""
            From: soc@cert.example
            Subject: Recall: Probe - SNMP Attempt | Source-198.51.100.13

            SOC would like to recall the message, "Probe - SNMP Attempt | Source-198.51.100.13".
            """)
        #expect(report.status == .ignored && report.format == .autoReply, "\(report.status) \(report.reason ?? "")")
    }

    /// Italian certified mail (PEC): the report is the message the provider's envelope wraps
    /// (`postacert.eml`, in a transport or an anomaly envelope), not the envelope's notice; the
    /// provider's receipts are ignored.
    @Test func aCertifiedMailEnvelopeIsReadAsTheMessageItWraps() {
        func envelope(_ wrapped: String, transport: String = "posta-certificata") -> AbuseReport {
            TestMail.parse("""
                From: "Per conto di: reporter@pec.example" <posta-certificata@pec.example>
                To: abuse@isp.example
                Subject: POSTA CERTIFICATA: \(wrapped.split(separator: "\n").first { $0.hasPrefix("Subject: ") }?.dropFirst(9) ?? "")
                X-Trasporto: \(transport)
                MIME-Version: 1.0
                Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"; boundary="s"

                --s
                Content-Type: multipart/mixed; boundary="m"

                --m
                Content-Type: text/plain

                -- Messaggio di posta certificata --
                Il giorno 20/03/2023 alle ore 10:36:19 il messaggio è stato inviato da "reporter@pec.example".
                Received: from relay.pec.example ([203.0.113.99]) by pec.example
                --m
                Content-Type: application/xml; name="daticert.xml"

                <postacert tipo="posta-certificata" errore="nessuno"/>
                --m
                Content-Type: message/rfc822; name="postacert.eml"
                Content-Disposition: inline; filename="postacert.eml"

                \(wrapped)
                --m--
                --s
                Content-Type: application/x-pkcs7-signature; name="smime.p7s"

                AAAA
                --s--
                """)
        }
        let report = envelope("""
            From: Reporter <reporter@pec.example>
            To: abuse@isp.example
            Subject: Terza segnalazione IP 198.51.100.14

            Spam received from 198.51.100.14, third report: please stop this spammer.
            """)
        #expect(report.status == .filed && report.type == .spam && report.sourceIPs == ["198.51.100.14"], "\(report.status) \(report.reason ?? "") \(report.sourceIPs)")
        let anomaly = envelope("From: Reporter <reporter@mail.example>\nSubject: Spam from 198.51.100.17\n\nSpam received from 198.51.100.17.",
                               transport: "errore")
        #expect(anomaly.status == .filed && anomaly.sourceIPs == ["198.51.100.17"] && anomaly.reporter == "reporter@mail.example",
                "\(anomaly.status) \(anomaly.sourceIPs) \(anomaly.reporter ?? "")")
        let forwardedBounce = envelope("""
            From: Reporter <reporter@pec.example>
            To: abuse@isp.example
            Subject: Fw:Fwd: failure notice

            ---------- Forwarded message ---------
            Hi. This is the qmail-send program at mx.isp.example.
            I'm afraid I wasn't able to deliver your message to the following addresses.
            Received: from mail.sender.example ([198.51.100.15]) by mx.isp.example
            """)
        #expect(forwardedBounce.status == .triage && forwardedBounce.reason?.contains("forwarded") == true, "\(forwardedBounce.status) \(forwardedBounce.reason ?? "")")
        let receipt = TestMail.parse("From: posta-certificata@pec.example\nX-Ricevuta: accettazione\nSubject: ACCETTAZIONE: spam from 198.51.100.16\n\nIl messaggio è stato accettato dal sistema.")
        #expect(receipt.status == .ignored && receipt.format == .autoReply, "\(receipt.status) \(receipt.reason ?? "")")
    }

    /// A mailbox that redirects what it receives, behind a gateway that stamps a warning banner, passes
    /// a rights holder's notice on attached to an envelope with the notice's own Message-ID: the
    /// notice is the report, filed on the peer it names, not a spam sent by the rights holder's relay.
    @Test func aReportAttachedToItselfIsReadAsTheReport() {
        /// `attached` behind a gateway's banner, in an envelope with its From, To and Subject,
        /// redirected by its recipient, and the Message-ID `envelopeID`.
        func redirected(_ attached: String, envelopeID: String) -> AbuseReport {
            let fields = attached.split(separator: "\n").filter { ["From: ", "To: ", "Subject: "].contains(where: $0.hasPrefix) }
            let recipient = fields.first { $0.hasPrefix("To: ") }?.dropFirst(4) ?? ""
            return TestMail.parse("""
                Resent-From: \(recipient)
                \(fields.joined(separator: "\n"))
                Message-ID: \(envelopeID)
                Content-Type: multipart/mixed; boundary="b"

                --b
                Content-Type: text/plain

                CYBER SECURITY WARNING: This email is from an external source - be careful of attachments and links.
                --b
                Content-Type: message/rfc822

                \(attached)
                --b--
                """)
        }
        let notice = """
            Received: from outpost.agent.example (outpost.agent.example [198.51.100.119]) by mx.isp.example; Mon, 21 Mar 2022 10:54:21 +0000
            From: <antipiracy@agent.example>
            To: <spam@isp.example>
            Subject: IRMA 38608564 copyright infringement
            Message-ID: <1APFMIGHDGU4@agent.example>
            Content-Type: text/plain

            Case-ID: 38608564
            Peer IP address: 203.0.113.96
            Bittorrent client: uTorrent Mac 1.8.7
            Title: An album
            Copyright owner: A label
            """
        let report = redirected(notice, envelopeID: "<1APFMIGHDGU4@agent.example>")
        #expect(report.status == .filed && report.type == .copyright && report.sourceIPs == ["203.0.113.96"],
                "\(report.status) \(report.type.map(\.rawValue) ?? "none") \(report.sourceIPs)")
        // Another message's attachment is an original, read as a forward.
        let forward = redirected(notice, envelopeID: "<other@isp.example>")
        #expect(forward.format == .forwardedSpam && forward.sourceIPs != ["203.0.113.96"], "\(forward.format) \(forward.sourceIPs)")
        // A spam a person redirects the same way (to them, not to an abuse mailbox) is the original.
        let spam = redirected("""
            Received: from mail.prize.example (mail.prize.example [198.51.100.120]) by mx.isp.example; Mon, 21 Mar 2022 10:54:21 +0000
            From: Prize <promo@prize.example>
            To: <greg@isp.example>
            Subject: You have won
            Message-ID: <win-4711@prize.example>
            Content-Type: text/plain

            Claim your prize at http://prize.example/claim today.
            """, envelopeID: "<win-4711@prize.example>")
        #expect(spam.format == .forwardedSpam, "\(spam.format)")
    }

    /// Exim's autoreply transport answers with In-Reply-To and Auto-Submitted, and no `Re:`: a
    /// marked answer whose text names no address or link is an automatic reply.
    @Test func aMarkedAnswerNamingNothingIsAnAutomaticReply() {
        let report = TestMail.parse("""
            From: userx13@isp.example
            In-Reply-To: <E10HmbL-000000005vi-0000@mail.isp.example>
            Auto-Submitted: auto-replied
            Subject: Automated notice

            I am gone.  Not here.
            """)
        #expect(report.status == .ignored && report.format == .autoReply, "\(report.status) \(report.reason ?? "")")
    }

    @Test func aCERTReportMarkedAutoRepliedIsReadAsAComplaint() {
        let report = TestMail.parse("""
            From: tickets@cert.example
            Auto-Submitted: auto-replied
            Subject: [CERT-EX #4711] Brute force attacks from 198.51.100.12

            Dear colleagues, our sensors saw SSH brute force attacks from 198.51.100.12 in your network.
            """)
        #expect(report.status == .filed && report.type == .networkAbuse && report.sourceIPs == ["198.51.100.12"])
        let unread = TestMail.parse("From: tickets@cert.example\nAuto-Submitted: auto-replied\nSubject: [CERT-EX #4712]\n\nPlease see the portal.")
        #expect(unread.status == .triage, "a marked message that is no reply is never silently ignored")
    }

    @Test func aDMARCFailureReportSentAutoRepliedIsFiled() {
        let report = TestMail.parse("""
            From: dmarc@receiver.example
            Auto-Submitted: auto-replied
            Subject: DMARC Failure Report for brand.example

            A message claiming to be from you has failed the published DMARC policy for your domain.
              Sender Domain: brand.example
              Sender IP Address: 203.0.113.99
            """)
        #expect(report.status == .filed)
        #expect(report.format == .authFailure)
        #expect(report.sourceIPs == ["203.0.113.99"])
    }

    @Test func plainBouncesWithTheOriginalAttachedAreIgnored() {
        let report = TestMail.parse("""
            From: Mail Delivery System <MAILER-DAEMON@mx.example>
            Subject: Mail delivery failed: returning message to sender
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            This message was created automatically by mail delivery software.
            --b
            Content-Type: message/rfc822

            Received: from client.example ([198.51.100.4]) by mx.example
            From: someone@client.example
            Subject: hello

            hi
            --b--
            """)
        #expect(report.status == .ignored)
        #expect(report.format == .deliveryStatus)
    }

    /// Bounces without a delivery-status part, as Exchange, Exim and qmail write them: a mail-system
    /// sender (or a null return path) with a bounce's subject or opening sentence, in several languages.
    @Test(arguments: [
        "From: postmaster@mail.example\nSubject: Undeliverable: offers\n\nDelivery has failed to these recipients or groups:\nbob@example.org",
        "From: Mail Delivery System <Mailer-Daemon@mx.example>\nSubject: Mail delivery failed: returning message to sender\n\n"
            + "This message was created automatically by mail delivery software.\n",
        "Return-Path: <>\nFrom: mx.example <noreply@mx.example>\nSubject: Hello\n\nHi. This is the qmail-send program at mx.example.\n",
        "From: postmaster@firma.example\nSubject: Unzustellbar: Angebot\n\nIhre Nachricht konnte nicht zugestellt werden.\n",
        "From: MAILER-DAEMON@mx.example\nSubject: Non recapitabile: offerta\n\nMessaggio non recapitato.\n",
        "From: MAILER-DAEMON@mx.example\nSubject: 系统退信\n\n您的邮件无法投递。\n",
        "From: Mail Delivery System <mailer-daemon@mx.example>\nSubject: Недоставленное сообщение\n\nВаше сообщение не доставлено.\n",
    ])
    func bouncesWithoutADeliveryStatusPartAreIgnored(_ text: String) {
        // Each carries the customer's spam, as a bounce of it would: it must not become a complaint.
        let report = TestMail.parse(text + "\n--- original ---\nReceived: from [198.51.100.25]\nSubject: cheap pills from 198.51.100.25\n")
        #expect(report.status == .ignored, "\(report.reason ?? "")")
        #expect(report.format == .deliveryStatus)
    }

    /// postmaster@ also writes real complaints: without a bounce's words, it is a report.
    @Test func aComplaintFromPostmasterIsNoBounce() {
        let report = TestMail.parse("From: postmaster@isp.example\nSubject: Spam from your network\n\nWe received spam from 198.51.100.25 today.\n")
        #expect(report.status == .filed && report.type == .spam && report.sourceIPs == ["198.51.100.25"], "\(report.reason ?? "")")
    }

    /// Reports of dictionary attacks quote the MTA's log (`User unknown`), and automatic reporters
    /// mark their mail `Auto-Submitted`; a complaint that quotes a bounce's words is still a report.
    @Test(arguments: [
        "From: postmaster@isp.example\nAuto-Submitted: auto-generated\nSubject: Dictionary attack from 198.51.100.25\n\n"
            + "Your host 198.51.100.25 ran a dictionary attack on our mail server:\n"
            + "NOQUEUE: reject: RCPT from unknown[198.51.100.25]: 550 5.1.1 <a@isp.example>: Recipient address rejected: User unknown\n",
        "From: abuse@isp.example\nPrecedence: bulk\nSubject: Spam from your network\n\n"
            + "Spam from 198.51.100.25 reached our users; the copies sent to unknown users could not be delivered.\n",
    ])
    func aComplaintQuotingABouncesWordsIsAReport(_ text: String) {
        let report = TestMail.parse(text)
        #expect(report.status == .filed && report.sourceIPs == ["198.51.100.25"], "\(report.status) \(report.reason ?? "")")
    }

    /// CERTs mark their reports automatic and ask for an answer; that is no acknowledgement.
    @Test func anAutomaticReportAskingForAnAnswerIsAReport() {
        let report = TestMail.parse("""
            From: reports@cert.example
            Auto-Submitted: auto-generated
            Precedence: bulk
            Subject: [CERT-EX#20261205] Brute force attacks from your network

            Dear network owner, the host 198.51.100.25 in your network ran SSH brute force attacks.
            Please investigate and respond as soon as possible. This mailbox is not monitored.
            """)
        #expect(report.status == .filed && report.type == .networkAbuse && report.sourceIPs == ["198.51.100.25"], "\(report.status) \(report.reason ?? "")")
    }

    /// A ticket system's receipt for a complaint we sent, marked as RT and Zammad mark theirs:
    /// ignored, whatever of our complaint it quotes.
    @Test func aTicketSystemsReceiptIsIgnored() {
        let report = TestMail.parse("""
            From: support@hoster.example
            Auto-Submitted: auto-generated
            Precedence: bulk
            In-Reply-To: <complaint-1@isp.example>
            Subject: [Ticket#2026120510000042] Spam from 198.51.100.25

            We have received your message and a ticket has been created. Your message:
            > Spam from 198.51.100.25 reached our users.
            """)
        #expect(report.status == .ignored && report.format == .autoReply, "\(report.status) \(report.reason ?? "")")
    }

    /// A ticket system's acknowledgement that answers nothing of ours and names an address in its
    /// subject (WHMCS opening a ticket about our customer's IP) waits for a person, never ignored.
    @Test func aTicketOpenedAboutAnAddressWaitsForAPerson() {
        let report = TestMail.parse("""
            From: "Hoster Abuse" <abuse@hoster.example>
            Auto-Submitted: auto-generated
            Subject: [Ticket ID: 826031] 198.51.100.85 [login-attack] Abuse originating from IP you are using

            abuse@isp.example,

            Thank you for contacting our support team. A support ticket has now been opened for your request.
            Subject: 198.51.100.85 [login-attack] Abuse originating from IP you are using
            Status: Open
            """)
        #expect(report.status == .triage && report.reason?.hasPrefix("an automatic acknowledgement of a ticket") == true, "\(report.status) \(report.reason ?? "")")
    }

    /// A mail filter's notice that it stopped a message (a virus, a blocklisted server), sent to
    /// the often forged sender, names the sender's server: it is no complaint.
    @Test(arguments: [
        "From: noreply-BitDefender Antivirus <noreply@av.example>\nSubject: BitDefender Antivirus found an infected message\n\n"
            + "BitDefender Antivirus detected and blocked an infected message addressed to you\nFrom: [sales@198.51.100.25]\n",
        "From: Postmaster <postmaster@firma.example>\nSubject: Wiadomosc odrzucona/Blocked Message (RBL block)\n\n"
            + "Did not reach the recipient. This message was rejected by a RBL server.\n"
            + "The IP address of the blocked message is: 198.51.100.25, listed on SBL-XBL.SPAMHAUS.ORG\n",
    ])
    func aMailFiltersNoticeIsIgnored(_ text: String) {
        let report = TestMail.parse(text)
        #expect(report.status == .ignored && report.format == .deliveryStatus, "\(report.status) \(report.reason ?? "")")
    }

    /// A bounce is told by its machine part before any reader of reports looks at it: an NDR of a
    /// message whose subject reads like a DMARC failure report, returning our customer's original,
    /// was read as that report (typed phishing, traced to the customer, counted as a complaint).
    @Test(arguments: ["delivery-status", "disposition-notification"])
    func aBounceOrReceiptOfAMessageThatLooksLikeAReportIsIgnored(_ kind: String) {
        let report = TestMail.parse("""
            From: Mail System <postmaster@receiver.example>
            To: abuse@example.com
            Subject: Undeliverable: DMARC failure report
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=\(kind); boundary="b1"

            --b1
            Content-Type: text/plain

            Your message could not be delivered.
            --b1
            Content-Type: message/\(kind)

            Reporting-MTA: dns; receiver.example
            Final-Recipient: rfc822; someone@receiver.example
            Action: failed
            Status: 5.7.1

            --b1
            Content-Type: message/rfc822

            X-MailWarden-ID: AAAAAAAAAAAAAAAAAAAAAAAAAAAA
            From: shop@example.com
            Subject: DMARC failure report

            Sender IP Address: 192.0.2.9
            --b1--
            """)
        #expect(report.status == .ignored, "\(report.status) \(report.format) \(report.reason ?? "")")
        #expect(report.format == (kind == "delivery-status" ? .deliveryStatus : .autoReply))
    }

    /// A spam trap passes on what hit it whole: a bounce our server sent it (backscatter) is a trap
    /// hit, not a bounce to ignore.
    @Test func aSpamTrapsForwardOfABounceIsATrapHit() {
        let report = TestMail.parse("""
            X-HP-Abuse: YES
            X-HP-ConnectIP: 192.0.2.5
            From: MAILER-DAEMON@mx.example.com
            To: trap@honeypot.example
            Subject: Undelivered Mail Returned to Sender
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

            --b1
            Content-Type: text/plain

            This is the mail system at host mx.example.com.
            --b1
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example.com
            Final-Recipient: rfc822; nobody@victim.example
            Action: failed
            Status: 5.1.1

            --b1--
            """)
        #expect(report.format == .spamTrap, "\(report.status) \(report.format) \(report.reason ?? "")")
        #expect(report.sourceIPs == ["192.0.2.5"])
    }

    /// A CERT's automatic notice of infected hosts is a report, from noreply@ or not.
    @Test func aReportOfAnInfectedHostFromNoReplyIsAReport() {
        let report = TestMail.parse("""
            From: CERT-EX <noreply@cert.example>
            Subject: Infected host in your network: 198.51.100.25

            The host 198.51.100.25 in your network is infected with malware and contacts a botnet's command and control server.
            """)
        #expect(report.status == .filed && report.type == .malware && report.sourceIPs == ["198.51.100.25"], "\(report.status) \(report.reason ?? "")")
    }

    /// Automatic acknowledgements of a message we sent: from a mailbox that takes no answer, or a
    /// reply marked automatic in any way (a forum's `Auto-Submitted: auto-generated` on a `re:`).
    @Test(arguments: [
        "From: \"Registry\" <automated-notifications@nomail.agency.example>\nSubject: Case 1970/1234 - Acknowledgement of receipt\n\n"
            + "We hereby acknowledge the receipt of your request about 198.51.100.25.",
        "Return-Path: <MAILER-DAEMON>\nFrom: no_reply@behoerde.example\nSubject: E-Mail Empfangsbestätigung: Spam von 198.51.100.25 [#25054]\n\n"
            + "Guten Tag,\nvielen Dank für Ihre elektronische Nachricht.",
        "From: Jake <jake@isp.example>\nAuto-Submitted: auto-generated\nSubject: re: spam from 198.51.100.25\n\nThanks, noted.",
    ])
    func anAutomaticAcknowledgementIsIgnored(_ text: String) {
        let report = TestMail.parse(text)
        #expect(report.status == .ignored && report.format == .autoReply, "\(report.status) \(report.reason ?? "")")
    }

    /// A reporter's own reply may say it will be back, or quote an out-of-office line further
    /// down: it is a report (or correspondence on its case), never an automatic reply.
    @Test(arguments: [
        "Thanks for your answer. The host 198.51.100.9 is still spamming; I will be back with more logs tomorrow.",
        "The host 198.51.100.9 is still spamming us, see the logs below, which our admin sent before he went\n"
            + String(repeating: "log line: rejected spam from 198.51.100.9\n", count: 10) + "> Our admin is on vacation until Monday.",
    ])
    func aPersonsReplyIsNoAutomaticReply(_ text: String) {
        let report = TestMail.parse("From: admin@isp.example\nIn-Reply-To: <case-7@desk.example>\nSubject: Re: spam from your network\n\n" + text)
        #expect(report.status == .filed && report.sourceIPs == ["198.51.100.9"], "\(report.status) \(report.reason ?? "")")
    }

    /// A read receipt (RFC 8098) is an automatic notice, not a complaint, whatever it quotes.
    @Test func aReadReceiptIsIgnored() {
        let report = TestMail.parse("""
            From: Bob <bob@isp.example>
            Subject: Read: cheap pills from 198.51.100.25
            Content-Type: multipart/report; report-type=disposition-notification; boundary="r"

            --r
            Content-Type: text/plain

            Your message was displayed on the recipient's computer.
            --r
            Content-Type: message/disposition-notification

            Final-Recipient: rfc822; bob@isp.example
            Disposition: manual-action/MDN-sent-manually; displayed
            --r--
            """)
        #expect(report.status == .ignored && report.format == .autoReply, "\(report.status) \(report.reason ?? "")")
    }

    /// Outlook's read receipt within Exchange is `Read: <subject>` with the receipt in TNEF and no
    /// text; a report whose subject begins the same way but says something is still read.
    @Test func anOutlookReadReceiptIsIgnored() {
        let receipt = TestMail.parse("""
            From: "Test Sender" <sender@isp.example>
            To: abuse@isp.example
            Subject: Read: spam from 198.51.100.26
            Content-Type: application/ms-tnef; name="winmail.dat"
            Content-Transfer-Encoding: base64
            Content-Disposition: attachment; filename="winmail.dat"

            eJ8+IgAAAQaQCAAEAAAAAAABAAEAAQeQBgAIAAAA5AQAAAAAAADoAAEIgAcAGAAAAElQTS5Ob3Rp
            """)
        #expect(receipt.status == .ignored && receipt.format == .autoReply, "\(receipt.status) \(receipt.reason ?? "")")
        let report = TestMail.parse("""
            From: Reporter <reporter@mail.example>
            To: abuse@isp.example
            Subject: Read: spam from 198.51.100.26
            Content-Type: text/plain

            Spam received from 198.51.100.26 again today, please stop it.
            """)
        #expect(report.status == .filed && report.sourceIPs == ["198.51.100.26"], "\(report.status) \(report.reason ?? "")")
        // No text, but a list attached: read, not taken for a receipt.
        let list = TestMail.parse("""
            From: Reporter <reporter@mail.example>
            To: abuse@isp.example
            Subject: Read: attackers of the week
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/csv; name="attackers.csv"
            Content-Disposition: attachment; filename="attackers.csv"

            ip,type
            198.51.100.27,ssh brute force
            --b--
            """)
        #expect(list.status != .ignored, "\(list.status) \(list.reason ?? "")")
    }

    @Test func bouncesAreIgnoredEvenWithoutTheReportType() {
        let report = TestMail.parse("""
            From: MAILER-DAEMON@mx.example
            Subject: Undelivered Mail
            Content-Type: multipart/mixed; boundary="d"

            --d
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example
            Final-Recipient: rfc822; x@192.0.2.1
            --d--
            """)
        #expect(report.status == .ignored)
        #expect(report.format == .deliveryStatus)
    }
}

@Suite struct ACNSTests {
    @Test func anAttachedNoticeAlone() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <acns:Infringement xmlns:acns="http://www.acns.net/ACNS">
             <acns:Case><acns:ID>A-1</acns:ID></acns:Case>
             <acns:Source>
              <acns:TimeStamp>2022-02-02T02:02:02Z</acns:TimeStamp>
              <acns:IP_Address>2001:db8::abcd</acns:IP_Address>
              <acns:Port>6881</acns:Port>
             </acns:Source>
             <!-- comment <IP_Address>192.0.2.1</IP_Address> -->
            </acns:Infringement>
            """
        let report = TestMail.parse("""
            From: notices@agent.example
            Subject: Notice
            Content-Type: multipart/mixed; boundary="n"

            --n
            Content-Type: application/xml; name="notice.xml"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(Array(xml.utf8)))
            --n--
            """)
        #expect(report.format == .acns)
        #expect(report.type == .copyright)
        #expect(report.sourceIPs == ["2001:db8::abcd"])
        #expect(report.receivedAt == 1_643_767_322)
        #expect(report.fields.value("Case-ID") == "A-1")
        #expect(report.fields.value("Port") == "6881")
    }
}

/// The offender in a forwarded original's Received chain: past local hand-offs, the reporter's own
/// relays, private networks and providers' internal hops.
@Suite struct ReceivedChainTests {
    /// A complaint that names no source, forwarding an original with these Received fields.
    static func forwarded(_ received: String) -> AbuseReport {
        TestMail.parse("""
            From: someone@isp.example
            Subject: Fw: spam
            Content-Type: multipart/mixed; boundary="s"

            --s
            Content-Type: text/plain

            I got this spam, please stop it.
            --s
            Content-Type: message/rfc822

            \(received)
            From: x@sender.example
            Subject: Cheap pills

            buy
            --s--
            """)
    }

    @Test func theReportersOwnHopsAreWalkedPast() {
        let report = Self.forwarded("""
            Received: by mailstore.isp.example (Postfix, from userid 1000)
            Received: from filter.isp.example (filter.isp.example [10.0.0.7]) by mailstore.isp.example
            Received: from mx1.isp.example (mx1.isp.example [203.0.113.5]) by filter.isp.example
            Received: from mx1.isp.example (unknown [198.51.100.7]) by mx1.isp.example
            Received: from laptop (laptop.lan [192.168.1.20]) by unknown
            """)
        // A HELO that claims the reporter's name is the client's to choose: rDNS `unknown` is not ours.
        #expect(report.sourceIPs == ["198.51.100.7"])
    }

    /// qmail writes the client's HELO in a comment of its own before the address it saw. A HELO
    /// that is an address is still the client's word: a spammer can name anyone's server in it.
    @Test func anAddressTheClientGaveAsItsHELOIsNotTheSource() {
        for helo in ["192.0.2.77", "[192.0.2.77]"] {
            let report = Self.forwarded("""
                Received: from unknown (HELO \(helo)) (198.51.100.80)
                  by mx.isp.example with SMTP; 11 Nov 2003 15:07:06 -0000
                """)
            #expect(report.sourceIPs == ["198.51.100.80"], "HELO \(helo)")
        }
    }

    /// Exchange-style fields record no reverse name (`from host (ip)`): a relay calling itself the
    /// reporter's server that took the older hop is the reporter's; one whose reverse name says
    /// otherwise, or whose claim the chain does not bear out, is not.
    @Test func theReportersRelayWithNoReverseNameIsWalkedPast() {
        let relay = Self.forwarded("""
            Received: from mx2.isp.example (198.51.100.30) by store4.mailhost.example
            Received: from sender.example ([203.0.113.44]) by mx2.isp.example
            """)
        #expect(relay.sourceIPs == ["203.0.113.44"])
        let reverseNameDisagrees = Self.forwarded("""
            Received: from mx2.isp.example (liar.example [198.51.100.30]) by store4.mailhost.example
            Received: from sender.example ([203.0.113.44]) by mx2.isp.example
            """)
        #expect(reverseNameDisagrees.sourceIPs == ["198.51.100.30"])
        let notBorneOut = Self.forwarded("""
            Received: from mx2.isp.example (198.51.100.30) by store4.mailhost.example
            Received: from sender.example ([203.0.113.44]) by mx9.isp.example
            """)
        #expect(notBorneOut.sourceIPs == ["198.51.100.30"])
    }

    /// A hosting company's outbound relay is shared by its customers: the web server that handed
    /// the spam to it, named in the relay's own domain, is the source. A client the relay's
    /// organisation does not name as its own stays behind the relay.
    @Test func theSendersOwnRelayIsFollowedToTheHostBehindIt() {
        let hosting = Self.forwarded("""
            Received: from outgoing3.relay.hosting.example (outgoing3.relay.hosting.example [198.51.100.40]) by mx.mailbox.example
            Received: from web12.hosting.example ([203.0.113.12]) by filter2.hosting.example with esmtpsa
            Received: from localhost ([127.0.0.1] helo=web12.hosting.example) by web12.hosting.example
            """)
        #expect(hosting.sourceIPs == ["203.0.113.12"])
        let stranger = Self.forwarded("""
            Received: from outgoing3.relay.hosting.example (outgoing3.relay.hosting.example [198.51.100.40]) by mx.mailbox.example
            Received: from bot.example ([203.0.113.13]) by filter2.hosting.example
            """)
        #expect(stranger.sourceIPs == ["198.51.100.40"])
        let unnamed = Self.forwarded("""
            Received: from outgoing3.relay.hosting.example (outgoing3.relay.hosting.example [198.51.100.40]) by mx.mailbox.example
            Received: from web12.hosting.example (203.0.113.12) by filter2.hosting.example
            """)
        #expect(unnamed.sourceIPs == ["198.51.100.40"])
    }

    @Test func aProvidersInternalRelaysAreWalkedPast() {
        let gmail = Self.forwarded("""
            Received: by 2002:a05:6a10:8e0a:b0:5c1:2d3e:4f50 with SMTP id h10csp123456pxb;
            Received: from mail.sender.example (mail.sender.example. [198.51.100.61]) by mx.google.com with ESMTPS id x1si1
            """)
        #expect(gmail.sourceIPs == ["198.51.100.61"])
        let outlook = Self.forwarded("""
            Received: from AM0PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:208:1::5) by AM9PR02MB5678.eurprd02.prod.outlook.com with HTTPS
            Received: from DB5PR03MB9999.eurprd03.prod.outlook.com (2603:10a6:10:2::1) by AM0PR02MB1234.eurprd02.prod.outlook.com
            Received: from spam.example (198.51.100.9) by DB5EUR03FT012.mail.protection.outlook.com (10.152.20.150) with Microsoft SMTP Server
            """)
        #expect(outlook.sourceIPs == ["198.51.100.9"])
        let exim = Self.forwarded("Received: from host.sender.example ([2001:db8::25] helo=pills) by mx.isp.example with esmtp")
        #expect(exim.sourceIPs == ["2001:db8::25"])
    }

    @Test func aChainOfPrivateHopsNamesNoSource() {
        let report = Self.forwarded("""
            Received: from app1 (app1.internal [10.1.2.3]) by relay.corp.example
            Received: from [172.16.0.9] (helo=x) by app1
            Received: from 6to4 (2002:c000:201::1) by relay.corp.example
            """)
        #expect(report.sourceIPs.isEmpty)
    }

    @Test func nonPublicAddresses() {
        let nonPublic = ["10.0.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "127.0.0.1", "169.254.1.1", "0.1.2.3", "224.0.0.5",
                        "255.255.255.255", "198.18.0.1", "::1", "fe80::1", "fd00::1", "2002:c000:201::1", "2001:0:53aa:64c::1",
                        "2603:10a6:208:1::5", "::ffff:10.0.0.1"]
        let publicOnes = ["198.51.100.7", "203.0.113.5", "192.0.2.1", "8.8.8.8", "172.32.0.1", "2001:db8::1", "2a01:111:f400::1",
                          "2603:1100::1", "100.128.0.1"]
        #expect(nonPublic.filter { IPAddress($0)?.isInternal != true } == [])
        #expect(publicOnes.filter { IPAddress($0)?.isInternal != false } == [])
    }
}

/// CERT notices that name only their own site in the text and list the addresses in an attached file.
@Suite struct AttachedListTests {
    static func notice(_ attachment: String, type: String = "application/octet-stream", name: String = "hosts.txt") -> AbuseReport {
        TestMail.parse("""
            From: reports@cert.example
            To: abuse@isp.example
            Subject: Infected hosts in your network
            Content-Type: multipart/mixed; boundary="s"

            --s
            Content-Type: text/plain

            Dear abuse team,
            the hosts in the attached file are infected with the Mirai botnet malware.
            More about this notice: https://www.cert.example/notices/mirai
            --s
            Content-Type: \(type); name="\(name)"
            Content-Disposition: attachment; filename="\(name)"
            Content-Transfer-Encoding: base64

            \(Data(attachment.utf8).base64EncodedString(options: .lineLength76Characters))
            --s--
            """)
    }

    @Test func theAddressesOfAnAttachedListAreTheSubjectsNotTheCERTsSite() {
        let report = Self.notice("198.51.100.1 2026-12-01T10:00:00Z mirai\n198.51.100.2 2026-12-01T10:05:00Z mirai\n198.51.100.1 again\n")
        #expect(report.format == .freeText)
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.1", "198.51.100.2"])
        #expect(report.type == .malware)
        #expect(report.status == .filed)
    }

    /// CERT.br zips its list as a `.txt` (`address | AS | OPEN | time | service`), UCEPROTECT too,
    /// and lists come as `.tsv` declared octet-stream: the addresses are the subjects.
    @Test func aListZippedOrInATSVIsRead() {
        let list = "198.51.100.10     | 64500  | OPEN   | 2019-12-04T11:33:32Z | mdns: open/1/97\n"
            + "198.51.100.50     | 64500  | OPEN   | 2019-12-04T11:33:32Z | mdns: open/1/117\n"
        let zip = TestMail.storedZIP([("64500.txt", Array(list.utf8))])
        let zipped = TestMail.parse("""
            From: cert@cert.example
            Subject: Alert: [AS 64500] open mDNS service
            Content-Type: multipart/mixed; boundary="s"

            --s
            Content-Type: text/plain

            Dear abuse team, the addresses in the attached file run an open mDNS service (5353/udp),
            which is used in amplification attacks.
            --s
            Content-Type: application/x-zip-compressed; name="64500.zip"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(zip))
            --s--
            """)
        #expect(zipped.status == .filed && zipped.type == .networkAbuse, "\(zipped.status) \(zipped.reason ?? "")")
        #expect(zipped.bulkEntries.map(\.source) == ["198.51.100.10", "198.51.100.50"])
        let tsv = Self.notice("198.51.100.146\tSNMPv3 (UDP 161)\n198.51.100.147\tSNMPv3 (UDP 161)\n", name: "hosts.tsv")
        #expect(tsv.bulkEntries.map(\.source) == ["198.51.100.146", "198.51.100.147"])
    }

    /// CERTs send their lists as spreadsheets (`.xlsx`): the addresses in its cells are the subjects.
    /// IODEF (RFC 5070) documents: the source System's addresses are the offenders (not the
    /// target's); a named impact types the report, a bare compromise (`admin`) only when no
    /// words say more.
    @Test func anIODEFDocumentsSourceIsTheOffender() {
        func iodef(impact: String, method: String, text: String = "Attached is an Iodef file.",
                   source: String = #"<iodef:Address category="ipv4-addr">198.51.100.95</iodef:Address>"#) -> AbuseReport {
            let document = """
                <?xml version="1.0" encoding="UTF-8"?>
                <IODEF-Document version="1.00" xmlns:iodef="urn:ietf:params:xml:ns:iodef-1.0">
                  <iodef:Incident purpose="reporting">
                    <iodef:DetectTime>2018-01-08T16:52:02+01:00</iodef:DetectTime>
                    <iodef:Assessment><iodef:Impact severity="low" type="\(impact)">new</iodef:Impact></iodef:Assessment>
                    <iodef:Method><iodef:Reference><iodef:ReferenceName>\(method)</iodef:ReferenceName></iodef:Reference></iodef:Method>
                    <iodef:EventData><iodef:Flow>
                      <iodef:System category="source"><iodef:Node>
                        <iodef:Address category="asn">64500</iodef:Address>
                        \(source)
                      </iodef:Node></iodef:System>
                      <iodef:System category="target"><iodef:Node>
                        <iodef:Address category="ipv4-addr">203.0.113.95</iodef:Address>
                      </iodef:Node></iodef:System>
                    </iodef:Flow></iodef:EventData>
                  </iodef:Incident>
                </IODEF-Document>
                """
            return TestMail.parse("""
                From: reports@clearinghouse.example
                Subject: [Clearinghouse] [198.51.100.95] Incident Report
                Content-Type: multipart/mixed; boundary="b"

                --b
                Content-Type: text/plain

                \(text)
                --b
                Content-Type: application/xml; name="iodef.xml"

                \(document)
                --b--
                """)
        }
        let dos = iodef(impact: "dos", method: "")
        #expect(dos.status == .filed && dos.format == .iodef && dos.type == .networkAbuse && dos.sourceIPs == ["198.51.100.95"],
                "\(dos.status) \(dos.format) \(String(describing: dos.type)) \(dos.sourceIPs)")
        #expect(iodef(impact: "admin", method: "").type == .malware)
        #expect(iodef(impact: "admin", method: "", text: "We received spam from 198.51.100.95.").type == .spam)
        #expect(iodef(impact: "admin", method: "DDoS reflector").type == .networkAbuse, "the method's words before a bare compromise")
        // RFC 5070's network categories: a prefix length or a contiguous mask; a /32 is an address.
        for (category, text, networks, ips) in [
            ("ipv4-net", "198.51.100.77/24", ["198.51.100.0/24"], [String]()),
            ("ipv4-net-mask", "198.51.100.77/255.255.255.128", ["198.51.100.0/25"], []),
            ("ipv6-net-mask", "2001:db8:5::/ffff:ffff:ffff::", ["2001:db8:5::/48"], []),
            ("ipv4-net", "198.51.100.7/32", [], ["198.51.100.7"]),
        ] {
            let report = iodef(impact: "dos", method: "", source: #"<iodef:Address category="\#(category)">\#(text)</iodef:Address>"#)
            #expect(report.format == .iodef && report.sourceNetworks == networks && report.sourceIPs == ips,
                    "\(category) \(text): \(report.format) \(report.sourceNetworks) \(report.sourceIPs)")
        }
        let holes = iodef(impact: "dos", method: "", source: #"<iodef:Address category="ipv4-net-mask">198.51.100.0/255.0.255.0</iodef:Address>"#)
        #expect(holes.format != .iodef && holes.sourceNetworks.isEmpty, "a mask with holes names no network")
    }

    @Test func theAddressesInAnAttachedSpreadsheetAreRead() {
        let strings = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">\
            <si><t>IP Address</t></si><si><t>Activity</t></si><si><t>198.51.100.70</t></si><si><t>198.51.100.71</t></si>\
            <si><t>SSH brute force &amp; scans</t></si></sst>
            """
        let sheet = "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row></sheetData></worksheet>"
        let xlsx = TestMail.storedZIP([("xl/sharedStrings.xml", Array(strings.utf8)), ("xl/worksheets/sheet1.xml", Array(sheet.utf8))])
        let report = TestMail.parse("""
            From: cert@cert.example
            Subject: Malicious activity from your network
            Content-Type: multipart/mixed; boundary="s"

            --s
            Content-Type: text/plain

            Dear abuse team, the hosts in the attached spreadsheet ran SSH brute force attacks against our network.
            --s
            Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="hosts.xlsx"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(xlsx))
            --s--
            """)
        #expect(report.status == .filed && report.type == .networkAbuse, "\(report.status) \(report.reason ?? "")")
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.70", "198.51.100.71"])
    }

    @Test func oneAttachedAddressIsTheSource() {
        let report = Self.notice("src=203.0.113.44 port=23\n", type: "text/plain", name: "details.log")
        #expect(report.sourceIPs == ["203.0.113.44"])
        #expect(report.bulkEntries.isEmpty)
    }

    @Test func anImageAttachmentIsNotRead() {
        let report = Self.notice("198.51.100.1\n198.51.100.2\n", type: "image/png", name: "logo.png")
        #expect(report.sourceIPs.isEmpty && report.bulkEntries.isEmpty)
    }
}

@Suite struct TypeVoteTests {
    /// Attack logs that name no attack by its name: "unwanted network activity … target port 23",
    /// "malicious traffic … Destination Port: TCP 80", "Illegal Resource Access".
    @Test func attackLogsWithoutTheAttacksNameAreNetworkAbuse() {
        for text in [
            "We have detected unwanted network activity from the IP-address 198.51.100.38 towards networks we operate.\n"
                + "2021-06-20 20:13:05 UTC - protocol tcp, target port 23, source port 40454",
            "There is malicious traffic coming to our servers from IP address belonging to you.\nIP address: 198.51.100.4\n"
                + "Destination Port: TCP 80\nPlease, take actions to stop the malicious requests.",
            "Report Abuse Form IP 198.51.100.95 we detected on IP have carried out Illegal Resource Access.",
        ] {
            #expect(AbuseType(keywordsIn: text) == .networkAbuse, "\(text)")
        }
    }

    /// What CERTs and reporters write without the usual names: a malicious redirection, a German
    /// Schadprogramm or Netzwerkscan, a vulnerability (`CVE-…`, vulnerável), an open directory,
    /// a break-in, a defacement, intellectual property, BitTorrent.
    @Test(arguments: [
        ("INCIBE-CERT has been made aware of a malicious redirection in the following URL/s: https://short.example/Gc", AbuseType.phishing),
        ("Hinweis auf SystemBC-Schadprogramm-Infektionen in Ihrem Netzbereich", .malware),
        ("ein Partner hat uns über Netzwerkscans von Ihrem Netzwerk ausgehend informiert", .networkAbuse),
        ("Wordpress plugin LearnPress (CVE-2023-6634) on sites in your network", .networkAbuse),
        ("O CERT.br tem recebido relatórios sobre endereços IP que executam versões vulneráveis do dnsmasq", .networkAbuse),
        ("Cyber security incident [ Open Directory -- shop.example -- 198.51.100.40 ]", .networkAbuse),
        ("Somebody from your domain has been attempting to break into my domain", .networkAbuse),
        ("Defaced web page in your constituency", .networkAbuse),
        ("Violazione dei diritti di proprietà intellettuale attraverso il sito web www.shop.example", .copyright),
        ("Notice ID: 222166599688 Asset: A FILM Protocol: BitTorrent IP Address: 198.51.100.41", .copyright),
    ])
    func wordsBeyondTheUsualNamesVote(text: String, type: AbuseType) {
        #expect(AbuseType(keywordsIn: text) == type, "\(text)")
    }

    /// fail2ban's report names no attack ("an email abuse report about the IP address …" and a WHOIS
    /// answer): the tool's name in From says what it bans. Other senders stay untyped.
    @Test func fail2bansReportIsNetworkAbuse() {
        let text = "This is an email abuse report about the IP address 198.51.100.42 generated at Tue Aug 22 12:34:39 2017\n"
            + "You get this email because you are listed as the official abuse contact for this IP address.\n"
        let banned = TestMail.parse("From: fail2ban@host.example\nSubject: Automatic abuse report for IP address 198.51.100.42\n\n\(text)")
        #expect(banned.status == .filed && banned.type == .networkAbuse && banned.sourceIPs == ["198.51.100.42"], "\(banned.status) \(banned.reason ?? "")")
        let other = TestMail.parse("From: admin@host.example\nSubject: Automatic abuse report for IP address 198.51.100.42\n\n\(text)")
        #expect(other.status == .triage && other.type == nil, "\(other.status) \(other.reason ?? "")")
    }

    /// When two types weigh the same, the one the reporter names first wins ("Sending SPAM or
    /// FRAUD Emails" is spam, "Fraud and spam" phishing); a forwarded complaint's stated type
    /// (`- Abuse type: SPAM`) outweighs its words.
    @Test func theTypeNamedFirstWinsATie() {
        #expect(AbuseType(keywordsIn: "Issue : Sending SPAM or FRAUD Emails") == .spam)
        #expect(AbuseType(keywordsIn: "Fraud and spam from your network") == .phishing)
        #expect(AbuseType(keywordsIn: "Spam. Fraud.", subject: "Fwd: offer") == .spam)
        #expect(AbuseType(keywordsIn: "fraud", subject: "Spam from 198.51.100.9") == .spam, "the subject is read first")
        let forwarded = TestMail.parse("""
            From: reports@reporter.example
            Subject: Abuse report for: shop.example
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            This is an abuse report for a resource you manage
            - Resource: shop.example
            - Abuse type: SPAM
            It asks the recipient to confirm an account (phishing protection: fraud team notified).
            --b
            Content-Type: message/rfc822

            Received: from mail.shop.example (mail.shop.example [198.51.100.90]) by mx.reporter.example
            From: Shop <news@shop.example>
            Subject: confirm

            Confirm your phishing-safe account.
            --b--
            """)
        #expect(forwarded.type == .spam, "\(String(describing: forwarded.type))")
    }

    /// Google Safe Browsing's notices name their kind: social engineering URLs are phishing,
    /// unwanted software malware; the service's name in the subject only leans to malware.
    @Test func safeBrowsingNoticesAreTypedByTheKindTheyName() {
        let subject = "Safe Browsing Report for ASN64500 (EXAMPLE) on 04/23/2017"
        #expect(AbuseType(keywordsIn: "Google detected 5 social engineering URLs:", subject: subject) == .phishing)
        #expect(AbuseType(keywordsIn: "Google detected 7 unwanted software URLs:", subject: subject) == .malware)
        #expect(AbuseType(keywordsIn: "Google detected 1 suspicious URLs:", subject: subject) == .malware)
    }

    /// A virus scanner's footer ("has been scanned for threats") votes for no attack and no malware.
    @Test func aScannersFooterDoesNotVote() {
        let text = """
            Spam complaint from UOL: an email abuse report for a message received from IP 198.51.100.203.
            This email has been scanned for email related threats and delivered safely by Mimecast.
            This email has been checked for viruses by Avast antivirus software.
            """
        #expect(AbuseType(keywordsIn: text) == .spam)
    }

    /// A blocklist's notice says "spam" throughout its boilerplate; the field it fills says what it listed.
    @Test func theTypeAReportStatesOutweighsTheVoteOfItsWords() {
        let report = TestMail.parse("""
            From: notification@blocklist.example
            Subject: Notify: IP 198.51.100.30 added to the Block List

            This is an automated message from the anti-spam block list to advise you that the IP below
            has been listed. Spam, spammers, spam operations: see our anti-spam policy.

            IP/cidr: 198.51.100.30
            Problem: MasterCard phishing site @198.51.100.30

            Tell us how the spam problem was terminated to have the spam listing removed.
            """)
        #expect(report.status == .filed && report.type == .phishing && report.sourceIPs == ["198.51.100.30"], "\(String(describing: report.type))")
        #expect(AbuseType(keywordsIn: "W32.Opaserv Worm? from your network") == .malware)
    }

    /// A ticket system forwards Spamhaus's notice as an attachment: its `Problem:` line is still
    /// the stated type, over the subject's "Spamhaus Block List".
    @Test func aTypeStatedInAnAttachedTextOutweighsTheVote() {
        let report = TestMail.parse("""
            From: abuse@upstream.example
            Subject: [#787048] SBL Notify: IP: 198.51.100.30 added to Spamhaus Block List (SBL)
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            We recorded abusive activity from your IP address 198.51.100.30, see the spam block list notice.
            --b
            Content-Type: text/plain
            Content-Disposition: attachment

            IP/cidr: 198.51.100.30
            Problem: Phishing server
            --b--
            """)
        #expect(report.status == .filed && report.type == .phishing && report.sourceIPs == ["198.51.100.30"], "\(String(describing: report.type))")
    }

    /// A ticket system that forwards a report links its own ticket: that site, named in the
    /// subject's tag, and the originator RT names are the reporter's, never reported.
    @Test func theForwardingTicketSystemsSiteIsNotReported() {
        let report = TestMail.parse("""
            From: "abuse@upstream.example via RT" <abuse@desk.example>
            X-RT-Originator: abuse@upstream.example
            Subject: [rt.tickets.example #787048] Phishing site on 198.51.100.30

            Ticket <URL: https://rt.tickets.example/Ticket/Display.html?id=787048 >
            Requestors: abuse@upstream.example
            The phishing site http://login-bank.example/verify is hosted on 198.51.100.30.
            """)
        #expect(report.status == .filed && report.type == .phishing)
        #expect(report.domains == ["login-bank.example"])
        #expect(ReportThreading.ticketSystemHosts(inSubject: "[rt.a.example #1] x [CERT-Bund#2024] [b.example #2]") == ["rt.a.example", "b.example"])
    }

    /// fail2ban's complain action and WordPress login floods are brute force.
    @Test func fail2bansComplaintIsNetworkAbuse() {
        #expect(AbuseType(keywordsIn: """
            We have detected abuse from the IP address 198.51.100.7, which appears to be on your network.
            Lines containing failures of 198.51.100.7 (max 1000)
            198.51.100.7 - - [19/Apr/2026:03:09:22 +0200] "POST /xmlrpc.php HTTP/2.0" 200 414 "-" "Mozilla/5.0"
            """) == .networkAbuse)
    }

    /// What attack reports, phishing takedown requests and feedback loops say without the usual words.
    @Test(arguments: [
        ("We noticed malicious activity from 198.51.100.7 against our servers; log lines below.", AbuseType.networkAbuse),
        ("sshd[123]: Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2", .networkAbuse),
        ("Account Takeover Attempts from 198.51.100.7: credential stuffing against our login page.", .networkAbuse),
        ("Deceptive site removal request: the fake website http://bank.example.test/ imitates our client.", .phishing),
        ("A webshell was found on the compromised server 198.51.100.7.", .malware),
        ("[Hotmail FBL] Incident Report for 198.51.100.7", .spam),
    ])
    func wordsOfReportsThatNameNoUsualType(_ text: String, _ type: AbuseType) {
        #expect(AbuseType(keywordsIn: text) == type)
    }

    /// fail2ban pastes the offender's WHOIS record: ARIN's `# Copyright` line is no copyright report.
    @Test func aPastedWhoisCopyrightLineDoesNotVote() {
        let text = """
            Lines containing failures of 198.51.100.7 (max 1000)
            #
            # ARIN WHOIS data and services are subject to the Terms of Use
            # Copyright 1997-2024, American Registry for Internet Numbers, Ltd.
            #
            """
        #expect(AbuseType(keywordsIn: text) == .networkAbuse)
    }

    @Test func aPastedNewslettersCopyrightFooterDoesNotOutvoteSpam() {
        let text = """
            I keep getting this spam although I never signed up. Please stop it.

            Big sale! Everything must go.
            Copyright © 2026 Shop Example. All rights reserved.
            Copyright (c) 2026 Shop Example Ltd, copyright notices, copyright, copyright
            """
        #expect(AbuseType(keywordsIn: text) == .spam)
        #expect(AbuseType(keywordsIn: "We received a DMCA copyright infringement notice for your customer.") == .copyright)
    }

    /// A pasted header's virus-scanner stamps say the mail was scanned, not that it was malware.
    @Test func virusScannerStampsDoNotVote() {
        let text = """
            Please stop this spam.
            > X-Virus-Scanned: ClamAV using ClamSMTP, virus database updated
            > X-Virus-Status: Clean (no virus found)
            > X-Virus-Checked: Checked by the virus scanner
            """
        #expect(AbuseType(keywordsIn: text) == .spam)
    }

    @Test func shadowserverReportFamilies() {
        #expect(AbuseType(keywordsIn: "", subject: "[Shadowserver] Accessible RDP Report: AS64500 2026-12-01") == .networkAbuse)
        #expect(AbuseType(keywordsIn: "", subject: "Shadowserver Block Listed Report for 2026-12-01") == .spam)
        #expect(AbuseType(named: "accessible_smb") == .networkAbuse)
        // A clear-text POP3 notice mentions credentials, but is about an accessible service.
        #expect(AbuseType(keywordsIn: "", subject: "Accessible POP3 service sends credentials in clear text") == .networkAbuse)
    }
}

@Suite struct DMARCAggregateTests {
    static let xml = """
        <?xml version="1.0" encoding="UTF-8" ?>
        <feedback xmlns="http://dmarc.org/dmarc-xml/0.1">
          <report_metadata><org_name>receiver.example</org_name><email>noreply-dmarc@receiver.example</email>
            <report_id>42</report_id><date_range><begin>1764547200</begin><end>1764633600</end></date_range></report_metadata>
          <policy_published><domain>isp.example</domain><p>reject</p><pct>100</pct></policy_published>
          <record><row><source_ip>198.51.100.3</source_ip><count>7</count>
            <policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
            <identifiers><header_from>isp.example</header_from></identifiers></record>
        </feedback>
        """

    static func report(subject: String, type: String, name: String) -> AbuseReport {
        TestMail.parse("""
            From: noreply-dmarc@receiver.example
            To: abuse@isp.example
            Subject: \(subject)
            Content-Type: multipart/mixed; boundary="s"

            --s
            Content-Type: text/plain

            This is an aggregate report from receiver.example.
            --s
            Content-Type: \(type); name="\(name)"
            Content-Disposition: attachment; filename="\(name)"

            \(xml)
            --s--
            """)
    }

    @Test func anAggregateReportIsIgnoredNeverFiled() {
        for report in [
            Self.report(subject: "Report domain: isp.example Submitter: receiver.example Report-ID: <42>", type: "application/octet-stream",
                        name: "data.bin"),
            Self.report(subject: "DMARC report", type: "application/zip", name: "receiver.example!isp.example!1764547200!1764633600.zip"),
            Self.report(subject: "DMARC report", type: "text/xml", name: "report.xml"),
        ] {
            #expect(report.format == .dmarcAggregate)
            #expect(report.status == .ignored && report.sourceIPs.isEmpty && report.domains.isEmpty)
        }
    }
}

@Suite struct LineEndingTests {
    /// A complaint with CRLF line ends and a copyright footer: the footer line alone is boilerplate,
    /// the complaint's words still vote (a CRLF text read as one line lost them all).
    @Test func aCRLFComplaintKeepsItsWordsBesideAFooter() {
        let report = TestMail.parse("""
            From: someone@isp.example
            Subject: Complaint about 198.51.100.7
            Content-Type: text/plain

            I keep receiving spam from 198.51.100.7, please stop it.

            Shop newsletter. © 2023 Shop Ltd. All rights reserved.
            """, ending: "\r\n")
        #expect(report.status == .filed && report.type == .spam && report.sourceIPs == ["198.51.100.7"], "\(report.status) \(report.reason ?? "")")
    }

    /// Every corpus report reads the same with bare CR and with CRLF line endings as with LF.
    @Test func bareCRAndCRLFLineEndingsReadLikeLF() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/reports")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") }.sorted()
        #expect(files.count > 20)
        for file in files {
            let raw = try [UInt8](Data(contentsOf: directory.appendingPathComponent(file)))
            var lf: [UInt8] = []
            for (i, b) in raw.enumerated() where !(b == 0x0D && i + 1 < raw.count && raw[i + 1] == 0x0A) { lf.append(b) }
            let asLF = ReportParser.parse(lf)
            let asCR = ReportParser.parse(lf.map { $0 == 0x0A ? 0x0D : $0 })
            let asCRLF = ReportParser.parse(lf.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] })
            func summary(_ r: AbuseReport) -> String { "\(r.format) \(r.status) \(r.type.map(\.rawValue) ?? "-") \(r.sourceIPs)" }
            #expect(summary(asCR) == summary(asLF), "\(file)")
            #expect(summary(asCRLF) == summary(asLF), "\(file) with CRLF")
        }
    }
}

/// A complaint that names the attacker in its prose and then lists the servers it attacked is
/// about the attacker: the victims are neither cases nor the source.
@Suite struct VictimListTests {
    static func complaint(_ body: String) -> AbuseReport {
        TestMail.parse("""
            From: noc@hosting.example
            To: abuse@isp.example
            Subject: SSH brute force from your network

            \(body)
            """)
    }

    /// `ip:` lines under a heading that names targets (`it was targeting our ips :`) are victims,
    /// though `ip` labels a source elsewhere; the heading's list ends at a blank line.
    @Test func labelledAddressesUnderATargetHeadingAreVictims() {
        let report = Self.complaint("""
            Your IP 198.51.100.62 has been filtered due to brute force during last days

            it was targeting our ips (list is limited to 20) :
            ip: 203.0.113.30
            ip: 203.0.113.31

            it was targeting this ports (list is limited to 10):
            port: 22
            """)
        #expect(report.sourceIPs == ["198.51.100.62"] && report.status == .filed, "\(report.sourceIPs)")
        let labelled = Self.complaint("Offender:\nip: 198.51.100.63\n\nThanks.")
        #expect(labelled.sourceIPs == ["198.51.100.63"], "\(labelled.sourceIPs)")
    }

    @Test func theOffenderNamedInProseIsTheSourceNotTheListedVictims() {
        let report = Self.complaint("""
            Hello, your host 198.51.100.23 ran an SSH brute force attack.
            The following servers of ours were attacked:
            203.0.113.10
            203.0.113.11
            203.0.113.12
            Please stop it.
            """)
        #expect(report.sourceIPs == ["198.51.100.23"])
        #expect(report.bulkEntries.isEmpty)
        #expect(report.status == .filed)
    }

    /// A heading that says its addresses attacked us ("have attacked our systems") lists the
    /// offenders, even after a list of the victims; `/32` names one address.
    @Test func addressesThatHaveAttackedUsAreTheSource() {
        let report = Self.complaint("""
            The following addresses were attacked from your network:

            203.0.113.20
            203.0.113.21

            The following systems or IP addresses have attacked our systems:

            198.51.100.60

            Blocked IP / net range   : 198.51.100.60/32
            """)
        #expect(report.sourceIPs == ["198.51.100.60"] && report.status == .filed, "\(report.sourceIPs) \(report.status)")
        #expect(IndicatorScanner.ips(in: "IP/cidr: 198.51.100.61/32, 2001:db8::7/128, net 198.51.100.0/24").items.map(\.description)
            == ["198.51.100.61", "2001:db8::7"])
    }

    /// A web form's report as HTML: each label a heading, its value the paragraph below. The source
    /// is a network; the network in the summary's prose is the range that was attacked.
    @Test func anHTMLFormsLabelsAboveTheirValuesAreRead() {
        let report = TestMail.parse("""
            From: abuse@cdn.example
            To: abuse@isp.example
            Subject: Abuse Detected - Network Abuse
            Content-Type: text/html; charset="UTF-8"

            <h3>Abuse Type</h3><p>network-abuse</p><h3>Abuse</h3><p>attacks on our edge</p>\
            <h3>Source Ip Address</h3><p>198.51.100.77/24</p><h3>Summary</h3><p>floods against 203.0.113.0/24</p>
            """)
        #expect(report.status == .filed && report.type == .networkAbuse, "\(report.status) \(report.reason ?? "")")
        #expect(report.sourceNetworks == ["198.51.100.0/24"] && report.sourceIPs.isEmpty, "\(report.sourceNetworks) \(report.sourceIPs)")
    }

    /// A network is the source only where nothing narrower is: an address under a source label wins,
    /// and a network in prose (`net range`) is never a source.
    @Test func anAddressOutranksANetworkAndProseNamesNoNetwork() {
        let both = Self.complaint("Source IP: 198.51.100.60\nSource network: 198.51.100.0/24\n")
        #expect(both.sourceIPs == ["198.51.100.60"] && both.sourceNetworks.isEmpty, "\(both.sourceIPs) \(both.sourceNetworks)")
        let prose = Self.complaint("Your customers in 198.51.100.0/24 keep trying passwords on our servers.\n")
        #expect(prose.sourceNetworks.isEmpty && prose.status == .triage, "\(prose.sourceNetworks) \(prose.status)")
    }

    @Test func aListUnderAnOffendersHeadingStaysTheSubject() {
        let report = Self.complaint("""
            IPs engaged in SSH brute force attacks from your network:
            198.51.100.30
            198.51.100.31
            """)
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.30", "198.51.100.31"])
    }

    /// Several addresses under source labels (a CERT's notice of one infected host after another,
    /// `IP: …` each) are a list of offenders, an entry each; one labelled address stays the source,
    /// and a victim's label adds none.
    @Test func severalLabelledSourcesAreAList() {
        let report = Self.complaint("""
            IP:        198.51.100.40
            type:      mirai

            IP:        198.51.100.41
            type:      andromeda

            Destination IP: 203.0.113.9
            """)
        #expect(report.bulkEntries.map(\.source) == ["198.51.100.40", "198.51.100.41"], "\(report.bulkEntries.map(\.source))")
        let one = Self.complaint("Source IP: 198.51.100.40\nDestination IP: 203.0.113.9\nBrute force against SSH.\n")
        #expect(one.bulkEntries.isEmpty && one.sourceIPs == ["198.51.100.40"], "\(one.bulkEntries.map(\.source)) \(one.sourceIPs)")
    }
}
