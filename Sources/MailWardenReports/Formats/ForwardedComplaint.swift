// A person's (or a service's) complaint with the offending message attached (`message/rfc822`)
// or pasted inline below a forwarding marker. The complaint's own words name the source and the
// type; the original is evidence and the trace to a customer, its links and relays are not reported.
import Foundation
import MailWardenCore

enum ForwardedComplaint {
    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        var complaint = message.texts
        var original = message.attachedOriginal?.parts.first
        // A complaint forwarded inline (a provider passing on what its abuse mailbox received) is
        // no offending original: its words are the complaint, read as text.
        if let inline = message.texts.lazy.compactMap({ InlineForward($0, budget: budget) }).first, !inline.isComplaint {
            complaint = message.texts.map { $0 == inline.text ? inline.complaint : $0 }
            if original == nil {
                original = inline.original
                draft.original = OriginalMessage(headers: inline.original.headers, bytes: inline.originalBytes, isHeadersOnly: false)
            }
        }
        if original == nil, let mark = message.headers.firstIndex(where: { $0.name.equalsIgnoringCase("X-HmXmrOriginalRecipient") }) {
            readJunkMailReport(message, reported: Array(message.headers[mark...]), &draft)
            return true
        }
        guard let original else { return false }

        draft.format = .forwardedSpam
        let words = complaint.joined(separator: "\n")
        // The labelled lines are parsed once, for the offending addresses and the stated type.
        let wordLines = LabelledLines.parse(words)
        // The subject may name the source ("complaint about message from 192.0.2.1"); other names
        // in it are mostly the spam's own subject, so only the complaint's words give those.
        draft.ips = LabelledLines.offendingIPs(LabelledLines.parse(message.subject) + wordLines, in: message.subject + "\n" + words)
        // Reporters that name the source in a header of their own (`X-SpamCop-sourceip`).
        let sourceFields = message.headers.filter { $0.name.lowercased().hasSuffix("sourceip") || $0.name.lowercased().hasSuffix("source-ip") }
        for field in sourceFields { draft.addIP(field.value) }
        draft.addFreeText(IndicatorScanner.scan(words))
        // A complaint that names no source at all, or only the original's sender ("more spam from
        // sender.example"), is about the host that sent the original; one that names a site
        // (SpamCop's "spamvertised" reports) is about that site. Non-public addresses in its words
        // (a receiver's internal relay, copied with the headers) name no source; in a field of the
        // reporter's own they do.
        let senderDomains = ReportMessage.registrableDomains(of: ReportMessage.addresses(in: original.headers, ["From", "Sender", "Return-Path"]))
        if draft.ips.isEmpty || (sourceFields.isEmpty && draft.ips.allSatisfy(\.isInternal)), draft.domains.allSatisfy({ senderDomains.contains(Hostname.registrable($0)) }),
           let hop = ReportMessage.offendingHop(original.headers, reporterDomains: message.reporterDomains) {
            draft.ips = UniqueList([hop])
        }
        draft.type = LabelledLines.statedType(wordLines) ?? AbuseType(keywordsIn: words, subject: message.subject) ?? .spam
        draft.receivedAt = ReportDate.first(in: words) ?? original.headers.value("Date").flatMap(ReportDate.parse)
        return true
    }

    /// Microsoft's junk-mail reports of old (JMRP) forward the reported message itself: its own
    /// header fields from `X-HmXmrOriginalRecipient` down, the hops of Hotmail's reporting system
    /// above. Its text is the spam's, so it says nothing of type or source: the hop that handed the
    /// spam to Hotmail is the source.
    private static func readJunkMailReport(_ message: ReportMessage, reported: [HeaderField], _ draft: inout ReportDraft) {
        draft.format = .forwardedSpam
        draft.type = .spam
        if let returnPath = message.headers.value("Return-Path").flatMap(ReportMessage.address) { draft.reporter = returnPath }
        if let hop = ReportMessage.offendingHop(reported) { draft.ips.add(hop) }
        draft.original = OriginalMessage(headers: reported, bytes: [], isHeadersOnly: true)
        draft.receivedAt = reported.value("Date").flatMap(ReportDate.parse)
    }
}

/// A message pasted into a text below a marker line (`-------- Forwarded Message --------`,
/// `Begin forwarded message:`, SpamCop's `=====BEGIN FORWARDED MESSAGE=====`, Outlook's
/// `-----Original Message-----` or its rule of underscores above a `From:` block, their German
/// and Dutch forms), or pasted whole with no marker:
/// its header fields, a `Received` among them, then its body (what people do who forward spam
/// with "view source").
struct InlineForward {
    let text: String
    /// The text without the forwarded message.
    let complaint: String
    let original: MIMEPart
    let originalBytes: [UInt8]

