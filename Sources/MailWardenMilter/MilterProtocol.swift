// The milter as MailWarden sees it: one method per protocol event, each answering with a Verdict,
// plus modifications at end-of-message. No libmilter here; MilterBridge maps these to smfi_* calls,
// and tests drive sessions directly with no socket.
import MailWardenCore

/// An SMTP reply: `550 5.7.1 text`.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let status: String
    public let text: String

    public init(code: String, status: String, text: String) {
        self.code = code
        self.status = status
        self.text = text
    }

    public var description: String { "\(code) \(status) \(text)" }
}

/// The answer to one milter event.
public enum Verdict: Sendable, Equatable {
    /// Go on to the next event.
    case proceed
    /// Accept the message; no further events for it.
    case accept
    case reject(SMTPReply)
    case tempfail(SMTPReply)
    /// Accept and silently drop (used only once a message is safely stored elsewhere).
    case discard
    /// Accept into Postfix's hold queue (end-of-message only).
    case hold(reason: String)
    /// Go on, and send no more of this event's data (the rest of the body).
    case skip
}

/// The events of one SMTP transaction that an MTA may send a milter, for negotiating which ones
/// (milter protocol 6: Postfix 2.6+, Sendmail 8.14+).
public struct MilterEvents: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let connect = MilterEvents(rawValue: 1 << 0)
    public static let helo = MilterEvents(rawValue: 1 << 1)
    public static let mailFrom = MilterEvents(rawValue: 1 << 2)
    public static let recipient = MilterEvents(rawValue: 1 << 3)
    public static let data = MilterEvents(rawValue: 1 << 4)
    public static let header = MilterEvents(rawValue: 1 << 5)
    public static let endOfHeaders = MilterEvents(rawValue: 1 << 6)
    public static let body = MilterEvents(rawValue: 1 << 7)
    public static let unknownCommand = MilterEvents(rawValue: 1 << 8)
}

/// The changes to a message an MTA may let a milter make (it grants them at negotiation).
public struct MilterActions: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let addHeaders = MilterActions(rawValue: 1 << 0)
    public static let changeHeaders = MilterActions(rawValue: 1 << 1)
    public static let deleteRecipients = MilterActions(rawValue: 1 << 2)
    public static let quarantine = MilterActions(rawValue: 1 << 3)
    public static let all: MilterActions = [.addHeaders, .changeHeaders, .deleteRecipients, .quarantine]
}

extension Modification {
    /// The action the MTA must have granted for this change.
    var action: MilterActions {
        switch self {
        case .addHeader: .addHeaders
        case .changeHeader: .changeHeaders
        case .deleteRecipient: .deleteRecipients
        }
    }
}

/// The events a macro list comes with.
public enum MacroStage: Sendable, CaseIterable {
    case connect, mailFrom, recipient, data, endOfMessage
}

/// What a session asks of the MTA: fewer events, fewer replies and fewer macros make a milter
/// cheaper than one that answers everything.
public struct EventPlan: Sendable, Equatable {
    /// Events of no use to the session: the MTA need not send them.
    public let unused: MilterEvents
    /// Events the session always answers "go on": the MTA need not wait for the answer.
    public let unanswered: MilterEvents
    /// The macros the session reads, by the event they must come with. An MTA that takes the list
    /// (protocol 6) sends this milter these instead of its configured lists, so no MTA setting
    /// made for another milter can take them away.
    public let macros: [MacroStage: [String]]
    /// `macros` as the MTA is asked for them, made with the plan rather than at each negotiation.
    public let macroLists: [MacroList]

    public init(unused: MilterEvents, unanswered: MilterEvents, macros: [MacroStage: [String]]) {
        self.unused = unused
        self.unanswered = unanswered
        self.macros = macros
        macroLists = MacroStage.allCases.compactMap { stage in
            guard let names = macros[stage], !names.isEmpty else { return nil }
            return MacroList(stage: stage, names: names.joined(separator: " "))
        }
    }
}

/// One event's macros in the protocol's spelling: names apart by spaces.
public struct MacroList: Sendable, Equatable {
    public let stage: MacroStage
    public let names: String
}

/// A change to the message, applied at end-of-message.
public enum Modification: Sendable, Equatable {
    case addHeader(name: String, value: String)
    /// Replaces the `index`-th (1-based) header called `name`; nil value deletes it.
    case changeHeader(name: String, index: Int, value: String?)
    case deleteRecipient(String)
}

/// Macro values the MTA offers during the current event (`{auth_authen}`, `i`, `{daemon_name}`).
public protocol MacroSource {
    func value(_ name: String) -> String?
}

/// One SMTP connection's worth of milter events.
public protocol MilterSession: AnyObject {
    /// Fixed for the session's life (its config snapshot); read once, when the MTA connects.
    var eventPlan: EventPlan { get }
    /// What the MTA lets the session change, told at negotiation (an MTA that does not negotiate
    /// grants every action).
    func negotiated(actions: MilterActions)
    func connect(hostname: String, address: String?, macros: MacroSource) -> Verdict
    func mailFrom(_ sender: String, macros: MacroSource) -> Verdict
    func recipient(_ recipient: String, macros: MacroSource) -> Verdict
    /// DATA: every recipient is known.
    func data(macros: MacroSource) -> Verdict
    /// `value`: the field's bytes after the colon as the message has them, leading space included
    /// (SMFIP_HDR_LEADSPC; else the bridge puts back the one space the MTA drops). A stranger's 8-bit
    /// bytes are not UTF-8, and a stored report keeps them.
    func header(name: String, value: UnsafeRawBufferPointer) -> Verdict
    func body(_ chunk: UnsafeRawBufferPointer) -> Verdict
    func endOfMessage(macros: MacroSource) -> (Verdict, [Modification])
    /// The message was abandoned (RSET, QUIT, error) before end-of-message.
    func abort()
    func close()
}

extension MilterSession {
    /// A header field whose value is text as libmilter gives it without SMFIP_HDR_LEADSPC: the one
    /// space after the colon dropped (the bridge, tests, the fuzzer).
    public func header(name: String, value: String) -> Verdict {
        HeaderValue.withSpaceAfterColon(Array(value.utf8)) { header(name: name, value: $0) }
    }
}

public enum HeaderValue {
    /// The bytes after the colon of a field whose value the MTA gave without its leading space:
    /// the space put back, unless the value starts with white space (a tab) of its own.
    public static func withSpaceAfterColon<T>(_ value: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let restored = value.first == 32 || value.first == 9 ? Array(value) : [32] + value
        return restored.withUnsafeBytes(body)
    }
}

/// Takes mail to the abuse mailboxes: stores it raw, unread, for the desk worker to parse; the
/// report must be durably stored when it returns.
public protocol ReportIntake: Sendable {
    /// Queues one report; returns a short summary for the message's log line.
    func enqueue(_ raw: [UInt8], sender: String?, recipients: [String], queueID: String?) throws -> String
}
