import Testing
@testable import MailWardenReports

/// Amazon SES notifications as SNS mails them: bounces and deliveries make no case, a complaint is
/// filed on the address that handed the message to SES, a "not spam" complaint is no complaint.
@Suite struct SESNotificationTests {
    static func mail(_ body: String) -> [UInt8] {
        Array("""
            From: AWS Notifications <no-reply@sns.amazonaws.com>
            To: abuse@example.com
            Subject: AWS Notification Message
            Content-Type: text/plain; charset=UTF-8

            \(body)

            """.utf8)
    }

    static let mailPart = #""mail":{"timestamp":"2026-12-05T08:00:00.000Z","source":"news@shop.example","sourceIp":"198.51.100.7","messageId":"0100018c-ses-id","destination":["user@isp.example"]}"#

    /// SNS's envelope around the notification, its `Message` a JSON string.
    static func enveloped(_ notification: String) -> String {
        let escaped = notification.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"Type":"Notification","MessageId":"2c7b-sns","TopicArn":"arn:aws:sns:eu-west-1:123456789012:ses","Message":""# + escaped + #""}"#
    }

    @Test func aBounceOrADeliveryIsIgnored() {
        let bounce = #"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"gone@isp.example","status":"5.1.1"}],"timestamp":"2026-12-05T08:00:01.000Z"},"# + Self.mailPart + "}"
        // SNS mails the document with an unsubscribe footer below it.
        let footer = "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\nhttps://sns.us-west-2.amazonaws.com/unsubscribe.html?SubscriptionArn=arn:aws:sns:us-west-2:123456789012:ses"
        for body in [Self.enveloped(bounce), bounce, bounce + footer] {
            let report = ReportParser.parse(Self.mail(body))
            #expect(report.status == .ignored && report.format == .sesNotification)
            #expect(report.reason == "Amazon SES bounce notification: delivery status, not a complaint")
            #expect(report.sourceIPs.isEmpty)
        }
        let delivery = ReportParser.parse(Self.mail(#"{"eventType":"Delivery","delivery":{"recipients":["user@isp.example"]},"# + Self.mailPart + "}"))
        #expect(delivery.status == .ignored && delivery.reason == "Amazon SES delivery notification: delivery status, not a complaint")
    }

    @Test func aComplaintIsFiledOnTheAddressThatHandedTheMessageToSES() {
        let complaint = #"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"user@isp.example"}],"timestamp":"2026-12-05T09:00:00.000Z","complaintFeedbackType":"abuse"},"# + Self.mailPart + "}"
        let report = ReportParser.parse(Self.mail(Self.enveloped(complaint)))
        #expect(report.status == .filed && report.format == .sesNotification && report.type == .spam)
        #expect(report.sourceIPs == ["198.51.100.7"])
        #expect(report.fields.contains(HeaderField(name: "mail.messageId", value: "0100018c-ses-id")))
        #expect(report.receivedAt == 1_796_461_200)

        let notSpam = ReportParser.parse(Self.mail(complaint.replacingOccurrences(of: #""abuse""#, with: #""not-spam""#)))
        #expect(notSpam.status == .ignored && notSpam.reason == "Amazon SES complaint of type not-spam: the recipient said it is not spam")
    }

    /// The complained-of message's header fields, when SES kept them, are the original (what traces
    /// it to a customer); else its Message-ID from `commonHeaders` is.
    @Test func aComplaintCarriesTheHeaderFieldsSESKept() {
        let complaint = #"{"notificationType":"Complaint","complaint":{"complaintFeedbackType":"abuse"},"mail":{"source":"news@shop.example","#
        let kept = ReportParser.parse(Self.mail(complaint + #""headers":[{"name":"X-MailWarden-ID","value":"mw-ses1"},{"name":"Message-ID","value":"<n1@shop.example>"}],"commonHeaders":{"messageId":"<n1@shop.example>"}}}"#))
        #expect(kept.originalHeader("X-MailWarden-ID") == "mw-ses1" && kept.originalHeader("Message-ID") == "<n1@shop.example>")
        let common = ReportParser.parse(Self.mail(complaint + #""commonHeaders":{"messageId":"<n2@shop.example>"}}}"#))
        #expect(common.originalHeader("Message-ID") == "<n2@shop.example>")
        #expect(common.status == .triage, "no source address and no customer traced: a person reads it")
    }

    @Test func jsonThatIsNoSESNotificationIsLeftToTheOtherReaders() {
        let report = ReportParser.parse(Self.mail(#"{"hello":"world","ip":"198.51.100.9"}"#))
        #expect(report.format != .sesNotification)
    }
}
