// The spam scanner interface: what the message path hands a scanner (SpamAssassin's spamd,
// rspamd) at end-of-message, what it gets back, and how a scan fails. The clients live in
// MailWardenScanners; the message path calls `scan` synchronously from a libmilter worker thread,
// so a scan must be bounded in time and size: every failure comes back as a `ScanFailure`
// (never a hang, never a crash), and the message path applies `scanner_failure` to it.

/// A scanner the message path can ask about one message. Implementations are immutable and may be
/// called from many threads at once; each call uses its own connection.
public protocol SpamScanner: Sendable {
    /// `spamd` or `rspamd`: what log lines and the result header call it.
    var name: String { get }
    /// Where it listens, as configured.
    var address: ScannerAddress { get }
    func scan(_ request: ScanRequest) throws(ScanFailure) -> ScanResult
}

extension SpamScanner {
    /// `spamd 127.0.0.1:783`: the scanner as log lines and `status` name it.
    public var label: String { "\(name) \(address)" }
}

/// One message and its envelope, as the scanner is told about it.
public struct ScanRequest: Sendable {
    /// The whole message as it would be delivered: headers, blank line, body; CRLF line ends.
    public var message: [UInt8]
    public var clientAddress: String?
    /// The client's name as the MTA resolved it at connect; nil when it has none (Postfix's
    /// `unknown`, Sendmail's `[address]`). HELO is not asked of the MTA: it costs a round trip.
    public var clientHostname: String?
    public var envelopeFrom: String?
    public var recipients: [String]
    /// Postfix's queue id, so the scanner's log lines can be matched with Postfix's.
    public var queueID: String?
    /// The SASL login ({auth_authen}) when the sender authenticated: rspamd treats the mail as
    /// authenticated. spamd is not told: it would apply that user's own preferences.
    public var authenticatedUser: String?

    public init(message: [UInt8], clientAddress: String? = nil, clientHostname: String? = nil, envelopeFrom: String? = nil,
                recipients: [String] = [], queueID: String? = nil, authenticatedUser: String? = nil) {
        self.message = message
        self.clientAddress = clientAddress
        self.clientHostname = clientHostname
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.queueID = queueID
        self.authenticatedUser = authenticatedUser
    }
}

/// A scanner's answer about one message.
public struct ScanResult: Sendable, Equatable {
    /// The scanner's `name`.
    public var scanner: String
    /// The scanner's own verdict (spamd: `Spam: True`; rspamd: a spam action). `scanner_spam` may
    /// judge by score instead: see `SpamCriterion`.
    public var isSpam: Bool
    public var score: Double
    /// spamd's required score; rspamd's `required_score` (its reject threshold).
    public var requiredScore: Double
    /// rspamd's recommended action (`reject`, `add header`, `no action`, ...); nil for spamd.
    public var action: String?
    /// The names of the rules that fired, sorted.
    public var symbols: [String]
    /// From connect to the parsed answer.
    public var latencyMicroseconds: Int64

    public init(scanner: String, isSpam: Bool, score: Double, requiredScore: Double, action: String?,
                symbols: [String], latencyMicroseconds: Int64) {
        self.scanner = scanner
        self.isSpam = isSpam
        self.score = score
        self.requiredScore = requiredScore
        self.action = action
        self.symbols = symbols
        self.latencyMicroseconds = latencyMicroseconds
    }
}

/// The step of a scan that ran out of time.
public enum ScanStage: Sendable {
    case connect, send, reply
}

/// Why a scan gave no result. The description says what an admin should look at; log it after the
/// scanner's `label`.
public enum ScanFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing listens at the address (TCP refused, or no such unix socket).
    case refused
    /// Any other connect error (permission denied on the socket, network unreachable).
    case cannotConnect(String)
    case timedOut(ScanStage, after: Duration)
    /// A send or receive error other than a clean close (connection reset).
    case connectionLost(String)
    /// The answer is not the scanner's protocol; `excerpt` is its start, made printable.
    case garbled(excerpt: String)
    /// The scanner closed the connection before its answer was complete.
    case closedEarly(receivedBytes: Int)
    /// The scanner understood the request and answered with an error (spamd EX code, HTTP status).
    case scannerError(String)
    case responseTooBig(limit: Int)
    /// Not sent: the message is bigger than `scanner_max_size`.
    case messageTooBig(size: Int, limit: Int)
    /// Not asked: it failed `failures` times in a row, and rests until `until` (Unix time).
    case resting(failures: Int, until: Int64)

    /// The scanner answered, about this message: it is up, whatever the message made of its answer.
    public var isAnswerAboutTheMessage: Bool {
        switch self {
        case .scannerError, .responseTooBig, .garbled: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .refused:
            return "connection refused: start the scanner, or fix the `scanner` line to where it listens"
        case .cannotConnect(let reason):
            return "cannot connect: \(reason); check the `scanner` address and that mailwardend may reach it"
        case .timedOut(.connect, let after):
            return "no connection within \(after) (scanner_connect_timeout): is the scanner's host up and its port reachable?"
        case .timedOut(.send, let after):
            return "the scanner stopped reading the message for \(after) (scanner_timeout): it is overloaded or stuck"
        case .timedOut(.reply, let after):
            return "no answer within \(after) (scanner_timeout): the scanner is overloaded or stuck "
                + "(spamd: raise --max-children), or raise scanner_timeout"
        case .connectionLost(let reason):
            return "connection lost: \(reason); see the scanner's log"
        case .garbled(let excerpt):
            return "the answer is not the scanner's protocol (`\(excerpt)`): does the `scanner` line name the right kind and port?"
        case .closedEarly(let received):
            return "the scanner closed the connection after \(received) bytes of an incomplete answer: see its log"
        case .scannerError(let text):
            return "the scanner answered with an error: \(text); see its log"
        case .responseTooBig(let limit):
            return "the answer is over \(limit) bytes: does the `scanner` line name the right kind and port?"
        case .messageTooBig(let size, let limit):
            return "not scanned: the message has \(size) bytes, over scanner_max_size (\(limit))"
        case .resting(let failures, let until):
            return "not asked: it failed \(failures) times in a row; asked again from \(RFC3339.format(until))"
        }
    }
}
