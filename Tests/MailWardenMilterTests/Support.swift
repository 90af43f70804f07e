import Foundation
import Logging
import MailWardenCore
import MailWardenMilter
import MailWardenStore
import Synchronization

/// A clock the test moves by hand.
final class ManualClock: WallClock {
    private let t = Mutex<Int64>(1_800_000_000)
    func now() -> Int64 { t.withLock { $0 } }
    func advance(_ span: TimeSpan) { t.withLock { $0 += span.seconds } }
}

struct Macros: MacroSource {
    var values: [String: String]
    init(_ values: [String: String] = [:]) { self.values = values }
    func value(_ name: String) -> String? { values[name] }
}

/// Records lock notices instead of sending them.
final class RecordingNotifier: LockNotifier {
    let notices = Mutex<[String]>([])
    func identityLocked(_ lock: LockRecord, cause: LockCause) {
        guard case .message(let queueID) = cause else { return }
        notices.withLock { $0.append("\(lock.identity) \(queueID ?? "-")") }
    }
}

/// Collects log lines so tests can assert on the per-message line.
final class LogLines: @unchecked Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let sink: LogLines
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        sink.lines.withLock { $0.append("\(event.level): \(event.message)") }
    }
}

/// A real SQLite store in a fresh temporary directory, a manual clock and a filter over them.
final class Harness {
    let dir: URL
    let store: SQLStore
    let clock = ManualClock()
    let notifier = RecordingNotifier()
    let log = LogLines()
    let filter: MailFilter

    /// `tokenizer`: instead of one on the harness's store.
    init(_ configText: String, store: PolicyStore? = nil, intake: ReportIntake? = nil, tokenizer: IdentityTokenizer? = nil,
         makeScanners: @escaping @Sendable (ScannerConfig) -> [any SpamScanner] = { _ in [] },
         metrics: MessageMetrics = MessageMetrics()) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.store = try SQLStore(path: dir.appendingPathComponent("store.db").path)
        let config = try Config.parse(text: configText, file: "test.conf")
        let sink = log
        let logger = Logger(label: "test") { _ in CapturingLogHandler(sink: sink) }
        filter = MailFilter(config: config, store: store ?? self.store, tokenizer: try tokenizer ?? StoreIdentityTokenizer(store: self.store),
                            notifier: notifier, intake: intake, makeScanners: makeScanners, clock: clock, logger: logger,
                            metrics: metrics)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    struct Message {
        var auth: String? = nil
        var daemon = "smtpd"
        var client = "198.51.100.7"
        /// The client's name as the MTA resolved it (Postfix: `unknown` when it has none).
        var clientHostname = "client.example"
        var from = "<sender@example.net>"
        var recipients = ["<rcpt@example.org>"]
        /// What the MTA says of where the recipients go ({rcpt_mailer}); nil: it does not say.
        var rcptMailer: String? = nil
        var headers: [(String, String)] = [("Subject", "hello")]
        /// Sent after `headers`, as bytes after the colon, as an MTA sends them with SMFIP_HDR_LEADSPC
        /// (8-bit values that are not UTF-8, the space after the colon or none).
        var rawHeaders: [(String, [UInt8])] = []
        var queueID = "ABC123"
        var body = "Hello.\r\n"
        /// What the MTA lets the session change (SMFIF_* at negotiation).
        var grantedActions = MilterActions.all
    }

    /// Runs one message through a new session and returns the final verdict (early refusals included).
    /// Like the MTA, it sends DATA and the body only when the session asks for them (and no body event
    /// for an empty body).
    @discardableResult
    func send(_ m: Message) -> (Verdict, [Modification]) {
        let s = filter.makeSession()
        defer { s.close() }
        s.negotiated(actions: m.grantedActions)
        _ = s.connect(hostname: m.clientHostname, address: m.client, macros: Macros(["{daemon_name}": m.daemon]))
        var mail = ["i": m.queueID]
        if let a = m.auth { mail["{auth_authen}"] = a }
        let v = s.mailFrom(m.from, macros: Macros(mail))
        if v != .proceed { return (v, []) }
        for r in m.recipients { _ = s.recipient(r, macros: Macros(m.rcptMailer.map { ["{rcpt_mailer}": $0] } ?? [:])) }
        let unused = s.eventPlan.unused
        if !unused.contains(.data) {
            let d = s.data(macros: Macros(["i": m.queueID]))
            if d != .proceed { return (d, []) }
        }
        for (n, value) in m.headers { _ = s.header(name: n, value: value) }
        for (n, value) in m.rawHeaders { _ = value.withUnsafeBytes { s.header(name: n, value: $0) } }

        // An empty body comes as no body event at all.
        if !unused.contains(.body), !m.body.isEmpty { _ = Array(m.body.utf8).withUnsafeBytes { s.body($0) } }
        return s.endOfMessage(macros: Macros(["i": m.queueID]))
    }

    static let spam: [(String, String)] = [("Subject", "buy"), ("X-Spam-Flag", "YES")]
}

/// A flag several threads may read and set.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    /// Sets it; returns whether it was set already.
    @discardableResult func set() -> Bool { value.withLock { was in defer { was = true }; return was } }
    func clear() { value.withLock { $0 = false } }
}

/// The real store behind a hook that may fail any call, by name, before it reaches the store: a
/// disk that fills up, a database that goes away.
final class FaultyStore: PolicyStore {
    let store: SQLStore
    let fault: @Sendable (_ call: String) throws -> Void

    init(_ store: SQLStore, fault: @escaping @Sendable (_ call: String) throws -> Void) {
        self.store = store
        self.fault = fault
    }

    func state(of identity: Identity) throws -> IdentityState { try fault("state"); return try store.state(of: identity) }
    func policyVersion() throws -> Int64 { try fault("policyVersion"); return try store.policyVersion() }
    func policySnapshot() throws -> PolicySnapshot { try fault("policySnapshot"); return try store.policySnapshot() }
    func record(_ run: [MessageEvent], windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        try fault("record")
        return try store.record(run, windows: windows)
    }
    func windowTotals(of identity: Identity, at: Int64, windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        try fault("windowTotals")
        return try store.windowTotals(of: identity, at: at, windows: windows)
    }
    func recordComplaint(identity: Identity, reporter: String, reportID: Int64, at: Int64, window: TimeSpan) throws -> ComplaintTally {
        try fault("recordComplaint")
        return try store.recordComplaint(identity: identity, reporter: reporter, reportID: reportID, at: at, window: window)
    }
    func lock(_ lock: LockRecord) throws -> (lock: LockRecord, isNew: Bool) { try fault("lock"); return try store.lock(lock) }
    func unlock(identity: Identity, by actor: String, reason: String?, at: Int64) throws -> Bool {
        try fault("unlock")
        return try store.unlock(identity: identity, by: actor, reason: reason, at: at)
    }
    func liftExpiredLock(of identity: Identity, at: Int64) throws -> Bool {
        try fault("liftExpiredLock")
        return try store.liftExpiredLock(of: identity, at: at)
    }
    func recordLockedAttempts(_ count: Int, identity: Identity, at: Int64, heldQueueID: String?) throws {
        try fault("recordLockedAttempt")
        try store.recordLockedAttempts(count, identity: identity, at: at, heldQueueID: heldQueueID)
    }
    func atomically<T>(_ body: () throws -> T) throws -> T { try fault("atomically"); return try store.atomically(body) }
}
