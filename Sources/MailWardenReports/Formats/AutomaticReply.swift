// Messages that make no case: delivery status notifications (bounces) and automatic replies
// (RFC 3834 and its unofficial relatives). Asked only after every structured reader has said no,
// because report content decides: a DMARC failure report sent `Auto-Submitted: auto-replied` is a
// report, and ARF reports carry `Auto-Submitted: auto-generated`. A header mark alone (CERT ticket
// systems mark their reports auto-replied) makes an automatic reply only of a reply; any other
// message so marked is read as a complaint, filed or left in triage, never silently ignored.
import MailWardenCore

enum AutomaticReply {
    /// Subject openings of out-of-office and other automatic replies, lower-cased, read after any
    /// opening `[` (`[Automatyczna odpowiedź] …`).
    private static let subjectPrefixes = [
        "automatic reply:", "auto:", "autoreply", "autorespon", "auto reply", "auto-reply", "auto response", "automatische antwort",
        "out of office", "out of the office", "away until", "abwesenheitsnotiz", "afwezig", "automatisch antwoord",
        "réponse automatique", "respuesta automática", "risposta automatica", "resposta automática", "automatyczna odpowied",
        "automaattinen vastaus", "autosvar", "automatiska atbilde", "ārpus biroja", "arpus biroja", "automatisk svar",
        "automatická odpověď", "odpowiedź automatyczna", "otomatik yanıt", "automatikus válasz", "автоответ",
        "автоматический ответ", "自動応答", "自動返信", "自动回复", "自動回覆",
    ]

    /// Subject openings of Outlook's read receipts (`Read: <subject>`), lower-cased, in the languages
    /// of its clients. A receipt within Exchange carries no text: the receipt is in TNEF (`winmail.dat`).
    private static let readReceiptPrefixes = [
        "read:", "gelesen:", "lu :", "lu:", "letto:", "leído:", "lido:", "gelezen:", "läst:", "lest:", "læst:", "luettu:",
        "přečteno:", "odczytane:", "прочитано:", "開封済み:", "已读:", "已讀:",
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
        "メールエラー", "メッセージを配信できません", "配信エラー", "配信できません", "退信", "系统退信", "邮件无法投递",
        "недоставленное сообщение", "mail zurückgeschickt",
    ]

    /// Words anywhere in a subject that name a bounce, lower-cased (`Warning--Could not send mail
    /// for past 8.5 hours`, `FAILED MAIL to …`, `Permanent Delivery Failure`).
    private static let bounceSubjectWords = [
        "could not send", "undeliver", "not delivered", "could not be delivered", "not yet been delivered", "delivery fail",
        "delivery status", "delivery problem", "delivery delay", "delayed mail", "non-delivery", "nondelivery", "returned mail",
        "failure notice", "mail delivery", "failed mail", "mail failure", "mail error", "user unknown", "non remis",
        "не доставлено",
    ]

    /// Words in the subject of a mail filter's notice that it stopped a message (a virus, spam, a
    /// blocklisted server): sent to the sender or recipient, often forged, of a message it never
    /// delivered. Lower-cased.
    private static let filterNoticeSubjectWords = [
        "infected message", "virus found", "virus detected", "virus alert", "virus notification", "malware detected",
        "blocked message", "message blocked", "spam detected", "message rejected", "mail rejected", "rbl block",
        "wiadomosc odrzucona", "wiadomość odrzucona", "virus gefunden", "virenwarnung",
    ]

    /// What such a filter writes in the text, lower-cased: about a message, never about a host (a
    /// CERT's report of an infected host is a report).
    private static let filterNoticeSentences = [
        "an infected message", "infected attachment", "contains a virus", "virus was found", "virus has been detected",
        "was rejected by a rbl", "was rejected by an rbl", "did not reach the recipient", "nie została dostarczona",
        "nie zostala dostarczona", "message has been quarantined", "message was quarantined",
    ]

