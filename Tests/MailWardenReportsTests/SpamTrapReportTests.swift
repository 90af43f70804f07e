import Testing
@testable import MailWardenReports

/// Project Honey Pot passes on what its trap addresses catch, the caught message whole with the
/// trap's fields added: filed as spam on the client the trap names, whatever the message says of
/// itself, and traced to our customer by the message's own header fields.
@Suite struct SpamTrapReportTests {
    /// A caught message as the trap forwards it; `trapFields` are the trap's, empty for none.
    static func caught(from: String, subject: String, trapFields: String, body: String) -> [UInt8] {
        Array("""
            Return-Path: <termmatch@projecthoneypot.org>
            Received: by trap.projecthoneypot.example (Postfix, from userid 5000)
            \tid 2B0E9EA07EE; Fri, 14 Jan 2022 10:57:40 -0700 (MST)
            Received: from mail.shop.example (mail.shop.example [198.51.100.23])
            \tby trap.projecthoneypot.example (Postfix) with ESMTP id 257BAEAB7D0
            \tfor <xxx@xxxxxxx.xxx>; Fri, 14 Jan 2022 10:57:39 -0700 (MST)
            Received: from bank-login.example (bank-login.example [203.0.113.9])
            \tby mail.shop.example with ESMTP; Fri, 14 Jan 2022 17:57:38 +0000
            From: \(from)
            To: xxx@xxxxxxx.xxx
            Subject: \(subject)
            Date: Fri, 14 Jan 2022 17:57:38 +0000
            Message-Id: <20220114175738.97C366461C@mail.shop.example>
            X-MailWarden-ID: mw-trap1
            MIME-Version: 1.0
            Content-Type: text/plain
            \(trapFields)
            \(body)

            """.utf8)
    }

    static let trapFields = """
        X-HP-EnvFromUser: www-data
        X-HP-EnvFromDom: mail.shop.example
        X-HP-ConnectIP: 198.51.100.23
        X-HP-Received: Fri, 14 Jan 2022 18:57:39 +0100
        X-HP-Abuse: YES
        X-HP-Client-Helo: mail.shop.example

        """

    @Test func aTrapHitIsSpamFiledOnTheClientTheTrapNames() {
        // The spam's words are a phishing lure and its chain names an older hop: neither counts.
        let report = ReportParser.parse(Self.caught(
            from: "Your Bank <security@bank-login.example>", subject: "Verify your account password now",
            trapFields: Self.trapFields, body: "Your mailbox is full. Log in to confirm your bank password: http://bank-login.example/verify"))
        #expect(report.status == .filed && report.format == .spamTrap && report.type == .spam)
        #expect(report.sourceIPs == ["198.51.100.23"])
        #expect(report.reporter == "termmatch@projecthoneypot.org", "the trap's operator, not the spam's From")
        #expect(report.originalHeader("X-MailWarden-ID") == "mw-trap1", "the caught message traces to our customer")
        #expect(report.receivedAt == 1_642_183_059)
        #expect(report.fields.contains(HeaderField(name: "X-HP-Client-Helo", value: "mail.shop.example")))
    }

    /// A bounce the trap caught (backscatter) is the trap's report of it, not a bounce to us.
    @Test func backscatterATrapCaughtIsFiledOnItsSender() {
        let report = ReportParser.parse(Self.caught(
            from: "Mail Delivery System <Mailer-Daemon@mail.shop.example>", subject: "Warning: message 1n6vGD-0005B0-IT delayed 100 hours",
            trapFields: Self.trapFields, body: "This message was created automatically by mail delivery software.\nA message that you sent has not yet been delivered."))
        #expect(report.status == .filed && report.format == .spamTrap && report.sourceIPs == ["198.51.100.23"])
    }

    /// The trap's own delivery notices carry its fields with no client: no trap hit, a bounce.
    @Test func aTrapFieldWithoutAClientIsNoTrapHit() {
        let bounce = Self.caught(
            from: "MAILER-DAEMON@trap.projecthoneypot.example (Mail Delivery System)", subject: "Successful Mail Delivery Report",
            trapFields: Self.trapFields.replacingOccurrences(of: "X-HP-ConnectIP: 198.51.100.23", with: "X-HP-ConnectIP: "),
            body: "This is the mail system at host trap.projecthoneypot.example.\nYour message was successfully delivered to the destination(s)")
        let report = ReportParser.parse(bounce)
        #expect(report.format != .spamTrap && report.status != .filed)
    }

    /// The same message without the trap's fields is spam someone sent to the abuse mailbox, which
    /// looks no different from a newsletter sent there: a person decides.
    @Test func theSameMessageWithoutTheTrapsFieldsIsNoReport() {
        let report = ReportParser.parse(Self.caught(
            from: "Shop News <news@shop.example>", subject: "Our winter sale", trapFields: "", body: "Everything half price this week."))
        #expect(report.format != .spamTrap && report.status == .triage)
    }
}
