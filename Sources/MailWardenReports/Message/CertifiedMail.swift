// Italian certified mail (PEC, DPR 68/2005): the sender's provider delivers the sender's message
// wrapped in an envelope of its own (`X-Trasporto: posta-certificata`, a signed multipart/mixed
// with the provider's notice, `daticert.xml` and the message itself as `postacert.eml`); ordinary
// mail that reached a PEC mailbox comes in an anomaly envelope (`X-Trasporto: errore`) the same
// way. What the desk reads is the wrapped message: the envelope's text and From are the provider's.
import MailWardenCore

enum CertifiedMail {
    /// The message a PEC envelope wraps, or nil when `root` is no PEC envelope.
    static func wrappedMessage(in root: MIMEPart) -> MIMEPart? {
        guard let transport = root.headers.value("X-Trasporto")?.lowercased().trimmingWhitespace(),
              transport == "posta-certificata" || transport == "errore" else { return nil }
        // multipart/signed holds the content first; the content holds the wrapped message.
        let content = root.mediaType == "multipart/signed" ? root.parts.first : root
        let wrapped = content?.parts.first { $0.mediaType == "message/rfc822" && $0.filename?.lowercased() == "postacert.eml" }
        return wrapped?.parts.first
    }
}
