// What the milter counts for Prometheus, through swift-metrics: the daemon picks the backend (or
// none, and every call is a no-op). Handles are made once, not per message: making one takes the
// factory's lock.
import CoreMetrics
import MailWardenCore
import Synchronization

public final class MessageMetrics: Sendable {
    /// Metric names, shared with the daemon that sets the histogram buckets.
    public enum Name {
        public static let messages = "mailwarden_messages_total"
        public static let messageTime = "mailwarden_milter_message_seconds"
        public static let lockChecks = "mailwarden_lock_checks_total"
        public static let lockCheckTime = "mailwarden_lock_check_seconds"
        public static let storeErrors = "mailwarden_store_errors_total"
        public static let scanTime = "mailwarden_scanner_seconds"
        public static let scanFailures = "mailwarden_scanner_failures_total"
        public static let regexTimeouts = "mailwarden_regex_timeouts_total"
    }

    /// Every final action a message can get, so each series exists (at 0) from the start.
    static let actions = ["accept", "reject", "tempfail", "discard", "hold"]

    private let factory: any MetricsFactory
    private let messages: [String: CoreMetrics.Counter]
    private let messageTime: CoreMetrics.Timer
    private let lockChecksLocked: CoreMetrics.Counter
    private let lockChecksClear: CoreMetrics.Counter
    private let lockCheckTime: CoreMetrics.Timer
    private let storeErrors: CoreMetrics.Counter
    /// Per setting whose patterns ran out of time: identity_rule, spam_header.
    private let regexTimeouts: [String: CoreMetrics.Counter]
    /// Per scanner label; scanners come and go with reloads, so made on first use.
    private let scanTimers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let scanFailureCounters = Mutex<[ScanFailureKey: CoreMetrics.Counter]>([:])

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        messages = Dictionary(uniqueKeysWithValues: Self.actions.map {
            ($0, CoreMetrics.Counter(label: Name.messages, dimensions: [("action", $0)], factory: factory))
        })
        messageTime = CoreMetrics.Timer(label: Name.messageTime, dimensions: [], factory: factory)
        lockChecksLocked = CoreMetrics.Counter(label: Name.lockChecks, dimensions: [("result", "locked")], factory: factory)
        lockChecksClear = CoreMetrics.Counter(label: Name.lockChecks, dimensions: [("result", "clear")], factory: factory)
        lockCheckTime = CoreMetrics.Timer(label: Name.lockCheckTime, dimensions: [], factory: factory)
        storeErrors = CoreMetrics.Counter(label: Name.storeErrors, dimensions: [], factory: factory)
        regexTimeouts = Dictionary(uniqueKeysWithValues: ["identity_rule", "spam_header"].map {
            ($0, CoreMetrics.Counter(label: Name.regexTimeouts, dimensions: [("setting", $0)], factory: factory))
        })
    }

    /// One message's final action and the time MailWarden spent on it (its callbacks, not the client's pauses).
    func message(action: String, nanoseconds: Int64) {
        messages[action]?.increment()
        messageTime.recordNanoseconds(nanoseconds)
    }

    func lockCheck(locked: Bool) {
        (locked ? lockChecksLocked : lockChecksClear).increment()
    }

    /// Runs one lock check (at MAIL FROM or end-of-message) and records its time.
    func timeLockCheck<T>(_ check: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = start.duration(to: .now).components
            lockCheckTime.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        return try check()
    }

    public func storeError() {
        storeErrors.increment()
    }

    /// An admin's pattern (of `setting`) ran out of time on a message and was taken as no match.
    func regexTimeout(setting: String) {
        regexTimeouts[setting]?.increment()
    }

    /// A handle of a scanner's series, made at its first use and kept (a scanner's label is known
    /// only once the config is).
    private static func handle<Key: Hashable & Sendable, Handle: Sendable>(_ key: Key, in handles: borrowing Mutex<[Key: Handle]>, make: () -> Handle) -> Handle {
        handles.withLock { made in
            if let h = made[key] { return h }
            let h = make()
            made[key] = h
            return h
        }
    }

    func scanned(_ scanner: String, microseconds: Int64) {
        Self.handle(scanner, in: scanTimers) {
            CoreMetrics.Timer(label: Name.scanTime, dimensions: [("scanner", scanner)], factory: factory)
        }.recordMicroseconds(microseconds)
    }

    /// Once per message and scanner while a scanner rests or fails.
    func scanFailed(_ scanner: String, _ failure: ScanFailure) {
        let key = ScanFailureKey(scanner: scanner, reason: failure.metricReason)
        Self.handle(key, in: scanFailureCounters) {
            CoreMetrics.Counter(label: Name.scanFailures, dimensions: [("scanner", scanner), ("reason", key.reason)], factory: factory)
        }.increment()
    }

    private struct ScanFailureKey: Hashable {
        let scanner: String
        let reason: String
    }
}

extension ScanFailure {
    /// A short, fixed label value: the description holds addresses and excerpts, unbounded as a label.
    var metricReason: String {
        switch self {
        case .refused: "refused"
        case .cannotConnect: "connect"
        case .timedOut: "timeout"
        case .connectionLost, .closedEarly: "connection_lost"
        case .garbled, .responseTooBig: "bad_answer"
        case .scannerError: "scanner_error"
        case .messageTooBig: "too_big"
        case .resting: "resting"
        }
    }
}