    /// What MTAs and gateways write in a bounce's opening text, lower-cased: their sentences
    /// (Postfix, Exim, qmail, Exchange, Sendmail, MDaemon, InterScan) in several languages.
    private static let bounceSentences = [
        "this is the mail system at host", "by mail delivery software", "hi. this is the qmail-send program",
        "delivery has failed to these recipients or groups", "i'm afraid i wasn't able to deliver your message",
        "unable to deliver message to", "each of the following recipients was rejected", "original message follows",
        "this is an automatically generated delivery status notification", "the following addresses had permanent fatal errors",
        "your message did not reach some or all of the intended recipients", "delivery to the following recipient failed",
        "did not reach the following recipient", "the following addresses had delivery errors", "the original message was received at",
        "could not be delivered", "cannot be delivered", "can't be delivered", "couldn't be delivered", "could not deliver",
        "not yet been delivered", "has not been delivered", "was not delivered", "fatal delivery errors", "delivery attempts will continue",
        "will continue to attempt delivery", "has been returned", "returned mail follows", "konnte nicht zugestellt",
        "nicht zugestellt werden", "n'a pas pu etre", "n'a pas pu être", "no se pudo entregar", "non è stato possibile recapitare",
        "не может быть доставлено",
    ]

    /// SMTP failures a bounce reports. Reports of dictionary attacks quote them too, in log lines,
    /// so they tell a bounce only from MAILER-DAEMON or under a bounce's subject.
    private static let deliveryFailures = [
        "requested action not taken", "message was not accepted", "mailbox unavailable", "mailbox quota", "over quota",
        "mailbox is full", "no such user", "user unknown", "unknown user", "user not found", "recipient address rejected",
        "failed recipient",
    ]

    /// From fields of the mail system itself, lower-cased: `MAILER-DAEMON <>`, `Mail Delivery
    /// System <…>`, `"Mail Deliver System"`, MDaemon, Verizon's `post_master@`.
    private static let mailDaemonSenders = ["mailer-daemon", "mail deliver", "mail.delivery", "post_master", "<>", "mdaemon@"]

    /// Senders that send bounces but also other mail: postmaster@ sends real complaints.
    private static let mailSystemSenders = mailDaemonSenders + ["postmaster", "no-reply@", "noreply@"]

    /// From fields of mailboxes that take no answer, lower-cased: what they send is automatic.
    private static let unansweredSenders = [
        "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "@nomail.", "autoreply@", "auto-reply@",
    ]

    /// What out-of-office and acknowledging replies write, lower-cased.
    private static let absenceMarkers = [
        "out of office", "out of the office", "away from the office", "on vacation", "on holiday", "on annual leave",
        "abwesend", "nicht im büro", "außer haus", "absent du bureau", "en vacances", "en congé", "fuera de la oficina",
        "de vacaciones", "met vakantie", "fuori ufficio", "in ferie", "atvaļinājumā",
    ]

    /// What out-of-office replies add; a person's reply says it too ("I will be back with the
    /// logs"), so it counts only on mail marked automatic.
    private static let looseAbsenceMarkers = ["will be back", "i am away", "i'm away", "limited access to e-mail", "limited access to email"]

    /// What automatic acknowledgements write, in the subject or the text; trusted only with an
    /// automatic sender's header mark. Never what a report asks of us ("respond as soon as possible").
    private static let acknowledgementMarkers = [
        "thank you for your e-mail", "thank you for your email", "thank you for your message", "thank you for contacting",
        "i will reply", "i will respond", "i will get back to you", "will endeavour to reply", "we will get back to you",
        "we hereby acknowledge", "we acknowledge receipt", "we acknowledge the receipt", "vielen dank für ihre nachricht",
        "vielen dank für ihre e-mail", "vielen dank für ihre elektronische nachricht", "danke für ihre nachricht",
        "merci pour votre message", "gracias por su mensaje",
    ]

    /// Subjects of automatic acknowledgements, lower-cased, which no complaint has. `empfangsbest`
    /// and `eingangsbest` also match the Bestätigung that a wrong charset mangled.
    private static let acknowledgementSubjectWords = [
        "acknowledgement of receipt", "acknowledgment of receipt", "receipt confirmation", "confirmation of receipt",
        "empfangsbest", "eingangsbest", "accusé de réception", "acuse de recibo", "ontvangstbevestiging", "not monitored",
    ]

    /// What a provider answers to a complaint (besides receiptOfYourComplaint), in a reply's opening,
    /// above the complaint it quotes. Not thanks alone: a CERT forwarding a report to the network's
    /// owner thanks the reporter too.
    private static let complaintAnswerMarkers = [
        "we have opened a case", "we have contacted our customer", "we have forwarded your complaint", "has been suspended",
        "have been suspended", "has been terminated", "we have taken action",
    ]

