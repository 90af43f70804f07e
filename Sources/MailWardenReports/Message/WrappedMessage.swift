// Messages delivered inside an envelope of someone else's, which the desk reads instead of the
// envelope: the envelope's text and From are the wrapper's, not the reporter's.
import MailWardenCore

enum WrappedMessage {
    /// The message `root` wraps, or nil when it wraps none.
    static func inside(_ root: MIMEPart) -> MIMEPart? {
        certifiedMail(root) ?? wrappedItself(root)
    }

    /// Italian certified mail (PEC, DPR 68/2005): the sender's provider delivers the sender's
    /// message wrapped in an envelope of its own (`X-Trasporto: posta-certificata`, a signed
    /// multipart/mixed with the provider's notice, `daticert.xml` and the message itself as
    /// `postacert.eml`); ordinary mail that reached a PEC mailbox comes in an anomaly envelope
    /// (`X-Trasporto: errore`) the same way.
    private static func certifiedMail(_ root: MIMEPart) -> MIMEPart? {
        guard let transport = root.headers.value("X-Trasporto")?.lowercased().trimmingWhitespace(),
              transport == "posta-certificata" || transport == "errore" else { return nil }
        // multipart/signed holds the content first; the content holds the wrapped message.
        let content = root.mediaType == "multipart/signed" ? root.parts.first : root
        let wrapped = content?.parts.first { $0.mediaType == "message/rfc822" && $0.filename?.lowercased() == "postacert.eml" }
        return wrapped?.parts.first
    }

    /// A report attached to itself: an abuse mailbox that redirects what it receives (Exchange's
    /// `Resent-From`) or a gateway that stamps a warning banner on it passes the report on as an
    /// attachment of an envelope with the report's own Message-ID. The attachment is the report;
    /// read as a forward, the report would be taken for the offending original. Only a message
    /// sent to an abuse mailbox (`abuse@`, `spam.ie@`) is one: a spam a person redirects the same
    /// way is the original of that person's complaint.
    private static func wrappedItself(_ root: MIMEPart) -> MIMEPart? {
        guard let id = messageID(root), let inner = ReportMessage.firstAttachedMessage(in: root)?.parts.first,
              messageID(inner) == id,
              ReportMessage.addresses(in: inner.headers, ["To", "Cc"]).contains(where: ReportMessage.isAbuseMailbox) else { return nil }
        return inner
    }

    private static func messageID(_ part: MIMEPart) -> String? {
        guard let value = part.headers.value("Message-ID")?.trimmingWhitespace(), value.utf8.count > 2 else { return nil }
        return value
    }
}
