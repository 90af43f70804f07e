// The message layer: headers, encoded words, charsets, transfer encodings, the MIME tree and
// its caps, and inputs that are broken on purpose.
import Foundation
import MailWardenCore
import Testing
@testable import MailWardenReports

@Suite struct HeaderTests {
    @Test func foldedFieldsAreUnfoldedAndAnMboxFromLineIsSkipped() {
        let (fields, bodyStart) = HeaderParser.parse(TestMail.bytes("""
            From sender@example.net Mon Jan 18 23:57:24 2016
            Subject: a folded
            \t subject
            X-Empty:
            Received: from a
              by b

            body
            """)[...])
        #expect(fields.map(\.name) == ["Subject", "X-Empty", "Received"])
        #expect(fields.value("subject") == "a folded\t subject")
        #expect(fields.value("X-Empty") == "")
        #expect(fields.value("RECEIVED") == "from a  by b")
        #expect(bodyStart > 0)
    }

    @Test func aLineThatIsNoFieldStartsTheBody() {
        let bytes = TestMail.bytes("Subject: x\nthis is no header\nmore\n")
        let (fields, bodyStart) = HeaderParser.parse(bytes[...])
        #expect(fields.count == 1)
        #expect(String(decoding: bytes[bodyStart...], as: UTF8.self) == "this is no header\nmore\n")
    }

    /// A field hard-wrapped by a mail client or a copy goes on after an unindented line; the fields
    /// after it are still headers (a bounce's From and Content-Type came after two such lines).
    @Test func aHardWrappedFieldGoesOnWhenTheHeaderBlockDoes() {
        let bytes = TestMail.bytes("""
            X-Received: by 10.224.39.82 with SMTP id
            g3mr43440303qas.98.1390370580974;
                    Tue, 21 Jan 2014 22:03:00 -0800 (PST)
            Received-SPF: pass (example: domain designates
            198.51.100.1 as permitted sender)
            From: MAILER-DAEMON@mx.example
            Content-Type: multipart/report; report-type=delivery-status

            body
            """)
        let (fields, bodyStart) = HeaderParser.parse(bytes[...])
        #expect(fields.map(\.name) == ["X-Received", "Received-SPF", "From", "Content-Type"])
        #expect(fields.value("X-Received") == "by 10.224.39.82 with SMTP id g3mr43440303qas.98.1390370580974;        Tue, 21 Jan 2014 22:03:00 -0800 (PST)")
        #expect(String(decoding: bytes[bodyStart...], as: UTF8.self) == "body")
        // A body that starts without its blank line, one labelled line among its text, is still the body.
        let text = TestMail.bytes("Subject: x\nDear abuse team,\nSource-IP: 192.0.2.1\nwas seen spamming.\n\nRegards\n")
        let (few, textStart) = HeaderParser.parse(text[...])
        #expect(few.map(\.name) == ["Subject"])
        #expect(String(decoding: text[textStart...], as: UTF8.self).hasPrefix("Dear abuse team,"))
    }

    /// Bounce handlers' fixtures start with a line of spaces; the header block follows it.
    @Test func aLineOfSpacesBeforeTheFirstFieldIsSkipped() {
        let (fields, _) = HeaderParser.parse(TestMail.bytes(String(repeating: " ", count: 120) + "\nFrom: mailer-daemon@mx.example\nSubject: x\n\nbody\n")[...])
        #expect(fields.map(\.name) == ["From", "Subject"])
    }

    @Test func headerCountAndValueLengthAreCapped() {
        let many = (0..<(ReportLimits.maxHeaderCount + 50)).map { "X-N\($0): v" }.joined(separator: "\n")
        let long = "X-Long: " + String(repeating: "a", count: ReportLimits.maxHeaderValueBytes * 2)
        let (fields, _) = HeaderParser.parse(TestMail.bytes(many + "\n" + long + "\n\nbody")[...])
        #expect(fields.count == ReportLimits.maxHeaderCount)
        let (longFields, _) = HeaderParser.parse(TestMail.bytes(long + "\n\nbody")[...])
        #expect(longFields[0].value.utf8.count <= ReportLimits.maxHeaderValueBytes)
    }