    /// An answer's opening that names the complaint as the recipient's own: enough without reply
    /// headers (a provider's new mail about it). A CERT passing a report on writes "received a report".
    private static let receiptOfYourComplaint = [
        "received your complaint", "received your abuse report", "received your report", "in receipt of your report",
        "in receipt of your complaint",
    ]

    /// What a ticket system or an unmonitored mailbox answers to mail it received; trusted only on
    /// an automatic reply (a report's footer may say its mailbox is not monitored).
    private static let receiptMarkers = [
        "not monitored", "we have received your", "has been received", "your ticket", "ticket number", "a ticket has been",
        "we received your", "has been logged",
    ]

    /// What a ticket system writes about a ticket of its own that it opened before: closed, awaiting
    /// our statement, a statement received. Lower-cased, several languages.
    private static let ticketNoticeMarkers = [
        "ticket will now be manually", "ticket will now be closed", "relevant ticket will be closed", "ticket has been closed",
        "ticket is now closed", "ticket was closed",
        "status of your ticket", "closed the ticket", "closed your ticket", "not received a response from you",
        "not received requested information", "statement has been successfully entered", "ticket wurde geschlossen",
        "ticket a été fermé", "ticket a été clôturé", "cerrado el ticket", "ticket è stato chiuso",
    ]

    /// States a ticket system's footer gives a ticket it has only just opened (WHMCS's "Ticket ID: …
    /// Status: Open"), as its first notice of a complaint carries. Any other state ("Answered",
    /// "Closed", or one of the statuses providers name themselves, "Critical - Abuse (Resolved within
    /// 12 Hours)") is a later notice on the ticket.
    private static let newTicketStates = ["open", "new"]

    /// What a reporter writes when it follows up an earlier report of its own, in the subject or
    /// the opening (not "following up on reports we received", which a CERT's first notice says).
    private static let followUpMarkers = [
        "follow up of abuse ticket", "update on a previous", "update on our previous", "update on the previous", "previous ticket",
        "refer to our notice", "refer to our previous", "our previous notice", "our previous report", "our previous complaint",
        "our earlier notice", "our earlier report",
    ]

    /// What SMTP clients write when a server refused a message (Postfix's `(in reply to RCPT TO
    /// command)`): only a bounce, or a notice that quotes one, has them in its own text.
    private static let smtpDiagnostics = [
        "(in reply to rcpt to command)", "(in reply to mail from command)", "(in reply to end of data command)",
        "(in reply to data command)",
    ]

    /// What challenge-response filters write when they ask the sender to prove itself (Bluebottle, Boxbe).
    private static let challengeMarkers = ["to ensure delivery of your", "allowed list", "approved senders", "verify that you are"]

    /// What a message that no structured reader recognised is, when it is no complaint to file.
    enum Verdict {
        /// A bounce or an automatic reply: kept, no case.
        case ignored(ReportFormat, reason: String)
        /// Read as a complaint, but left in triage for a person.
        case forPerson(reason: String)
    }

    /// A bounce or a read receipt told by its machine part (RFC 3464 delivery status, RFC 8098
    /// disposition) or by Exim's X-Failed-Recipients, as one of ReportParser's readers: ignored. It
    /// comes before the readers of complaints, since a bounce returns a message that may itself look
    /// like a report (an NDR of a "DMARC failure report", the customer's original attached).
    static func readMachineNotice(_ message: ReportMessage, _ draft: inout ReportDraft, _: DecodeBudget) -> Bool {
        guard case .ignored(let format, let reason)? = machineNotice(message) else { return false }
        draft.format = format
        draft.ignoredBecause = reason
        return true
    }

    private static func machineNotice(_ message: ReportMessage) -> Verdict? {
        if message.reportType == "delivery-status" || message.hasDeliveryStatus || message.headers.value("X-Failed-Recipients") != nil {
            return .ignored(.deliveryStatus, reason: "delivery status notification (bounce)")
        }
        if message.reportType == "disposition-notification" || message.hasDispositionNotification {
            return .ignored(.autoReply, reason: "read receipt (message disposition notification)")
        }
        return nil
    }

