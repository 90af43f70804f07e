// Input written to break the parser: numbers that overflow, and shapes that cost more than their size.
// Each test asserts on the report a user would see, never on time.
import MailWardenCore
import Testing
@testable import MailWardenReports

/// One place a report format reads a date from, as a message around that date.
struct DatedReport: Sendable, CustomTestStringConvertible {
    let name: String
    let format: ReportFormat
    let message: @Sendable (String) -> String
    var testDescription: String { name }
}

@Suite struct OverflowingDateTests {
    /// The date that killed the daemon (issue 9), and a sane one in the same form.
    static let hostileDate = "Mon, 1 Jan 999999999999 00:00:00 +0000"
    static let saneDate = "Sat, 2 Jan 2021 03:04:05 +0000"
    static let saneTime: Int64 = 1_609_556_645

    static let places: [DatedReport] = [
        DatedReport(name: "Date header", format: .freeText) { date in
            "From: victim@mail.example\nDate: \(date)\nSubject: Spam from your network\n\nSpam from 192.0.2.7 reached us.\n"
        },
        DatedReport(name: "free text", format: .freeText) { date in
            "From: victim@mail.example\nSubject: Spam from your network\n\nOn \(date) we got spam from 192.0.2.7.\n"
        },
        DatedReport(name: "ARF Arrival-Date", format: .arf) { date in
            FeedbackReportTests.arf(feedbackType: "abuse", fields: "Arrival-Date: \(date)", original: FeedbackReportTests.original)
        },
        DatedReport(name: "ARF Received-Date", format: .arf) { date in
            FeedbackReportTests.arf(feedbackType: "abuse", fields: "Received-Date: \(date)", original: FeedbackReportTests.original)
        },
        DatedReport(name: "X-ARF report.txt", format: .xarf01) { date in
            """
            From: a@ids.example
            X-ARF: yes
            Content-Type: multipart/mixed; boundary="x"

            --x
            Content-Type: text/plain; name="report.txt"

            Reported-From: a@ids.example
            Report-Type: login-attack
            Source-Type: ip-address
            Source: 192.0.2.8
            Date: \(date)
            --x--
            """
        },
        DatedReport(name: "XARF JSON", format: .xarfJSON) { date in
            """
            From: noreply@lab.example
            Content-Type: multipart/mixed; boundary="j"

            --j
            Content-Type: application/json; name=report.json

            {"xarf_version": "4.0.0", "category": "content", "type": "malware", "source_identifier": "203.0.113.30",
             "timestamp": "\(date)"}
            --j--
            """
        },
        DatedReport(name: "CSV column", format: .csv) { date in
            """
            From: reports@feeds.example
            Subject: Scan report
            Content-Type: multipart/mixed; boundary="c"

            --c
            Content-Type: text/csv; name="events.csv"

            timestamp,ip,type
            "\(date)",192.0.2.10,scan
            --c--
            """
        },
        DatedReport(name: "ACNS TimeStamp", format: .acns) { date in
            """
            From: notices@agent.example
            Content-Type: multipart/mixed; boundary="n"

            --n
            Content-Type: application/xml; name="notice.xml"

            <Infringement><Source><TimeStamp>\(date)</TimeStamp><IP_Address>192.0.2.44</IP_Address></Source></Infringement>
            --n--
            """
        },
        DatedReport(name: "URL list date", format: .urlList) { date in
            """
            From: noreply@safebrowsing.example
            Subject: Malware on your network
            Content-Type: multipart/mixed; boundary="u"

            --u
            Content-Type: text/xml; name="urls.xml"

            <list><url_info url="http://203.0.113.9/x.exe" ip="203.0.113.9" date="\(date)"/></list>
            --u--
            """
        },
        DatedReport(name: "DMARC text Arrival Date", format: .authFailure) { date in
            "From: dmarc@mx.example\nSubject: DMARC failure report\n\nSender IP Address: 192.0.2.9\nArrival Date: \(date)\n"
        },
        DatedReport(name: "forwarded original's Date", format: .forwardedSpam) { date in
            """
            From: victim@mail.example
            Subject: Spam
            Content-Type: multipart/mixed; boundary="f"

            --f
            Content-Type: text/plain

            Please stop this.
            --f
            Content-Type: message/rfc822

            Received: from spammer.example (spammer.example [192.0.2.55]) by mx.mail.example
            From: offers@spammer.example
            Date: \(date)
            Subject: offers

            Buy now.
            --f--
            """
        },
    ]