    static let encodedWords: [(String, String)] = [
        ("=?UTF-8?B?QXRpIHByaW1pdCB1biBjdXBvbiEgbmxt?=", "Ati primit un cupon! nlm"),
        ("=?iso-8859-1?Q?NECESITAS_TINTA/TONER..AQUI_TIENES_LA_MEJOR_ATENCI=D3N.?=", "NECESITAS TINTA/TONER..AQUI TIENES LA MEJOR ATENCIÓN."),
        ("=?windows-1252?Q?=80_5_=96_sofort?=", "€ 5 – sofort"),
        ("=?ISO-8859-15?Q?Preis_=A4_10?=", "Preis € 10"),
        ("=?iso-8859-2?Q?=A3=F3d=BC?=", "Łódź"),
        ("=?windows-1251?B?z/Do4uXy?=", "Привет"),
        ("=?iso-8859-5?Q?=BF=E0=D8=D2=D5=E2?=", "Привет"),
        // Adjacent words join without the space between them; text around them keeps its spaces.
        ("Re: =?utf-8?Q?Gr=C3=BC?= =?utf-8?Q?=C3=9Fe?= aus Berlin", "Re: Grüße aus Berlin"),
        // A multi-byte character split across two words.
        ("=?UTF-8?B?w6Q=?= =?UTF-8?B?w7Y=?=", "äö"),
        ("=?utf-8?B?8J+Y?= =?utf-8?B?gA==?=", "😀"),
        ("=?utf-8*de?Q?Abwesenheitsnotiz?=", "Abwesenheitsnotiz"),
        ("not =?encoded", "not =?encoded"),
        ("=?utf-8?X?invalid?=", "=?utf-8?X?invalid?="),
    ]

    @Test(arguments: encodedWords)
    func encodedWordsDecode(_ pair: (String, String)) {
        #expect(EncodedWords.decode(pair.0) == pair.1)
    }

    @Test func anEncodedWordSubjectReachesTheReport() {
        let report = TestMail.parse("""
            From: reporter@isp.example
            Subject: =?UTF-8?Q?Beschwerde=3A_unerw=C3=BCnschte_Werbung_von_192=2E0=2E2=2E7?=

            Siehe Betreff.
            """)
        #expect(report.subject == "Beschwerde: unerwünschte Werbung von 192.0.2.7")
        #expect(report.type == .spam)
        #expect(report.sourceIPs == ["192.0.2.7"])
    }
}

@Suite struct TransferEncodingTests {
    @Test func quotedPrintableSoftBreaksJoinAURL() {
        let report = TestMail.parse("""
            From: someone@isp.example
            Subject: phishing site
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            Please take down http://www.bad-bank.example/log=
            in/verify.php?user=3Dx&amp;id=3D1 =E2=80=93 it is phishing.
            Soft break with padding: http://pad.example/a=\u{20}\u{20}
            b
            """)
        #expect(report.urls == ["http://www.bad-bank.example/login/verify.php?user=x&id=1", "http://pad.example/ab"])
        #expect(report.type == .phishing)
    }

    @Test func base64IsLenientAboutLinesPaddingAndJunk() {
        let (bytes, truncated) = Base64.decode(Array("aGVs\r\nbG8g\n d29y bGQ=\n".utf8)[...], limit: 100)
        #expect(String(decoding: bytes, as: UTF8.self) == "hello world")
        #expect(!truncated)
        #expect(Base64.decode(Array("aGVsbG8".utf8)[...], limit: 100).bytes == Array("hello".utf8))
        let capped = Base64.decode(Array("aGVsbG8gd29ybGQ=".utf8)[...], limit: 4)
        #expect(capped.bytes.count <= 4 && capped.truncated)
    }