    /// What a message no reader recognised (readMachineNotice included) is, when it is no complaint.
    static func classify(_ message: ReportMessage) -> Verdict? {
        let headers = message.headers
        let subject = message.subject.lowercased().trimmingWhitespace()
        let sender = Sender(headers)
        // A bounce is told by two signs of these, at least one in words: postmaster@ also sends
        // real complaints, and a complaint may quote a bounce, so no one sign decides.
        let subjectSaysBounce = saysBounce(subject: subject) || bounceSubjectWords.contains(where: { subject.includes($0) })
        let subjectSaysFilterNotice = filterNoticeSubjectWords.contains(where: { subject.includes($0) })
        let opening = Opening(message)
        let textSaysBounce = opening.says(bounceSentences)
            || (sender.isOneOf(mailDaemonSenders) || subjectSaysBounce) && opening.says(deliveryFailures)
        // What a forward's subject forwards; nil when it is no forward.
        let unforwarded = withoutForwardPrefixes(subject)
        let forwardedSubject = unforwarded.count < subject.count ? unforwarded : nil
        let fromMailSystem = sender.isOneOf(mailSystemSenders)
        let signs = [fromMailSystem, subjectSaysBounce, textSaysBounce].filter { $0 }.count
        if forwardedSubject == nil && ((subjectSaysBounce || textSaysBounce) && signs >= 2 || sender.isMailerDaemon && !message.attachedMessages.isEmpty) {
            return .ignored(.deliveryStatus, reason: "delivery status notification (bounce)")
        }
        // The same two signs tell a mail filter's notice: its words are no bounce's, and the
        // sender is the mail system's or one that takes no answer (`noreply-BitDefender`). The text
        // is read only when another sign is there (most reports have none).
        let takesNoAnswer = sender.isOneOf(unansweredSenders)
        let filterSender = fromMailSystem || takesNoAnswer
        if forwardedSubject == nil && (filterSender || subjectSaysFilterNotice),
           [filterSender, subjectSaysFilterNotice, opening.says(filterNoticeSentences)].filter({ $0 }).count >= 2 {
            return .ignored(.deliveryStatus, reason: "a mail filter's notice of a message it stopped (virus, spam or blocklist)")
        }
        // Italian certified mail (PEC) sends its receipts (acceptance, delivery) as separate mails.
        if let receipt = headers.value("X-Ricevuta") {
            return .ignored(.autoReply, reason: "certified mail (PEC) receipt (\(receipt.prefix(40)))")
        }
        if readReceiptPrefixes.contains(where: { subject.hasPrefix($0) }), isTNEFOnly(message) || opening.says(["was read on", "was read at"]) {
            return .ignored(.autoReply, reason: "read receipt (Outlook)")
        }
        if isListManagerNotice(message) {
            return .ignored(.autoReply, reason: "mailing-list software notice (from \(message.from ?? "the list"))")
        }
        let unbracketed = subject.hasPrefix("[") ? String(subject.dropFirst()) : subject
        if subjectPrefixes.contains(where: { unbracketed.hasPrefix($0) }) {
            return .ignored(.autoReply, reason: "automatic reply (subject \"\(message.subject)\")")
        }
        // Outlook's request to recall a message sent before: the message itself was read already.
        if subject.hasPrefix("recall:") && opening.says(["would like to recall the message"]) {
            return .ignored(.autoReply, reason: "a request to recall a message sent before (Outlook)")
        }
        if headers.value("X-Autoreply") != nil || headers.value("X-Autorespond") != nil {
            return .ignored(.autoReply, reason: "automatic reply (X-Autoreply)")
        }
        if headers.value("Precedence")?.lowercased() == "auto_reply" {
            return .ignored(.autoReply, reason: "automatic reply (Precedence: auto_reply)")
        }
        let replying = isReply(message, subject: subject)
        // A null or MAILER-DAEMON return path, or a sender that takes no answer, marks it as well.
        let automatic = isMarkedAutomatic(headers) || takesNoAnswer
        let acknowledges = automatic && (opening.says(acknowledgementMarkers) || acknowledgementMarkers.contains(where: { subject.includes($0) })
                                         || replying && opening.says(receiptMarkers))
        // A person's reply says it is away in its first sentences, not somewhere in a quote.
        if replying && (opening.says(absenceMarkers, within: 300) || opening.says(challengeMarkers))
            || automatic && (opening.says(absenceMarkers) || opening.says(looseAbsenceMarkers) || opening.says(challengeMarkers))
            || acknowledgementSubjectWords.contains(where: { subject.includes($0) }) {
            return .ignored(.autoReply, reason: "automatic reply (out of office or acknowledgement)")
        }
        // A ticket system's acknowledgement that answers no message of ours, and whose subject names
        // an address ("[Ticket ID: 826031] 192.0.2.1 [login-attack] Abuse originating from IP you
        // are using"), is a provider opening a complaint against us, or acknowledging ours sent
        // some other way: a person tells which.
        if acknowledges {
            guard replying || IndicatorScanner.ips(in: subject).isEmpty else {
                return .forPerson(reason: "an automatic acknowledgement of a ticket about an address: a complaint about us or ours acknowledged, for a person")
            }
            return .ignored(.autoReply, reason: "automatic reply (out of office or acknowledgement)")
        }
        // A marked answer is an automatic reply, unless it is a report: ticket systems (RT, Jira,
        // Zendesk) send theirs marked, with References to their own ticket. A subject that answers
        // (`Re:`) decides alone; a header reference only with a text that names no address or link.
        if let submitted = headers.value("Auto-Submitted")?.lowercased().trimmingWhitespace(), submitted.hasPrefix("auto-"),
           answers(subject) || replying && !opening.namesAnAddressOrLink && IndicatorScanner.ips(in: subject).isEmpty {
            return .ignored(.autoReply, reason: "automatic reply (Auto-Submitted: \(submitted.prefix(40)))")
        }
        // A reply that quotes mail from the very mailbox it is sent to ("On Fri, 27 May … Trust &
        // Safety <abuse@example.net> wrote:") answers our own correspondence, however much of a
        // complaint it repeats: it belongs to that case, never a new one.
        if replying, quotesMail(from: message.recipientAddresses, in: message.texts.first ?? "") {
            return .forPerson(reason: "a reply quoting mail from the mailbox it is sent to: correspondence for a person, not a new case")
        }
        // A provider's answer to a complaint ("we have received your complaint about 192.0.2.1")
        // quotes it: when no case of ours is in its thread, it is for a person, never a new case.
        if opening.says(receiptOfYourComplaint, within: 600) || replying && opening.says(complaintAnswerMarkers, within: 600) {
            return .forPerson(reason: "an answer to a complaint, quoting it: correspondence for a person, not a new case")
        }
        // A ticket system's notice about its own earlier ticket (closed, awaiting a statement, or
        // answered by its staff above the ticket's footer; the ticket's id in the subject), and a
        // reporter's follow-up on an earlier report, belong to that ticket's case: when the store
        // does not hold it, a person finds it.
        if ReportThreading.ticket(inSubject: message.subject) != nil,
           opening.says(ticketNoticeMarkers, within: 600) || saysAnsweredTicket(opening.text) {
            return .forPerson(reason: "a ticket system's notice about an earlier ticket: correspondence for a person, not a new case")
        }
        if opening.says(followUpMarkers, within: 600) || followUpMarkers.contains(where: { subject.includes($0) }) {
            return .forPerson(reason: "a follow-up on an earlier report the store does not hold: for a person, not a new case")
        }
        // A notice that quotes an SMTP refusal: mail to someone bounced, or backscatter.
        if opening.says(smtpDiagnostics) {
            return .forPerson(reason: "quotes a delivery failure (a bounce or backscatter): for a person to judge")
        }
        // A reply (`Re:` and In-Reply-To or References) in a thread the store does not hold, whose
        // own words above what it quotes name no address or link, brings nothing to file: a
        // provider's "the case can be closed", a reporter's "logs are in UTC".
        if answers(subject), headers.value("In-Reply-To") != nil || headers.value("References") != nil,
           IndicatorScanner.ips(in: subject).isEmpty,
           !opening.namesAnAddressOrForeignLink(opening.ownWords) {
            return .forPerson(reason: "a reply whose own words name no address or link: correspondence for a person, not a new case")
        }
        // A bounce a person forwarded (`Fwd: Returned mail: …`, `Fw:Fwd: failure notice`, quoting
        // the MTA's text) may be a complaint of backscatter from our servers, or a customer's
        // question: not ours to file.
        if let forwardedSubject, saysBounce(subject: forwardedSubject), opening.says(bounceSentences) {
            return .forPerson(reason: "a bounce forwarded by a person: backscatter or a question, for a person to judge")
        }
        return nil
    }

