// A report message sorted for the format readers: its own text, its files, its feedback-report
// parts and the original messages it carries. Attached originals are not descended into, so the
// spam a report quotes never counts as the report's own words.
import Foundation
import MailWardenCore

struct ReportMessage {
    let root: MIMEPart
    var headers: [HeaderField] { root.headers }
    let subject: String
    /// The From address, lower-cased.
    let from: String?
    /// The human-readable text parts, decoded, HTML reduced to text, PGP armour removed; at most
    /// `ReportLimits.maxScannedTextBytes` of them all together, since every reader passes over them.
    private(set) var texts: [String] = []
    private var textBytes = 0
    /// Text past `maxScannedTextBytes` was dropped.
    private var textsCut = false
    /// Leaf parts that are files (`report.txt`, CSV, ZIP, XML, logs, images).
    private(set) var attachments: [MIMEPart] = []
    private(set) var feedbackReports: [MIMEPart] = []
    /// Attached `message/rfc822` and `text/rfc822-headers` parts.
    private(set) var attachedMessages: [MIMEPart] = []
    /// The attached message the report is about: the first one, unless that is the reporter's own
    /// mail (its earlier forward to SpamCop or to another desk, attached again), whose own attached
    /// message is then the original, down to three such wrappings.
    private(set) var attachedOriginal: MIMEPart?
    private(set) var hasDeliveryStatus = false
    /// A read receipt's machine part (RFC 8098).
    private(set) var hasDispositionNotification = false
    /// Registrable domains of the reporter (From, Sender, Reply-To, Return-Path, and Request
    /// Tracker's X-RT-Originator when a ticket system forwarded it) and of the ticket systems its
    /// subject's tags name (`[rt.isp.example #787048]`): its own links.
    let reporterDomains: Set<String>
    /// Registrable domains of the recipients (To, Cc): ours. When some recipients are abuse
    /// mailboxes (`abuse@`, `abuse-reports@`), only theirs: a notice sent to the offending site's
    /// `hostmaster@` as well as to its host's `abuse@` is about that site.
    let recipientDomains: Set<String>
    /// The recipients' addresses (To, Cc), lower-cased.
    let recipientAddresses: [String]

    init(_ root: MIMEPart) {
        self.root = root
        subject = root.headers.value("Subject") ?? ""
        from = root.headers.value("From").flatMap(Self.address)
        reporterDomains = Self.registrableDomains(of: Self.addresses(in: root.headers, ["From", "Sender", "Reply-To", "Return-Path", "X-RT-Originator"]))
            .union(ReportThreading.ticketSystemHosts(inSubject: subject).map(Hostname.registrable))
        let recipients = Self.addresses(in: root.headers, ["To", "Cc"])
        recipientAddresses = recipients.map { $0.lowercased() }
        let abuseMailboxes = recipients.filter(Self.isAbuseMailbox)
        recipientDomains = Self.registrableDomains(of: abuseMailboxes.isEmpty ? recipients : abuseMailboxes)
        walk(root)
        attachedOriginal = Self.original(in: attachedMessages.first, reporterDomains: reporterDomains)
    }

    /// Whether any part of the message was cut.
    var isTruncated: Bool {
        func cut(_ part: MIMEPart) -> Bool { part.isTruncated || part.parts.contains(where: cut) }
        return textsCut || cut(root)
    }

    var reportType: String? { root.contentType["report-type"]?.lowercased() }

    private static func original(in firstAttached: MIMEPart?, reporterDomains: Set<String>) -> MIMEPart? {
        guard var attached = firstAttached else { return nil }
        for _ in 0..<3 {
            guard let inner = attached.parts.first,
                  !Self.registrableDomains(of: Self.addresses(in: inner.headers, ["From"])).isDisjoint(with: reporterDomains),
                  let nested = Self.firstAttachedMessage(in: inner) else { break }
            attached = nested
        }
        return attached
    }

