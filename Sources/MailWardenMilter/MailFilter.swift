// The filter as a whole: the config snapshot in force, the store and the collaborators every session
// shares. A reload swaps the snapshot only when the new config parsed; a session keeps the snapshot it
// started with, so one connection never sees two configs.
import Logging
import MailWardenCore
import Synchronization

public final class MailFilter: Sendable {
    public let store: PolicyStore
    public let tokenizer: IdentityTokenizer?
    public let notifier: LockNotifier?
    public let intake: ReportIntake?
    public let clock: WallClock
    public let logger: Logger
    public let scannerHealth: ScannerHealthBoard
    public let metrics: MessageMetrics
    private let current: Mutex<Snapshot>
    private let makeScanners: @Sendable (ScannerConfig) -> [any SpamScanner]

    /// A config and the scanner clients built from it, swapped together.
    struct Snapshot {
        let config: Config
        let scanners: [any SpamScanner]
    }

    public init(config: Config, store: PolicyStore, tokenizer: IdentityTokenizer?, notifier: LockNotifier?,
                intake: ReportIntake? = nil, makeScanners: @escaping @Sendable (ScannerConfig) -> [any SpamScanner] = { _ in [] },
                clock: WallClock, logger: Logger, metrics: MessageMetrics = MessageMetrics()) {
        let scanners = makeScanners(config.scanning)
        current = Mutex(Snapshot(config: config, scanners: scanners))
        scannerHealth = ScannerHealthBoard(labels: scanners.map(\.label), metrics: metrics)
        self.makeScanners = makeScanners
        self.store = store
        self.tokenizer = tokenizer
        self.notifier = notifier
        self.intake = intake
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    public var config: Config { current.withLock { $0.config } }

    /// Puts a new snapshot in force for connections that start from now on.
    public func replaceConfig(_ config: Config) {
        let snapshot = Snapshot(config: config, scanners: makeScanners(config.scanning))
        current.withLock { $0 = snapshot }
    }

    /// A new session for one SMTP connection.
    public func makeSession() -> MeasuredSession {
        let snapshot = current.withLock { $0 }
        return MeasuredSession(MessageSession(filter: self, config: snapshot.config, scanners: snapshot.scanners), metrics: metrics)
    }
}