    @Test func base64InsideBase64() {
        // An attached message sent base64 (not allowed, but done) whose own text part is base64.
        let inner = """
            From: spammer@bad.example
            Message-ID: <inner@bad.example>
            X-MailWarden-ID: tok-123
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: base64

            \(TestMail.base64(Array("Cheap pills at http://pills.bad.example/".utf8)))
            """
        let report = TestMail.parse("""
            From: user@isp.example
            Subject: spam received from 198.51.100.20
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: text/plain

            This is spam from 198.51.100.20, see attachment.
            --b1
            Content-Type: message/rfc822
            Content-Transfer-Encoding: base64

            \(TestMail.base64(TestMail.bytes(inner)))
            --b1--
            """)
        #expect(report.format == .forwardedSpam)
        #expect(report.sourceIPs == ["198.51.100.20"])
        #expect(report.originalHeader("X-MailWarden-ID") == "tok-123")
        #expect(report.originalHeader("Message-ID") == "<inner@bad.example>")
        let message = MIMEPart.parse(TestMail.bytes("""
            Content-Type: message/rfc822
            Content-Transfer-Encoding: base64

            \(TestMail.base64(TestMail.bytes(inner)))
            """)[...], budget: DecodeBudget())
        #expect(message.parts.first?.text == "Cheap pills at http://pills.bad.example/")
        // Links in the body of the attached spam are evidence, not reported URLs.
        #expect(report.urls.isEmpty)
    }

    /// A multipart labelled base64 (not allowed): CERT-LEXSI's notices say so and are not encoded,
    /// other generators do encode the body. Either way the parts are read.
    @Test(arguments: [false, true]) func aMultipartLabelledBase64IsReadWhetherOrNotItIsEncoded(encoded: Bool) {
        let body = "--b\nContent-Type: text/html\n\n<br />Site de phishing.<br />Adresse IP : 198.51.100.20<br />\n--b--\n"
        let report = TestMail.parse("From: cert@cert.example\nSubject: phishing\nContent-Type: multipart/mixed; boundary=\"b\"\n"
            + "Content-Transfer-Encoding: base64\n\n" + (encoded ? TestMail.base64(Array(body.utf8)) : body))
        #expect(report.status == .filed && report.type == .phishing && report.sourceIPs == ["198.51.100.20"], "\(report.status) \(report.reason ?? "")")
    }
}

@Suite struct MIMETreeTests {
    @Test func nestedAttachedMessagesAreParsedDownToTheOriginal() {
        let original = """
            Received: from mx.bad.example (mx.bad.example [203.0.113.9]) by mx.isp.example
            From: spammer@bad.example
            X-Auth-User: customer42
            Message-ID: <orig@bad.example>

            buy now
            """
        let forwardedOnce = """
            From: first@isp.example
            Subject: Fwd: spam
            Content-Type: multipart/mixed; boundary="inner"

            --inner
            Content-Type: text/plain

            see attached
            --inner
            Content-Type: message/rfc822

            \(original)
            --inner--
            """
        let report = TestMail.parse("""
            From: second@isp.example
            Subject: Fwd: Fwd: spam
            Content-Type: multipart/mixed; boundary="outer"

            --outer
            Content-Type: text/plain

            Spam again, attached.
            --outer
            Content-Type: message/rfc822

            \(forwardedOnce)
            --outer--
            """)
        #expect(report.format == .forwardedSpam)
        #expect(report.type == .spam)
        // Both forwards are the reporter's own (isp.example): the spam inside them is the original.
        #expect(report.originalHeader("From") == "spammer@bad.example")
        #expect(report.originalHeader("X-Auth-User") == "customer42")
        #expect(report.sourceIPs == ["203.0.113.9"])
        let outer = MIMEPart.parse(TestMail.bytes("Content-Type: message/rfc822\n\n" + forwardedOnce)[...], budget: DecodeBudget())
        let innermost = outer.parts.first?.parts.last?.parts.first
        #expect(innermost?.headers.value("X-Auth-User") == "customer42")
    }

    @Test func depthIsCappedAndNothingBreaks() {
        var text = "inner text naming 192.0.2.44\n"
        for level in 0..<(ReportLimits.maxMIMEDepth + 15) {
            text = "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n\(text)\n--b\(level)--\n"
        }
        let root = MIMEPart.parse(TestMail.bytes(text)[...], budget: DecodeBudget())
        var depth = 0
        var part = root
        while let child = part.parts.first {
            depth += 1
            part = child
        }
        #expect(depth <= ReportLimits.maxMIMEDepth)
        let report = ReportParser.parse(TestMail.bytes("From: a@isp.example\n" + text))
        #expect(report.status == .triage)
    }