    /// Who the message says sent it, lower-cased as written: the From field (`MAILER-DAEMON <>`
    /// names no usable address) and the Return-Path.
    private struct Sender {
        let fromField: String
        let returnPath: String

        init(_ headers: [HeaderField]) {
            fromField = headers.value("From")?.prefix(256).lowercased() ?? ""
            returnPath = headers.value("Return-Path")?.prefix(256).lowercased().trimmingWhitespace() ?? ""
        }

        /// RFC 5321 section 4.5.5: bounces and automatic replies are sent with a null return path.
        var hasNullReturnPath: Bool { returnPath == "<>" }

        /// MAILER-DAEMON itself, which sends nothing but bounces.
        var isMailerDaemon: Bool { fromField.includes("mailer-daemon") || returnPath.includes("mailer-daemon") }

        /// Whether a mail system sent it: one of `senders` in the From field, or a bounce's return path.
        func isOneOf(_ senders: [String]) -> Bool {
            senders.contains { fromField.includes($0) } || hasNullReturnPath || isMailerDaemon || returnPath.includes("double-bounce")
        }
    }

    /// Header marks of automatic mail: RFC 3834 Auto-Submitted, the older Precedence bulk/junk.
    private static func isMarkedAutomatic(_ headers: [HeaderField]) -> Bool {
        let precedence = headers.value("Precedence")?.lowercased().trimmingWhitespace() ?? ""
        let submitted = headers.value("Auto-Submitted")?.lowercased().trimmingWhitespace() ?? ""
        return ["bulk", "junk", "list", "auto_reply"].contains(precedence) || submitted.hasPrefix("auto-")
    }

