// The files a report carries, kept with it as evidence: attachments and attached messages.
// Signatures are not evidence and feedback-report fields are stored as parsed fields instead.
import MailWardenCore

enum Evidence {
    static func collect(_ message: ReportMessage) -> [EvidenceItem] {
        var files: [EvidenceItem] = []
        for (i, part) in message.attachedMessages.enumerated() {
            let name = part.filename ?? (part.mediaType.hasPrefix("text/") ? "original-headers-\(i + 1).txt" : "original-\(i + 1).eml")
            files.append(EvidenceItem(filename: name, contentType: part.mediaType, bytes: part.body))
        }
        for (i, part) in message.attachments.enumerated() {
            files.append(EvidenceItem(filename: part.filename ?? "attachment-\(i + 1)", contentType: part.mediaType, bytes: part.body))
        }
        return files
    }
}