    @Test(arguments: places)
    func aYearPastTheRangeIsNoDate(_ place: DatedReport) {
        let sane = TestMail.parse(place.message(Self.saneDate))
        #expect(sane.format == place.format)
        #expect(sane.receivedAt == Self.saneTime, "the date is read from this place")

        let hostile = TestMail.parse(place.message(Self.hostileDate))
        #expect(hostile.format == place.format)
        #expect(hostile.receivedAt == nil)
        #expect(hostile.bulkEntries.allSatisfy { $0.receivedAt == nil })
    }

    @Test(arguments: ["Mon, 1 Jan 999999999999 00:00:00 +0000", "1 Jan 9223372036854775807 00:00 GMT", "0000-01-01T00:00:00Z",
                      "1969-12-31 23:59:59", "10000-01-01", "31 Dec 1969 23:59:59 +0000", "1 Jan 99999999999999999999999 00:00:00"])
    func yearsOutsideTheRangeAreNoDate(_ text: String) {
        #expect(ReportDate.parse(text) == nil)
        #expect(ReportDate.first(in: "seen \(text) here") == nil)
    }

    @Test func theRangeEndsAreDates() {
        #expect(ReportDate.parse("1970-01-01T00:00:00Z") == 0)
        #expect(ReportDate.parse("Fri, 31 Dec 9999 23:59:59 +0000") == 253_402_300_799)
    }

    /// An mbox `From ` line's date, with or without a zone before the year; a sender named like a
    /// month is passed over.
    @Test func anMboxFromLinesDateIsRead() {
        #expect(ReportDate.asctime("From may@isp.example Mon Sep  7 12:00:00 2026\n") == 1_788_782_400)
        #expect(ReportDate.asctime("From MAILER-DAEMON Mon Sep 7 12:00:00 UTC 2026") == 1_788_782_400)
        // Google Takeout's mbox: a numeric zone before the year (it was read as no date: the import's time).
        #expect(ReportDate.asctime("From 1580291382495839231@xxx Mon Sep  7 12:00:00 +0000 2026") == 1_788_782_400)
        #expect(ReportDate.asctime("From x@y Mon Sep  7 07:00:00 -0500 2026") == 1_788_782_400)
        #expect(ReportDate.asctime("From sep Mon Sep 7 12:00:00 99999") == nil)
        #expect(ReportDate.asctime("From someone") == nil)
    }
}

/// Inputs shaped to make one pass cost its length squared (or its depth times its length). Each
/// must give the report the input deserves: the same entries a small input gives, or a cut that
/// says so. How fast is measured by hand, not here.
@Suite struct QuadraticInputTests {
    static func multipart(_ parts: [(headers: String, content: String)], subject: String = "Report") -> String {
        "From: reports@feeds.example\nSubject: \(subject)\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
            + parts.map { "--b\n\($0.headers)\n\n\($0.content)\n" }.joined() + "--b--\n"
    }

    static func address(_ i: Int) -> String { "192.0.\(i / 250).\(i % 250 + 1)" }

    @Test func manyAddressesUnderOneLongHeading() {
        let heading = String(repeating: "spam ", count: 20_000)
        let list = (0..<3_000).map { Self.address($0) + "\n" }.joined()
        let report = TestMail.parse("From: victim@mail.example\nSubject: Abuse\n\n\(heading)\n\(list)")
        #expect(report.format == .freeText)
        #expect(report.bulkEntries.count == 3_000)
        #expect(report.bulkEntries.allSatisfy { $0.type == .spam }, "every address takes its heading's type")
    }

    @Test func manyMentionsOfInfringementBeforeTheNotice() {
        let noise = String(repeating: "Infringement", count: 20_000)
        let notice = "<Infringement><Source><IP_Address>192.0.2.44</IP_Address></Source></Infringement>"
        let report = TestMail.parse("From: notices@agent.example\nSubject: Notice\n\n\(noise)\n\(notice)\n")
        #expect(report.format == .acns)
        #expect(report.sourceIPs == ["192.0.2.44"])
    }

