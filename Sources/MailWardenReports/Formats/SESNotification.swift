// Amazon SES notifications: the JSON document SES sends through SNS (mailed as the body of an
// "AWS Notification Message", either bare or inside SNS's envelope, whose `Message` member holds it as
// a string) or writes as an event. Bounces, deliveries and the other events are delivery status,
// ignored like any bounce; a complaint is a recipient's spam complaint about a message SES relayed,
// filed on the address that handed that message to SES (`mail.sourceIp`), unless the recipient said
// "not spam"; the message's header fields SES kept are its original, which traces it to our customer.
import Foundation
import MailWardenCore

enum SESNotification {
    /// SES's notification types and event types that are about delivery, not abuse.
    private static let deliveryEvents: Set<String> = [
        "bounce", "delivery", "send", "reject", "deliverydelay", "open", "click", "rendering failure", "subscription",
    ]

    static func read(_ message: ReportMessage, _ draft: inout ReportDraft, _ budget: DecodeBudget) -> Bool {
        guard let notification = message.texts.lazy.prefix(2).compactMap(document).first,
              let kind = (notification["notificationType"] ?? notification["eventType"]) as? String else { return false }
        draft.format = .sesNotification
        let mail = notification["mail"] as? [String: Any] ?? [:]
        let complaint = notification["complaint"] as? [String: Any] ?? [:]
        let feedbackType = (complaint["complaintFeedbackType"] as? String)?.lowercased()
        draft.fields = [HeaderField(name: "notificationType", value: kind)]
            + ["source", "sourceIp", "messageId", "timestamp"].compactMap { key in
                (mail[key] as? String).map { HeaderField(name: "mail.\(key)", value: $0) }
            }
            + (feedbackType.map { [HeaderField(name: "complaint.complaintFeedbackType", value: $0)] } ?? [])
        let lowerKind = kind.lowercased()
        if deliveryEvents.contains(lowerKind) {
            draft.ignoredBecause = "Amazon SES \(lowerKind) notification: delivery status, not a complaint"
            return true
        }
        guard lowerKind == "complaint" else {
            draft.ignoredBecause = "Amazon SES \(lowerKind) notification: not a complaint"
            return true
        }
        if feedbackType == "not-spam" {
            draft.ignoredBecause = "Amazon SES complaint of type not-spam: the recipient said it is not spam"
            return true
        }
        draft.type = switch feedbackType {
        case "fraud": .phishing
        case "virus": .malware
        default: .spam
        }
        if let ip = mail["sourceIp"] as? String { draft.addIP(ip) }
        if let headers = originalHeaders(mail) { draft.original = OriginalMessage(headers: headers, bytes: [], isHeadersOnly: true) }
        draft.receivedAt = [complaint["timestamp"], mail["timestamp"]].lazy.compactMap { ($0 as? String).flatMap(ReportDate.parse) }.first
        return true
    }

    /// The complained-of message's header fields as SES kept them (`mail.headers`, when the sender
    /// asked for them; else the Message-ID of `commonHeaders`), and its envelope sender
    /// (`mail.source`) as its Return-Path: what traces it to our customer.
    private static func originalHeaders(_ mail: [String: Any]) -> [HeaderField]? {
        var fields = (mail["headers"] as? [[String: Any]] ?? []).prefix(ReportLimits.maxHeaderCount).compactMap { field -> HeaderField? in
            guard let name = field["name"] as? String, let value = field["value"] as? String,
                  !name.isEmpty, name.utf8.count <= 200 else { return nil }
            return HeaderField(name: name, value: value.utf8Prefix(ReportLimits.maxHeaderValueBytes))
        }
        if fields.value("Message-ID") == nil, let id = (mail["commonHeaders"] as? [String: Any])?["messageId"] as? String {
            fields.append(HeaderField(name: "Message-ID", value: id))
        }
        if fields.value("Return-Path") == nil, let source = mail["source"] as? String, !source.isEmpty, source.utf8.count <= 998 {
            fields.append(HeaderField(name: "Return-Path", value: "<\(source)>"))
        }
        return fields.isEmpty ? nil : fields
    }

    /// The SES notification in a text: the document itself, or SNS's envelope around it.
    private static func document(_ text: String) -> [String: Any]? {
        // SNS adds an unsubscribe footer below the document.
        let text = text.trimmingWhitespace()
        guard text.hasPrefix("{"), let end = text.lastIndex(of: "}") else { return nil }
        let json = text[...end]
        guard json.utf8.count <= ReportLimits.maxDocumentBytes else { return nil }
        // A long line may arrive folded (a line break and a space inserted): unfolded, it parses.
        let unfolded = { json.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n ", with: "") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
                ?? (try? JSONSerialization.jsonObject(with: Data(unfolded().utf8)) as? [String: Any]) else { return nil }
        if isNotification(object) { return object }
        guard object["Type"] as? String == "Notification", let inner = object["Message"] as? String,
              let wrapped = try? JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: Any],
              isNotification(wrapped) else { return nil }
        return wrapped
    }

    /// SES's notification (`notificationType`) or event (`eventType`, about a `mail`).
    private static func isNotification(_ object: [String: Any]) -> Bool {
        object["notificationType"] != nil || (object["eventType"] != nil && object["mail"] != nil)
    }
}
