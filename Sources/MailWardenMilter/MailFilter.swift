// The filter as a whole: the config snapshot in force, the store and the collaborators every session
// shares. A reload swaps the snapshot only when the new config parsed; a session keeps the snapshot it
// started with, so one connection never sees two configs.
import Logging
import MailWardenCore
import Synchronization

public final class MailFilter: Sendable {
    public let store: PolicyStore
    /// The locks and overrides in force, read from memory on the message path.
    public let policyCache: PolicyCache
    /// Messages accepted uncounted while the store failed, counted by catchUpCounts().
    public let countBacklog: CountBacklog
    /// Counts committed after the answer (count_commit = write_behind); flushed at a clean stop.
    public let writeBehind: WriteBehindCounts
    public let tokenizer: IdentityTokenizer?
    public let notifier: LockNotifier?
    public let intake: ReportIntake?
    public let clock: WallClock
    public let logger: Logger
    public let scannerHealth: ScannerHealthBoard
    public let metrics: MessageMetrics
    /// The message bytes every session holds, within milter_memory.
    public let messageMemory = MessageMemory()
    /// Attempts of locked identities not written yet (at most one write a second per identity).
    public let lockedAttempts = LockedAttempts()
    private let current: Mutex<SessionPlan>
    /// The backlog is drained by one caller at a time: the catch-up thread, or the stop.
    private let catchingUp = Mutex(())
    private let makeScanners: @Sendable (ScannerConfig) -> [any SpamScanner]

    /// Without `policyCache`, one that reads the store's policy version at every lookup (a store on this host).
    public init(config: Config, store: PolicyStore, policyCache: PolicyCache? = nil, tokenizer: IdentityTokenizer?, notifier: LockNotifier?,
                intake: ReportIntake? = nil, makeScanners: @escaping @Sendable (ScannerConfig) -> [any SpamScanner] = { _ in [] },
                clock: WallClock, logger: Logger, metrics: MessageMetrics = MessageMetrics()) {
        let scanners = makeScanners(config.scanning)
        let policyCache = policyCache ?? PolicyCache(store: store, freshness: .checkedAtEveryLookup)
        let countBacklog = CountBacklog()
        let writeBehind = WriteBehindCounts(store: store) { event, result in
            let queueID = event.queueID ?? "NOQUEUE"
            switch result {
            case .success(.locked(let lock, crossing: .some(let crossing))):
                policyCache.noteLock(lock)
                logger.warning("\(queueID): identity=\(event.identity) locked by this message's count, written after it was accepted: \(crossing)")
                notifier?.identityLocked(lock, cause: .message(queueID: event.queueID))
            case .success(.wouldLock(let reason, _)):
                logger.warning("\(queueID): identity=\(event.identity) would lock on this message's count, written after it was accepted: \(reason) (mode=monitor)")
            case .success:
                break
            case .failure(let error):
                logger.error("\(queueID): identity=\(event.identity) the count of this accepted message was not written (\(error)); it is counted once the store answers again")
                countBacklog.add(event)
            }
        }
        self.countBacklog = countBacklog
        self.writeBehind = writeBehind
        current = Mutex(SessionPlan(config: config, scanners: scanners, clock: clock, store: store, cache: policyCache, writeBehind: writeBehind))
        self.policyCache = policyCache
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
        let scanners = makeScanners(config.scanning)
        let plan = SessionPlan(config: config, scanners: scanners, clock: clock, store: store, cache: policyCache,
                               writeBehind: writeBehind)
        current.withLock { $0 = plan }
        scannerHealth.keepOnly(labels: scanners.map(\.label))
    }

    /// Counts what was accepted uncounted while the store failed, in order, each in its own second; a
    /// limit crossed on the way locks the identity (and notifies) as the message itself would have.
    /// An identity locked meanwhile is not counted further: its lock already stands, and a message
    /// to a locked identity is an attempt, not a count. Stops at the first failure: the rest waits for
    /// the next call. Returns how many were taken from the backlog.
    public func catchUpCounts() throws -> Int {
        let accounting = current.withLock { $0.accounting }
        return try catchingUp.withLock { _ in try drainBacklog(accounting) }
    }

    private func drainBacklog(_ accounting: IdentityAccounting, until deadline: ContinuousClock.Instant? = nil) throws -> Int {
        try countBacklog.drain(until: deadline) { event in
            let checked = try accounting.check(event.identity)
            guard checked.refusal == nil else { return }
            let outcome = try accounting.count(event, state: checked.state)
            if case .locked(let lock, crossing: .some(let crossing)) = outcome {
                logger.warning("\(event.queueID ?? "NOQUEUE"): identity=\(event.identity) locked on catching up with a count missed while the store failed: \(crossing)")
                notifier?.identityLocked(lock, cause: .message(queueID: event.queueID))
            }
        }
    }

    /// Writes the attempts of locked identities held back this last second (the catch-up thread, each
    /// second, and the stop). One that cannot be written is logged and dropped, as an attempt on the
    /// message's path is.
    public func writeLockedAttempts() {
        let now = clock.now()
        for (identity, count) in lockedAttempts.takeWaiting(at: now) {
            do { try store.recordLockedAttempts(count, identity: identity, at: now, heldQueueID: nil) } catch {
                metrics.storeError()
                logger.warning("identity=\(identity) locked; \(count) attempt(s) were not counted: \(error)")
            }
        }
    }

    /// At a clean stop: commits the counts written behind and tries the backlog once more, each for up
    /// to `timeout` (systemd gives the stop 90 s). Returns what is left uncounted, for the log: counts
    /// written behind that did not commit, and messages accepted uncounted while the store failed
    /// (on_error = accept) that it still refuses or had no time for.
    public func finish(timeout: Double) -> (unwritten: Int, uncounted: Int) {
        let unwritten = writeBehind.flush(timeout: timeout)
        writeLockedAttempts()
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let accounting = current.withLock { $0.accounting }
        // The catch-up thread may be draining the backlog this moment: the stop does not wait for it.
        if countBacklog.count > 0,
           let counted = try? catchingUp.withLockIfAvailable({ _ in try drainBacklog(accounting, until: deadline) }), counted > 0 {
            logger.info("counted \(counted) message(s) accepted uncounted while the store failed")
        }
        return (unwritten, countBacklog.count)
    }

    /// A new session for one SMTP connection.
    public func makeSession() -> MeasuredSession {
        MeasuredSession(MessageSession(filter: self, plan: current.withLock { $0 }), metrics: metrics)
    }
}