    /// Whether the forwarded message was itself sent to an abuse mailbox (`To: abuse@…`).
    var isComplaint: Bool {
        ReportMessage.addresses(in: original.headers, ["To", "Cc"]).contains(where: ReportMessage.isAbuseMailbox)
    }

    private static let startPhrases = [
        "begin forwarded message", "forwarded message", "original message", "weitergeleitete nachricht",
        "ursprüngliche nachricht", "doorgestuurd bericht", "oorspronkelijk bericht",
    ]

    /// A forward found in a text: the complaint around it, and the forwarded message.
    private typealias Found = (complaint: String, original: MIMEPart, bytes: [UInt8])

    init?(_ text: String, budget: DecodeBudget) {
        let lower = text.lowercased()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func isMarker(_ line: Substring, _ phrases: [String]) -> Bool {
            let lower = line.lowercased()
            guard let phrase = phrases.first(where: { lower.contains($0) }) else { return false }
            // The rest of a marker line is decoration, or the `from NAME` of mutt's marker.
            let rest = lower.replacingOccurrences(of: phrase, with: "").trimmingCharacters(in: CharacterSet(charactersIn: "-=_*: \t\r"))
            return rest.isEmpty || rest.hasPrefix("from ")
        }
        // The complaint ends at `start`; the forwarded message begins at `first`.
        func forwarded(start: Int, first: Int) -> Found? {
            let end = lines[first...].firstIndex { isMarker($0, ["end forwarded message", "end of forwarded message"]) } ?? lines.endIndex
            let bytes = Array(lines[first..<end].drop { $0.trimmingCharacters(in: .whitespaces).isEmpty }.joined(separator: "\n").utf8)
            let part = MIMEPart.parse(bytes[...], depth: 1, budget: budget)
            guard part.headers.count >= 2 else { return nil }
            return ((lines[..<start] + lines[min(end + 1, lines.endIndex)...]).joined(separator: "\n"), part, bytes)
        }
        var found: Found?
        if Self.startPhrases.contains(where: { lower.includes($0) }), let marker = lines.firstIndex(where: { isMarker($0, Self.startPhrases) }) {
            found = forwarded(start: marker, first: marker + 1)
        } else if lower.includes("__________"), let rule = Self.outlookRule(lines) {
            found = forwarded(start: rule, first: rule + 1)
        }
        // A marker with no header block below it (Gmail's "Original Message" summary above the
        // message's source) gives way to the pasted header fields further down.
        if found == nil, let pasted = Self.pastedHeaderStart(lines) {
            found = forwarded(start: pasted, first: pasted)
        }
        guard let found else { return nil }
        self.text = text
        complaint = found.complaint
        original = found.original
        originalBytes = found.bytes
    }

    /// Outlook's rule of underscores with the forwarded message's `From:` block below it.
    private static func outlookRule(_ lines: [Substring]) -> Int? {
        lines.indices.dropLast().first { index in
            let line = lines[index].trimmingWhitespace()
            let next = lines[index + 1].trimmingWhitespace().lowercased()
            return line.count >= 10 && line.allSatisfy { $0 == "_" } && ["from:", "von:", "de:", "van:"].contains { next.hasPrefix($0) }
        }
    }

    /// The first line of a run of at least three header fields, a `Received` among them (lines that
    /// continue a field start with a space or tab), or nil. One pass over the lines.
    private static func pastedHeaderStart(_ lines: [Substring]) -> Int? {
        func fieldName(_ line: Substring) -> Substring? {
            guard let colon = line.utf8.prefix(77).firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return nil }
            let name = line[..<colon]
            return name.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
                ? name : nil
        }
        var runStart: Int?
        var fields = 0
        var sawReceived = false
        for (index, line) in lines.enumerated() {
            if let name = fieldName(line) {
                if runStart == nil { (runStart, fields, sawReceived) = (index, 0, false) }
                fields += 1
                sawReceived = sawReceived || name.lowercased() == "received"
            } else if runStart != nil, line.first == " " || line.first == "\t" {
                continue
            } else {
                if let runStart, fields >= 3, sawReceived { return runStart }
                runStart = nil
            }
        }
        if let runStart, fields >= 3, sawReceived { return runStart }
        return nil
    }
}