    @Test func aVeryWideCSVHeader() {
        let header = "ip," + (0..<5_000).map { "c\($0)" }.joined(separator: ",") + ",type"
        let rows = (0..<2_000).map { Self.address($0) + ",x\n" }.joined()
        let report = TestMail.parse(Self.multipart([("Content-Type: text/csv; name=\"scan.csv\"", "\(header)\n\(rows)")],
                                                   subject: "Port scan report"))
        #expect(report.format == .csv)
        #expect(report.bulkEntries.count == 2_000)
        #expect(report.bulkEntries.allSatisfy { $0.type == .networkAbuse }, "the type column lies past the cut; the subject types")
        #expect(report.isTruncated, "columns past ReportLimits.maxTableColumns were dropped")
    }

    @Test func manyRowsMergingIntoOneEntry() {
        let rows = (0..<20_000).map { "192.0.2.1,d\($0).example\n" }.joined()
        let report = TestMail.parse(Self.multipart([("Content-Type: text/csv; name=\"spam.csv\"", "ip,domain\n\(rows)")]))
        #expect(report.bulkEntries.map(\.source) == ["192.0.2.1"])
        let domains = report.bulkEntries.first?.domains ?? []
        #expect(domains.count == ReportLimits.maxIndicators)
        #expect(domains.first == "d0.example" && domains.last == "d\(ReportLimits.maxIndicators - 1).example")
    }

    @Test func deepXMLWithManyElements() {
        let xml = "<list><url_info url=\"http://203.0.113.9/x.exe\" ip=\"203.0.113.9\"/>" + String(repeating: "<a>", count: 150)
            + String(repeating: "<b/>", count: 120_000) + "<url_info url=\"http://203.0.113.10/y.exe\" ip=\"203.0.113.10\"/></list>"
        let report = TestMail.parse(Self.multipart([("Content-Type: text/xml; name=\"urls.xml\"", xml)], subject: "Malware on your network"))
        #expect(report.format == .urlList)
        #expect(report.bulkEntries.map(\.source) == ["203.0.113.9"], "elements past ReportLimits.maxXMLElements are not read")
        #expect(report.isTruncated)
    }

    @Test func thousandsOfUnterminatedEncodedWords() {
        let junk = String(repeating: "=?utf-8?q?x", count: 5_000)
        let report = TestMail.parse("From: victim@mail.example\nSubject: \(junk) =?utf-8?q?caf=C3=A9?=\n\nspam from 192.0.2.1\n")
        #expect(report.subject == junk + " café")
    }

    @Test func textPastTheScannedTextCapIsNotRead() {
        let filler = String(repeating: "spam ", count: ReportLimits.maxScannedTextBytes / 5)
        let report = TestMail.parse("From: victim@mail.example\nSubject: Spam\n\nSpam from 192.0.2.7.\n\(filler)\nAlso 192.0.2.99.\n")
        #expect(report.sourceIPs == ["192.0.2.7"], "every reader passes over the report's text; only the first MiB is read")
        #expect(report.isTruncated)
    }

    /// The cap falls inside a three-byte character, and an empty text part follows: the cut is made
    /// before the character, so the texts stay within the cap and the empty part reads nothing (it
    /// used to take a prefix of negative length, which traps).
    @Test func aCapFallingInsideACharacterIsCutBeforeIt() {
        let euros = String(repeating: "€", count: ReportLimits.maxScannedTextBytes / 3 + 1_000)
        let report = TestMail.parse("""
            From: victim@mail.example
            Subject: Spam from 192.0.2.8
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain; charset=utf-8

            \(euros)
            --b
            Content-Type: text/plain

            --b--
            """)
        #expect(report.isTruncated && report.sourceIPs == ["192.0.2.8"])
        #expect("a€b".utf8Prefix(2) == "a" && "a€b".utf8Prefix(4) == "a€" && "a€b".utf8Prefix(-1) == "" && "ab".utf8Prefix(9) == "ab")
        // The readers' phrase search: at either end, after a false start, in a slice, never past the end.
        #expect("xxabc".includes("abc") && "abcxx".includes("abc") && "aaab".includes("aab") && "a€b".includes("€b") && "x".includes(""))
        #expect(!"ab".includes("abc") && !"abab".includes("abb") && !"".includes("a") && !"a€b".includes("b€"))
        #expect("say: phishing here"[...].dropFirst(5).includes("phishing") && !"say: phishing"[...].dropLast(1).includes("phishing"))
    }