    /// Whether a message is its TNEF attachment alone: no text, nothing else attached (an attached
    /// list or message is read).
    private static func isTNEFOnly(_ message: ReportMessage) -> Bool {
        !message.attachments.isEmpty && message.attachments.allSatisfy { $0.mediaType == "application/ms-tnef" }
            && message.attachedMessages.isEmpty && message.texts.allSatisfy { $0.trimmingWhitespace().isEmpty }
    }

    private static func saysBounce(subject: String) -> Bool {
        bounceSubjectPrefixes.contains(where: { subject.hasPrefix($0) })
    }

    /// The first text's opening, lower-cased once for every vocabulary asked of it.
    private struct Opening {
        let text: String
        /// The reporter's registrable domains: a link to its own site is its signature's.
        let reporterDomains: Set<String>

        init(_ message: ReportMessage) {
            text = message.texts.first.map { $0.prefix(2000).lowercased() } ?? ""
            reporterDomains = message.reporterDomains
        }

        /// Social networks whose pages signatures link (`Twitter<http://www.twitter.com/…>`).
        private static let socialSites: Set<String> = ["twitter.com", "x.com", "linkedin.com", "facebook.com", "instagram.com", "youtube.com", "xing.com"]

        /// Whether the opening names an IP address or a link, as a report does (a CERT's marked
        /// report may link only its own site and attach the list).
        var namesAnAddressOrLink: Bool {
            text.includes("http") || text.includes("hxxp") || !IndicatorScanner.ips(in: text).isEmpty
        }

        /// Whether `text` names an IP address or a link other than a signature's (the reporter's
        /// own site, a social network's page).
        func namesAnAddressOrForeignLink(_ text: String) -> Bool {
            guard IndicatorScanner.ips(in: text).isEmpty else { return true }
            guard text.includes("http") || text.includes("hxxp") else { return false }
            return IndicatorScanner.scan(text).urls.contains { url in
                guard let host = Hostname.ofURL(url) else { return true }
                let domain = Hostname.registrable(host)
                return !reporterDomains.contains(domain) && !Self.socialSites.contains(domain)
            }
        }

        /// The opening down to where it starts quoting: a `>` line, "On … wrote:" (German, French
        /// forms too), Outlook's `-----Original Message-----` or `From:` block, a rule of underscores.
        var ownWords: String {
            var kept: [Substring] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingWhitespace()
                let quotes = trimmed.hasPrefix(">") || trimmed.hasPrefix("____") || trimmed.includes("original message")
                    || trimmed.hasPrefix("on ") && trimmed.hasSuffix("wrote:") || trimmed.hasPrefix("am ") && trimmed.includes("schrieb")
                    || trimmed.hasPrefix("le ") && trimmed.includes("a écrit")
                    || ["from:", "von:", "de:", "de :", "van:", "da:"].contains { trimmed.hasPrefix($0) }
                if quotes { break }
                kept.append(line)
            }
            return kept.joined(separator: "\n")
        }