    /// The first attached message (`message/rfc822` or `message/global`) of `part`, depth first.
    static func firstAttachedMessage(in part: MIMEPart, depth: Int = 0) -> MIMEPart? {
        if part.mediaType == "message/rfc822" || part.mediaType == "message/global" { return part }
        guard part.isMultipart, depth < 8 else { return nil }
        return part.parts.lazy.compactMap { firstAttachedMessage(in: $0, depth: depth + 1) }.first
    }

    /// The addresses in the header fields `names` (comma-separated lists, display names dropped).
    static func addresses(in headers: [HeaderField], _ names: [String]) -> [String] {
        names.flatMap { headers.values($0) }.flatMap { $0.split(separator: ",") }.compactMap { address(String($0)) }
    }

    /// The registrable domains of e-mail addresses (`news@mail.shop.example` → `shop.example`).
    static func registrableDomains(of addresses: [String]) -> Set<String> {
        Set(addresses.compactMap { $0.split(separator: "@").last.flatMap(Hostname.normalized) }.map(Hostname.registrable))
    }

    /// An abuse desk's mailbox: `abuse@`, `abuse-reports@`, `noc-abuse@`, and the spam desks'
    /// `spam@`, `spam.ie@`.
    static func isAbuseMailbox(_ address: String) -> Bool {
        guard let local = address.split(separator: "@").first?.lowercased() else { return false }
        return local.contains("abuse") || local.contains("spam")
    }

    /// Names of the files in which reporters send lists, whatever type they are declared as (CERTs
    /// send them as application/octet-stream, CERT.br and UCEPROTECT zipped).
    private static let listFileSuffixes = [".txt", ".log", ".csv", ".tsv"]

    /// Attached files a person would open as text (text/plain or text/csv, or a name in
    /// `listFileSuffixes`), also inside ZIP attachments, and the cells of spreadsheets (`.xlsx`,
    /// one cell a line), decoded, at most `ReportLimits.maxScannedTextBytes` of them together.
    func textFiles(budget: DecodeBudget) -> [String] {
        var left = ReportLimits.maxScannedTextBytes
        var files: [String] = []
        func add(_ text: String) {
            let kept = text.utf8Prefix(left)
            left -= kept.utf8.count
            files.append(kept)
        }
        func isListFile(_ name: String) -> Bool { Self.listFileSuffixes.contains(where: name.lowercased().hasSuffix) }
        for part in attachments where left > 0 {
            if ["text/plain", "text/csv"].contains(part.mediaType) || isListFile(part.filename ?? "") {
                add(part.text)
            } else if ZIPArchive.looksLikeZIP(part.body) {
                for entry in ZIPArchive.entries(part.body, budget: budget) where left > 0 {
                    if isListFile(entry.name) {
                        add(String(mailBytes: entry.bytes))
                    } else if entry.name == "xl/sharedStrings.xml" || entry.name.hasPrefix("xl/worksheets/") && entry.name.hasSuffix(".xml") {
                        // A cell's text (`<t>`) or value (`<v>`), one a line, as in a list file.
                        var cut = false
                        add(XMLScanner.elements(String(mailBytes: entry.bytes), budget: budget, truncated: &cut)
                            .filter { $0.name == "t" || $0.name == "v" }.map(\.text).joined(separator: "\n"))
                    }
                }
            }
        }
        return files
    }

