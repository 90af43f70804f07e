// Messages that make no case: delivery status notifications (bounces) and automatic replies
// (RFC 3834 and its unofficial relatives). Asked only after every structured reader has said no,
// because report content decides: a DMARC failure report sent `Auto-Submitted: auto-replied` is a
// report, and ARF reports carry `Auto-Submitted: auto-generated`.
import MailWardenCore

enum AutomaticReply {
    /// Subject openings of out-of-office and other automatic replies, lower-cased.
    private static let subjectPrefixes = [
        "automatic reply:", "auto:", "autoreply", "auto reply", "auto-reply", "automatische antwort",
        "out of office", "out of the office", "away until", "abwesenheitsnotiz", "afwezig",
        "réponse automatique", "respuesta automática", "risposta automatica",
    ]

    /// Subject openings of bounces that are not RFC 3464 reports (qmail, Exim, Exchange), lower-cased.
    private static let bounceSubjectPrefixes = [
        "undelivered mail", "undeliverable:", "delivery status notification", "mail delivery failed", "failure notice",
        "returned mail:", "delivery failure", "mail delivery failure", "unzustellbar:", "non remis", "warning: could not send",
    ]

    static func classify(_ message: ReportMessage) -> (format: ReportFormat, reason: String)? {
        let headers = message.headers
        let subject = message.subject.lowercased().trimmingWhitespace()
        let fromDaemon = message.from?.hasPrefix("mailer-daemon@") == true
        if message.reportType == "delivery-status" || message.hasDeliveryStatus || headers.value("X-Failed-Recipients") != nil
            || (fromDaemon && bounceSubjectPrefixes.contains(where: { subject.hasPrefix($0) })) {
            return (.deliveryStatus, "delivery status notification (bounce)")
        }
        if let submitted = headers.value("Auto-Submitted")?.lowercased(), submitted.hasPrefix("auto-replied") {
            return (.autoReply, "automatic reply (Auto-Submitted: auto-replied)")
        }
        if headers.value("X-Autoreply") != nil || headers.value("X-Autorespond") != nil {
            return (.autoReply, "automatic reply (X-Autoreply)")
        }
        if headers.value("Precedence")?.lowercased() == "auto_reply" {
            return (.autoReply, "automatic reply (Precedence: auto_reply)")
        }
        if subjectPrefixes.contains(where: { subject.hasPrefix($0) }) {
            return (.autoReply, "automatic reply (subject \"\(message.subject)\")")
        }
        return nil
    }
}