    /// Who sent a report is read from the message as delivered: a report wrapped in an envelope of
    /// its own (a redirect, certified mail) is read for its content, but its From and its
    /// Authentication-Results fields are its sender's words, which no MX of ours checked.
    @Test func aWrappedReportsClaimsOfAuthenticationAreNotBelieved() {
        let report = TestMail.parse("""
            From: <stranger@outside.example>
            To: <abuse@example.com>
            Subject: complaint
            Message-ID: <wrapped-1@outside.example>
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            See attached.
            --b
            Content-Type: message/rfc822

            Authentication-Results: mx.example.com; dkim=pass header.d=isp.example
            From: <fbl@isp.example>
            To: <abuse@example.com>
            Subject: Spam from your network
            Message-ID: <wrapped-1@outside.example>
            Content-Type: text/plain

            Spam source: 192.0.2.44
            --b--
            """)
        #expect(report.sourceIPs == ["192.0.2.44"], "the wrapped report is still what is read")
        #expect(report.fromDomain == "outside.example")
        #expect(report.authenticationResults.isEmpty)
    }

    /// RFC 2047 allows no encoded words in Authentication-Results. Decoded, this one would claim our
    /// authserv-id only to the desk: the milter, which reads it as written, would not remove it.
    @Test func anEncodedAuthenticationResultsFieldIsNotBelieved() {
        let report = TestMail.parse("""
            Authentication-Results: =?us-ascii?q?mx.example.com=3B_dkim=3Dpass_header.d=3Disp.example?=
            Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=isp.example
            Subject: =?utf-8?q?caf=C3=A9?=

            spam from 192.0.2.1
            """)
        #expect(report.authenticationResults.map(\.authservID) == ["mx.example.com"])
        #expect(report.authenticationResults.first?.results.map(\.method) == ["spf"])
        #expect(report.subject == "café", "other fields are still decoded")
    }

    @Test func encodedWordsPastTheWorkBudgetStayAsWritten() {
        let budget = DecodeBudget()
        #expect(budget.spend(ReportLimits.maxWorkSteps - 10))
        let (fields, _) = HeaderParser.parse(TestMail.bytes("Subject: =?utf-8?q?caf=C3=A9?=\nX-Plain: text\n\n")[...], budget: budget)
        #expect(fields.value("Subject") == "=?utf-8?q?caf=C3=A9?=")
        #expect(fields.value("X-Plain") == "text")
        #expect(budget.isExhausted)
    }

    @Test func tableRowsStopAtTheWorkBudget() {
        let budget = DecodeBudget()
        #expect(budget.spend(ReportLimits.maxWorkSteps - 2 * ReportLimits.stepsPerTableRow), "enough left for two rows")
        var draft = ReportDraft(ReportMessage(MIMEPart.parse(TestMail.bytes("Subject: scan\n\n")[...], budget: DecodeBudget())))
        let rows = [["ip"], ["192.0.2.1"], ["192.0.2.2"], ["192.0.2.3"]]
        #expect(TableRows.add(rows, fallback: .networkAbuse, to: &draft, budget: budget))
        #expect(draft.entries.map(\.source) == ["192.0.2.1", "192.0.2.2"])
        #expect(draft.isTruncated)
    }

    @Test func theWorkBudgetStopsAParseAndSaysSo() {
        let budget = DecodeBudget()
        let message = Self.multipart([("Content-Type: text/plain", "first"), ("Content-Type: text/plain", "second")])
        #expect(budget.spend(ReportLimits.maxWorkSteps - message.utf8.count - 40), "enough left for the message and its first part")
        let part = MIMEPart.parse(TestMail.bytes(message)[...], budget: budget)
        #expect(part.parts.count == 2)
        #expect(part.parts.map(\.body) == [Array("first".utf8), []], "the second part is past the budget")
        #expect(part.parts[1].isTruncated)
        #expect(budget.isExhausted)
        #expect(!budget.spend(1), "an exhausted budget stays exhausted")
    }
}
