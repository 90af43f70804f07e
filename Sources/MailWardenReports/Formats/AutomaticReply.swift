// Messages that make no case: delivery status notifications (bounces) and automatic replies
// (RFC 3834 and its unofficial relatives). Asked only after every structured reader has said no,
// because report content decides: a DMARC failure report sent `Auto-Submitted: auto-replied` is a
// report, and ARF reports carry `Auto-Submitted: auto-generated`. A header mark alone (CERT ticket
// systems mark their reports auto-replied) makes an automatic reply only of a reply; any other
// message so marked is read as a complaint, filed or left in triage, never silently ignored.
import MailWardenCore

enum AutomaticReply {
    /// Subject openings of out-of-office and other automatic replies, lower-cased.
    private static let subjectPrefixes = [
        "automatic reply:", "auto:", "autoreply", "autorespon", "auto reply", "auto-reply", "automatische antwort",
        "out of office", "out of the office", "away until", "abwesenheitsnotiz", "afwezig",
        "réponse automatique", "respuesta automática", "risposta automatica",
    ]

    /// Subject openings of bounces that are not RFC 3464 reports (qmail, Exim, Exchange, Zoho, and
    /// Japanese carriers and appliances), lower-cased.
    private static let bounceSubjectPrefixes = [
        "undelivered mail", "undeliverable:", "undeliverable message", "delivery status notification", "mail delivery failed",
        "failure notice", "returned mail:", "delivery failure", "mail delivery failure", "delivery has failed",
        "unzustellbar:", "nicht zustellbar", "non remis", "non recapitabile", "no se puede entregar", "onbestelbaar",
        "warning: could not send", "mail system error", "undeliverable mail", "message delivery has failed", "mail failure",
        "[postmaster] email delivery failure", "postfix smtp server: errors from", "delivery notification:",
        "there was an error sending your mail", "mail failed, returning to sender", "mail delivery status notification",
        "メールエラー", "メッセージを配信できません", "配信エラー", "配信できません",
    ]

    /// Sentences the major MTAs open a bounce's text with (Postfix, Exim, qmail, Exchange), lower-cased.
    private static let bounceTextMarkers = [
        "this is the mail system at host", "this message was created automatically by mail delivery software",
        "hi. this is the qmail-send program", "delivery has failed to these recipients or groups",
        "i'm afraid i wasn't able to deliver your message", "your message could not be delivered",
        "unable to deliver message to", "each of the following recipients was rejected", "original message follows",
        "this is an automatically generated delivery status notification", "the following addresses had permanent fatal errors",
        "your message did not reach some or all of the intended recipients", "delivery to the following recipient failed",
    ]

    static func classify(_ message: ReportMessage) -> (format: ReportFormat, reason: String)? {
        let headers = message.headers
        let subject = message.subject.lowercased().trimmingWhitespace()
        // Mail systems send bounces from these, or with a null return path (RFC 5321 section 4.5.5);
        // postmaster@ also sends real complaints, so a sender alone decides nothing. The From field
        // is read as written: `MAILER-DAEMON <>` and `Mail Delivery System <…>` name no usable address.
        let fromField = headers.value("From")?.prefix(256).lowercased() ?? ""
        let returnPath = headers.value("Return-Path")?.prefix(256).lowercased().trimmingWhitespace() ?? ""
        let fromMailSystem = ["mailer-daemon", "mail delivery", "mail.delivery", "postmaster", "<>"].contains { fromField.contains($0) }
            || returnPath == "<>" || returnPath.contains("mailer-daemon") || returnPath.contains("double-bounce")
        let bounceWords = bounceSubjectPrefixes.contains(where: { subject.hasPrefix($0) })
            || message.texts.prefix(1).contains { text in
                let opening = text.prefix(2000).lowercased()
                return bounceTextMarkers.contains { opening.contains($0) }
            }
        if message.reportType == "delivery-status" || message.hasDeliveryStatus || headers.value("X-Failed-Recipients") != nil
            || (fromMailSystem && bounceWords) {
            return (.deliveryStatus, "delivery status notification (bounce)")
        }
        if subjectPrefixes.contains(where: { subject.hasPrefix($0) }) {
            return (.autoReply, "automatic reply (subject \"\(message.subject)\")")
        }
        guard isReply(message, subject: subject) else { return nil }
        if let submitted = headers.value("Auto-Submitted")?.lowercased(), submitted.hasPrefix("auto-replied") {
            return (.autoReply, "automatic reply (Auto-Submitted: auto-replied)")
        }
        if headers.value("X-Autoreply") != nil || headers.value("X-Autorespond") != nil {
            return (.autoReply, "automatic reply (X-Autoreply)")
        }
        if headers.value("Precedence")?.lowercased() == "auto_reply" {
            return (.autoReply, "automatic reply (Precedence: auto_reply)")
        }
        return nil
    }

    /// Subject openings of replies, lower-cased (English, German, Dutch, Nordic, Italian, French).
    private static let replyPrefixes = ["re:", "aw:", "antw:", "sv:", "vs:", "r:", "ref:", "réf:"]

    /// A reply to some message: it names it (RFC 5322 In-Reply-To, References) or says so in its subject.
    /// `subject`: lower-cased and trimmed.
    private static func isReply(_ message: ReportMessage, subject: String) -> Bool {
        message.headers.value("In-Reply-To") != nil || message.headers.value("References") != nil
            || replyPrefixes.contains(where: { subject.hasPrefix($0) })
    }
}