    @Test func partsAreCapped() {
        let sections = (0..<(ReportLimits.maxParts + 200)).map { "--b\nContent-Type: text/plain\n\npart \($0)\n" }.joined()
        let root = MIMEPart.parse(TestMail.bytes("Content-Type: multipart/mixed; boundary=b\n\n\(sections)--b--\n")[...], budget: DecodeBudget())
        #expect(root.parts.count <= ReportLimits.maxParts)
        #expect(root.isTruncated)
    }

    @Test func aLongerBoundaryIsNotTheOuterOne() {
        let root = MIMEPart.parse(TestMail.bytes("""
            Content-Type: multipart/mixed; boundary="abc"

            --abc
            Content-Type: multipart/alternative; boundary="abcdef"

            --abcdef
            Content-Type: text/plain

            plain
            --abcdef--
            --abc
            Content-Type: text/plain

            second
            --abc--
            """)[...], budget: DecodeBudget())
        #expect(root.parts.count == 2)
        #expect(root.parts[0].parts.first?.text == "plain")
        #expect(root.parts[1].text == "second")
        #expect(!root.isTruncated)
    }

    @Test func truncatedMIMEKeepsWhatArrived() {
        let report = TestMail.parse("""
            From: abuse@reporter.example
            Subject: Brute force attack from 203.0.113.50
            Content-Type: multipart/mixed; boundary="cut"

            --cut
            Content-Type: text/plain

            We saw SSH brute force attempts from 203.0.113.50.
            --cut
            Content-Type: application/octet-stream; name="log.txt"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(Array(repeating: 0x41, count: 300)).prefix(150))
            """)
        #expect(report.status == .filed)
        #expect(report.type == .networkAbuse)
        #expect(report.sourceIPs == ["203.0.113.50"])
        #expect(report.evidence.first?.filename == "log.txt")
        let root = MIMEPart.parse(TestMail.bytes("Content-Type: multipart/mixed; boundary=x\n\n--x\n\nno end")[...], budget: DecodeBudget())
        #expect(root.isTruncated && root.parts.count == 1)
    }

    @Test func aMultipartWhoseBoundaryNeverShowsIsReadAsText() {
        let report = TestMail.parse("""
            From: a@isp.example
            Subject: spam
            Content-Type: multipart/mixed; boundary="missing"

            Spam from 198.51.100.3 again.
            """)
        #expect(report.sourceIPs == ["198.51.100.3"])
        #expect(report.type == .spam)
    }

    @Test(arguments: ["\n", "\r\n"])
    func lineEndingsGiveTheSameReport(_ ending: String) {
        let text = """
            Return-Path: <fbl@fbl.example>
            Received: from relay.fbl.example by mx.isp.example
            From: fbl@fbl.example
            Subject: FBL
            Content-Type: multipart/report; report-type=feedback-report; boundary="r"

            --r
            Content-Type: text/plain

            An abuse report.
            --r
            Content-Type: message/feedback-report

            Feedback-Type: abuse
            Source-IP: 2001:0DB8:0000:0000:0000:ff00:0042:8329
            Arrival-Date: Thu, 8 Mar 2005 14:00:00 -0500

            --r--
            """
        let report = TestMail.parse(text, ending: ending)
        #expect(report.format == .arf)
        #expect(report.sourceIPs == ["2001:db8::ff00:42:8329"])
        #expect(report.receivedAt == 1_110_308_400)
        #expect(report.fields == TestMail.parse(text).fields)
    }

    @Test func mixedLineEndingsInOneMessage() {
        let bytes = Array("From: a@isp.example\r\nSubject: port scan from 192.0.2.99\nContent-Type: text/plain\r\n\r\nScanning from 192.0.2.99.\r\n".utf8)
        let report = ReportParser.parse(bytes)
        #expect(report.subject == "port scan from 192.0.2.99")
        #expect(report.type == .networkAbuse)
        #expect(report.sourceIPs == ["192.0.2.99"])
    }
}

