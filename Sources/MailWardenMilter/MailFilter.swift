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
    private let current: Mutex<Config>

    public init(config: Config, store: PolicyStore, tokenizer: IdentityTokenizer?, notifier: LockNotifier?,
                intake: ReportIntake? = nil, clock: WallClock, logger: Logger) {
        current = Mutex(config)
        self.store = store
        self.tokenizer = tokenizer
        self.notifier = notifier
        self.intake = intake
        self.clock = clock
        self.logger = logger
    }

    public var config: Config { current.withLock { $0 } }

    /// Puts a new snapshot in force for connections that start from now on.
    public func replaceConfig(_ config: Config) {
        current.withLock { $0 = config }
    }

    /// A new session for one SMTP connection.
    public func makeSession() -> MessageSession {
        MessageSession(filter: self, config: config)
    }
}