    private mutating func walk(_ part: MIMEPart) {
        switch part.mediaType {
        case "multipart/alternative":
            // One rendering is enough; plain text says it with the least noise, unless it says
            // nothing (a mailing platform's `.` beside the HTML that holds the notice).
            let plain = part.parts.first { $0.mediaType == "text/plain" && $0.text.contains(where: { $0.isLetter || $0.isNumber }) }
            if let rendering = plain ?? part.parts.first(where: { $0.mediaType != "text/plain" }) ?? part.parts.first {
                walk(rendering)
            }
        case "multipart/signed":
            // RFC 3156: the first part is the content, the second the signature.
            if let content = part.parts.first { walk(content) }
        case _ where part.isMultipart:
            for child in part.parts { walk(child) }
        case "message/rfc822", "message/global", "text/rfc822-headers", "text/rfc822-header":
            attachedMessages.append(part)
        case "message/feedback-report":
            feedbackReports.append(part)
        case "message/delivery-status", "message/global-delivery-status":
            hasDeliveryStatus = true
        case "message/disposition-notification", "message/global-disposition-notification":
            hasDispositionNotification = true
        case "application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature":
            break
        case "text/plain", "text/html", "text/enriched":
            if part.isAttachment {
                attachments.append(part)
            } else {
                addText(part)
            }
        default:
            attachments.append(part)
        }
    }

    private mutating func addText(_ part: MIMEPart) {
        let left = ReportLimits.maxScannedTextBytes - textBytes
        // Once the texts are full, a part is not even decoded.
        guard left > 0 || part.body.isEmpty else {
            textsCut = true
            return
        }
        let text = Self.readableText(part)
        let kept = text.utf8Prefix(left)
        textsCut = textsCut || kept.utf8.count < text.utf8.count
        textBytes += kept.utf8.count
        if !kept.isEmpty || text.isEmpty { texts.append(kept) }
    }

    /// A text part as a person reads it: HTML tags dropped, entities decoded, PGP armour removed.
    static func readableText(_ part: MIMEPart) -> String {
        var text = part.text
        if part.mediaType == "text/html" { text = htmlToText(text) }
        return withoutPGPArmour(text)
    }

    /// Text of an HTML body: tags become line breaks or spaces, `href` targets are kept.
    static func htmlToText(_ html: String) -> String {
        var out = ""
        var rest = Substring(html.prefix(ReportLimits.maxScannedTextBytes))
        while let open = rest.firstIndex(of: "<") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">") else { break }
            let tag = rest[open...close].lowercased()
            if tag.hasPrefix("<br") || tag.hasPrefix("<p") || tag.hasPrefix("</p") || tag.hasPrefix("<div") || tag.hasPrefix("<tr") {
                out += "\n"
            } else {
                out += " "
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return IndicatorScanner.decodedEntities(out)
    }

    /// An inline-signed text without its OpenPGP frame and with dash-escaping undone (RFC 4880 7.1).
    static func withoutPGPArmour(_ text: String) -> String {
        guard text.includes("-----BEGIN PGP SIGNED MESSAGE-----") else { return text }
        var out: [Substring] = []
        var inHeader = false
        var inSignature = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let bare = line.hasSuffix("\r") ? line.dropLast() : line
            if bare == "-----BEGIN PGP SIGNED MESSAGE-----" {
                inHeader = true
            } else if inHeader {
                if bare.isEmpty { inHeader = false }
            } else if bare == "-----BEGIN PGP SIGNATURE-----" {
                inSignature = true
            } else if bare == "-----END PGP SIGNATURE-----" {
                inSignature = false
            } else if !inSignature {
                out.append(bare.hasPrefix("- ") ? bare.dropFirst(2) : bare)
            }
        }
        return out.joined(separator: "\n")
    }

    /// The address in `Name <user@example.com>` or a bare `user@example.com`, lower-cased.
    static func address(_ field: String) -> String? {
        var candidate = Substring(field)
        if let open = field.lastIndex(of: "<"), let close = field[open...].firstIndex(of: ">") {
            candidate = field[field.index(after: open)..<close]
        } else if let token = field.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "(" || $0 == ")" || $0 == "\"" })
            .first(where: { $0.contains("@") }) {
            candidate = token
        }
        var text = candidate.trimmingWhitespace().lowercased()
        if text.hasPrefix("mailto:") { text.removeFirst(7) }
        guard let at = text.lastIndex(of: "@"), at > text.startIndex, Hostname.normalized(text[text.index(after: at)...]) != nil else {
            return nil
        }
        return text
    }
}