@Suite struct BrokenInputTests {
    @Test func aMessageWithNoBody() {
        let headersOnly = TestMail.parse("From: a@isp.example\nSubject: Spam from 192.0.2.8")
        #expect(headersOnly.status == .filed)
        #expect(headersOnly.sourceIPs == ["192.0.2.8"])
        let emptyBody = TestMail.parse("From: a@isp.example\nSubject: hello\n\n")
        #expect(emptyBody.status == .triage)
        #expect(emptyBody.reason != nil)
        let nothing = ReportParser.parse([])
        #expect(nothing.status == .triage)
    }

    @Test func binaryGarbageGoesToTriage() {
        var generator = SplitMix64(seed: 0x5EED)
        for size in [1, 2, 17, 1000, 65_536, 300_000] {
            let bytes = generator.bytes(size)
            let report = ReportParser.parse(bytes)
            #expect(report.status == .triage, "size \(size)")
            #expect(report.reason != nil)
        }
    }

    static let nastyInputs: [String] = [
        "\r\r\r\n\n\0\0=?=?=?\n--\n--\n",
        "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
        "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n--x\nContent-Type: message/rfc822\n",
        "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n====\n",
        "Content-Type: text/plain; charset=\"no-such-charset\"\nContent-Transfer-Encoding: quoted-printable\n\n=\n=Z=\n=0",
        "Content-Type: multipart/report; report-type=feedback-report; boundary=q\n\n--q\nContent-Type: message/feedback-report\n\n",
        "Subject: =?utf-8?B?\n\n::::ffff::1.2.3.4 fe80::1%eth0 1.2.3 999.1.1.1 http:// http://[::1 @@@ a@b\n",
        "Content-Type: application/zip; name=a.zip\nContent-Transfer-Encoding: base64\n\nUEsDBBQAAAAIAAAAAAAAAAAA//////////8=\n",
        String(repeating: "Received: x\n", count: 5000) + "\n" + String(repeating: "192.0.2.1 ", count: 20_000),
    ]

    @Test(arguments: nastyInputs)
    func nastyInputsParse(_ text: String) {
        let report = ReportParser.parse(Array(text.utf8))
        #expect(report.status != .filed || !(report.sourceIPs.isEmpty && report.domains.isEmpty))
    }

    @Test func aTenMegabyteAttachmentParsesWithinTheBudget() {
        var generator = SplitMix64(seed: 10)
        let payload = generator.bytes(10 << 20)
        let text = """
            From: abuse@reporter.example
            Subject: Malware hosted on 203.0.113.77
            Content-Type: multipart/mixed; boundary="big"

            --big
            Content-Type: text/plain

            The attached sample was downloaded from http://203.0.113.77/payload.exe (malware).
            --big
            Content-Type: application/octet-stream; name="sample.bin"
            Content-Transfer-Encoding: base64

            \(TestMail.base64(payload))
            --big--
            """
        let report = TestMail.parse(text)
        #expect(report.status == .filed)
        #expect(report.type == .malware)
        #expect(report.sourceIPs == ["203.0.113.77"])
        #expect(report.urls == ["http://203.0.113.77/payload.exe"])
        #expect(report.evidence.count == 1)
        #expect(report.evidence.first?.bytes == payload)
    }

    @Test func decodedBytesStopAtTheBudget() {
        let budget = DecodeBudget()
        budget.consume(ReportLimits.maxDecodedBytes - 10)
        let part = MIMEPart.parse(TestMail.bytes("Content-Transfer-Encoding: base64\n\n\(TestMail.base64(Array(repeating: 7, count: 100)))")[...], budget: budget)
        #expect(part.body.count <= 10)
        #expect(part.isTruncated)
    }
}

/// A small deterministic generator, so the garbage is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var i = 0
            while i < count {
                var word = next()
                for _ in 0..<min(8, count - i) {
                    buffer[i] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    i += 1
                }
            }
            initialized = count
        }
    }
}