        /// Whether one of `markers` shows in the opening, or in its first `within` characters.
        func says(_ markers: [String], within: Int = .max) -> Bool {
            let searched = text.prefix(within)
            return markers.contains { searched.includes($0) }
        }
    }

    /// Whether a text carries a ticket system's footer (`Ticket ID: #…`, `Status: Answered`) of a
    /// ticket that has been answered or closed. `text`: lower-cased.
    private static func saysAnsweredTicket(_ text: String) -> Bool {
        guard text.includes("ticket id:") || text.includes("ticket url:") else { return false }
        return text.split(separator: "\n").contains { line in
            let trimmed = line.trimmingWhitespace()
            guard trimmed.hasPrefix("status:") else { return false }
            let state = trimmed.dropFirst(7).trimmingWhitespace()
            return !state.isEmpty && !newTicketStates.contains { state.hasPrefix($0) }
        }
    }

    /// A list manager's own notice (fml's "you are not a member", Mailman's "awaits moderator
    /// approval"): list headers, sent from the list's administrative address.
    private static func isListManagerNotice(_ message: ReportMessage) -> Bool {
        let headers = message.headers
        guard ["X-MLServer", "X-ML-Name", "Mailing-List", "List-Id"].contains(where: { headers.value($0) != nil }),
              let local = message.from?.split(separator: "@").first?.lowercased() else { return false }
        return ["-admin", "-owner", "-request", "-bounces"].contains(where: { local.hasSuffix($0) }) || local.hasPrefix("owner-")
    }

    /// Subject openings of forwards, lower-cased (English, German, French, Italian).
    private static let forwardPrefixes = ["fwd:", "fw:", "wg:", "tr:", "i:"]

    /// A subject (lower-cased, trimmed) without the forward prefixes it opens with, at most three
    /// (`fw:fwd: failure notice` is `failure notice`).
    private static func withoutForwardPrefixes(_ subject: String) -> String {
        var rest = subject
        for _ in 0..<3 {
            guard let prefix = forwardPrefixes.first(where: { rest.hasPrefix($0) }) else { break }
            rest = rest.dropFirst(prefix.count).trimmingWhitespace()
        }
        return rest
    }

    /// Subject openings of replies, lower-cased (English, German, Dutch, Nordic, Italian, French).
    private static let replyPrefixes = ["re:", "aw:", "antw:", "sv:", "vs:", "r:", "ref:", "réf:"]

    /// Whether `text` quotes mail from one of `addresses` (lower-cased): an attribution line ("… <a@b>
    /// wrote:", "schrieb", "a écrit", "escribió") naming one of them, on that line or the one before
    /// (long attributions wrap). Read in the first 10,000 characters only.
    private static func quotesMail(from addresses: [String], in text: String) -> Bool {
        guard !addresses.isEmpty else { return false }
        var previous = Substring()
        for line in text.prefix(10_000).lowercased().split(separator: "\n") {
            if attributionWords.contains(where: { line.includes($0) }),
               addresses.contains(where: { line.includes($0) || previous.includes($0) }) {
                return true
            }
            previous = line
        }
        return false
    }

    private static let attributionWords = ["wrote:", "schrieb", "a écrit", "escribió", "ha scritto", "schreef"]

    /// A reply to some message: it names it (RFC 5322 In-Reply-To, References) or says so in its subject.
    /// `subject`: lower-cased and trimmed.
    private static func isReply(_ message: ReportMessage, subject: String) -> Bool {
        message.headers.value("In-Reply-To") != nil || message.headers.value("References") != nil || answers(subject)
    }

    /// Whether a subject (lower-cased, trimmed) answers another: `Re:`, also after the tags ticket
    /// systems put first (`[Ticket#2023040710031813] Re: …`).
    private static func answers(_ subject: String) -> Bool {
        var rest = Substring(subject)
        for _ in 0..<3 where rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { break }
            rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
        }
        return replyPrefixes.contains(where: { rest.hasPrefix($0) })
    }
}
