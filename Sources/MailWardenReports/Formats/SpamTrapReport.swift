// Project Honey Pot's spam-trap hits: the message a trap address caught, passed on whole with the
// trap's own header fields added (`X-HP-Abuse: YES`, and `X-HP-ConnectIP`, the client that handed
// the message to the trap). The trap names the source in a field of its own, so neither the
// message's words (the spam's) nor its Received chain (which the sender can forge below the trap's
// hop) are read; the message is its own original, which traces it to our customer.
import MailWardenCore

enum SpamTrapReport {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        let headers = message.headers
        guard headers.value("X-HP-Abuse")?.trimmingWhitespace().equalsIgnoringCase("yes") == true,
              let connectIP = headers.value("X-HP-ConnectIP"), IPAddress(connectIP.trimmingWhitespace()) != nil
        else { return false }
        draft.format = .spamTrap
        draft.type = .spam
        draft.addIP(connectIP)
        draft.fields = headers.filter { $0.name.lowercased().hasPrefix("x-hp-") }
        // The From is the spam's; the trap's operator is the envelope sender, when it was kept.
        draft.reporter = headers.value("Return-Path").flatMap(ReportMessage.address)
        draft.original = OriginalMessage(headers: headers, bytes: [], isHeadersOnly: true)
        draft.receivedAt = (headers.value("X-HP-Received") ?? headers.value("Date")).flatMap(ReportDate.parse)
        return true
    }
}
