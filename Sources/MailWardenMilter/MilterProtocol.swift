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
    func connect(hostname: String, address: String?, macros: MacroSource) -> Verdict
    func mailFrom(_ sender: String, macros: MacroSource) -> Verdict
    func recipient(_ recipient: String, macros: MacroSource) -> Verdict
    /// DATA: every recipient is known.
    func data(macros: MacroSource) -> Verdict
    func header(name: String, value: String) -> Verdict
    func body(_ chunk: UnsafeRawBufferPointer) -> Verdict
    func endOfMessage(macros: MacroSource) -> (Verdict, [Modification])
    /// The message was abandoned (RSET, QUIT, error) before end-of-message.
    func abort()
    func close()
}

/// Takes mail to the abuse mailboxes: stores it raw, unread, for the desk worker to parse; the
/// report must be durably stored when it returns.
public protocol ReportIntake: Sendable {
    /// Queues one report; returns a short summary for the message's log line.
    func enqueue(_ raw: [UInt8], sender: String?, recipients: [String], queueID: String?) throws -> String
}
