// mailwardend start-up, reload and shutdown. The message path itself is in
// Sources/MailWardenMilter/MessageFlow.swift; this file wires the pieces together.
//
// Signals: libmilter's own thread sigwaits SIGTERM, SIGINT and SIGHUP, all meaning "stop" (so SIGHUP
// stops the daemon, as with any libmilter filter; reload is SIGUSR1, as in OpenDKIM). They are blocked
// first thing, before any thread exists, so no other thread takes their default action.
import Foundation
import Glibc
import Logging
import MailWardenCore
import MailWardenMilter
import MailWardenNotices
import MailWardenScanners
import MailWardenStore
import MilterBridge

enum Daemon {
    static let defaultConfigPath = "/etc/mailwarden/mailwarden.conf"
    static let usage = """
        usage: mailwardend [--config PATH] [--check]
          --config PATH   config file (default \(defaultConfigPath), or $MAILWARDEN_CONFIG)
          --check         validate the config and exit (0 ok, 78 problems)
        Signals: SIGUSR1 reloads the config; SIGTERM, SIGINT and SIGHUP stop the daemon.
        """

    static func main() -> Never {
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGUSR1, SIGHUP, SIGTERM, SIGINT] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        umask(0o027)

        var configPath = ProcessInfo.processInfo.environment["MAILWARDEN_CONFIG"] ?? defaultConfigPath
        var checkOnly = false
        var args = CommandLine.arguments.dropFirst()
        while let arg = args.popFirst() {
            switch arg {
            case "--config", "-c":
                guard let p = args.popFirst() else { fail(64, "--config needs a path\n\(usage)") }
                configPath = p
            case "--check": checkOnly = true
            case "--help", "-h": print(usage); exit(0)
            default: fail(64, "unknown argument \(arg)\n\(usage)")
            }
        }

        let config: Config
        switch loadConfig(configPath) {
        case .success(let c): config = c
        case .failure(let e): fail(78, e.description)
        }
        if checkOnly { print("config OK: \(configPath)"); exit(0) }

        LoggingSystem.bootstrap { _ in
            var handler: LogHandler = config.log == .syslog ? SyslogLogHandler() : StderrLogHandler()
            handler.logLevel = Logger.Level(rawValue: config.logLevel == "warning" ? "warning" : config.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "mailwardend")

        let store: any Store
        let checkpointer: WALCheckpointer?
        let policyCache: PolicyCache
        do {
            if !config.storeIsPostgreSQL { try ensureDirectory(of: config.storePath) }
            let opened = try SQLStore.open(config, answersTheMTA: true)
            checkpointer = try opened.checkpointInBackground()
            store = opened
            policyCache = startPolicyCache(opened, logger: logger)
        } catch {
            logger.critical("\(error)")
            exit(75)
        }
        // Made whatever identity_header says: a reload may turn tokens on.
        let tokenizer: IdentityTokenizer
        do {
            tokenizer = try StoreIdentityTokenizer(store: store)
        } catch {
            logger.critical("cannot read the token key from the store: \(error)")
            exit(75)
        }
        // The endpoint's registry must back swift-metrics before the filter makes its metrics.
        let endpoint = config.metricsListen.map { _ in MetricsEndpoint(store: store, logger: logger) }
        endpoint?.bootstrap()
        let notifier = BackgroundLockNotifier(config: config, warn: { logger.warning("\($0)") })
        let filter = MailFilter(config: config, store: store, policyCache: policyCache, tokenizer: tokenizer, notifier: notifier,
                                intake: DeskIntake(store: store, clock: SystemClock()),
                                makeScanners: { makeScanners($0) }, clock: SystemClock(), logger: logger)
        do {
            try MilterRunner.open(filter: filter, socket: config.socket, socketMode: config.socketMode, socketGroup: config.socketGroup)
        } catch {
            logger.critical("\(error)")
            exit(71)
        }
        if let endpoint, let address = config.metricsListen {
            do {
                try endpoint.start(address, filter: filter)
            } catch {
                logger.critical("metrics_listen \(address.host):\(address.port): \(error)")
                exit(71)
            }
        }
        startReloadThread(filter: filter, notifier: notifier, path: configPath, store: store, logger: logger)
        startPruneThread(filter: filter, store: store, logger: logger)
        if let checkpointer { startCheckpointThread(checkpointer: checkpointer, logger: logger) }
        startHealthThread(filter: filter, store: store, logger: logger)
        startCatchUpThread(filter: filter, logger: logger)
        logger.info("started: socket \(config.socket), store \(config.storeForDisplay), mode \(config.mode.rawValue), \(config.identityRules.rules.count) identity rule(s), config \(configPath)")

        let status = MilterRunner.run()
        // libmilter abandons sessions in flight without calling close. Counts written behind the
        // answer are committed before the process ends; the others already are.
        let (unwritten, uncounted) = filter.finish(timeout: 10)
        if unwritten > 0 { logger.error("stopping with \(unwritten) count(s) of accepted messages not written: the store did not answer") }
        if uncounted > 0 {
            logger.error("stopping with \(uncounted) message(s) accepted uncounted while the store failed (on_error = accept) never counted: the store did not answer")
        }
        // The lock notices of those counts, and any still being sent (each SMTP step and command is
        // bounded; systemd allows 90 s for the stop).
        if !notifier.finish(timeout: 30) { logger.error("stopping with lock notices not sent: notify_smtp or notify_command did not finish in 30 s") }
        logger.info("stopped (libmilter status \(status))")
        exit(status == 0 ? 0 : 70)
    }

    static func loadConfig(_ path: String) -> Result<Config, ConfigErrors> {
        Result { () throws(ConfigErrors) in try Config.load(path: path) }
    }

    static func ensureDirectory(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        guard !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
    }

    /// SIGUSR1: parse the file again; a config that does not parse leaves the old one in force.
    static func startReloadThread(filter: MailFilter, notifier: BackgroundLockNotifier, path: String, store: any Store, logger: Logger) {
        Thread.detachNewThread(named: "reload") {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            while true {
                var sig: Int32 = 0
                guard sigwait(&set, &sig) == 0 else { continue }
                switch loadConfig(path) {
                case .success(let new):
                    let changed = filter.config.restartOnlyChanges(to: new)
                    if !changed.isEmpty {
                        logger.warning("reload: \(changed.joined(separator: ", ")) take effect only after a restart")
                    }
                    filter.replaceConfig(new)
                    notifier.replaceConfig(new)
                    try? store.appendAudit(actor: "mailwardend", action: "reload", identity: nil, detail: path, at: filter.clock.now())
                    logger.info("reload: new config from \(path) in force for new connections")
                case .failure(let e):
                    for problem in e.problems { logger.error("reload refused, the config in force stays: \(problem)") }
                }
            }
        }
    }

    /// The cache of the locks and overrides the milter enforces. For a store on this host, its policy
    /// version is read at a lookup at most every 20 ms. A shared store's is re-read when a change is
    /// announced (LISTEN/NOTIFY) and every second, since an announcement made while this host was cut
    /// off is lost.
    static func startPolicyCache(_ store: SQLStore, logger: Logger) -> PolicyCache {
        guard store.isShared else { return PolicyCache(store: store, freshness: .checkedAtLookup(atMostEvery: .milliseconds(20))) }
        let cache = PolicyCache(store: store, freshness: .refreshedFromOutside)
        cache.refreshInBackground(every: 1) { error in
            if let error {
                logger.error("the locks in force cannot be read from the store; enforcing the \(cache.lockCount) known: \(error)")
            } else {
                logger.info("the locks in force are read from the store again")
            }
        }
        // Kept for the daemon's life: announcements stop only with the process.
        _ = store.watchPolicyChanges { cache.wake() }
        return cache
    }

    /// Checkpoints the store's WAL every second, so that no message's commit has to (see
    /// SQLStore.checkpointInBackground).
    static func startCheckpointThread(checkpointer: WALCheckpointer, logger: Logger) {
        Thread.detachNewThread(named: "checkpoint") {
            var failing = false
            while true {
                sleep(1)
                do {
                    try checkpointer.checkpoint()
                    failing = false
                } catch {
                    // Say it once; the commits go on and the WAL only grows until it works again.
                    if !failing { logger.warning("checkpointing the store's WAL failed (will retry): \(error)") }
                    failing = true
                }
            }
        }
    }

    /// Every 10 minutes: drops outbound-log rows past retention, window events older than any window,
    /// and abuse reports (with their evidence) past report_retention.
    static func startPruneThread(filter: MailFilter, store: any Store, logger: Logger) {
        Thread.detachNewThread(named: "prune") {
            while true {
                let config = filter.config
                do {
                    // An identity's override may count it over a longer window than the config's.
                    let overrides = try store.policySnapshot().overrides.values
                    try store.prune(now: filter.clock.now(), outboundRetention: config.outboundLogRetention,
                                    windowRetention: config.windowRetention(overrides: overrides))
                    try store.pruneReports(now: filter.clock.now(), retention: config.reportRetention)
                } catch {
                    logger.warning("pruning the store failed (will retry): \(error)")
                }
                sleep(600)
            }
        }
    }

    /// Every second: writes the attempts of locked identities held back, and counts the messages
    /// accepted uncounted while the store failed (on_error = accept).
    static func startCatchUpThread(filter: MailFilter, logger: Logger) {
        Thread.detachNewThread(named: "catch-up") {
            while true {
                sleep(1)
                filter.writeLockedAttempts()
                guard filter.countBacklog.count > 0 else { continue }
                // A failure means the store is still away: the rest waits for the next second.
                if let counted = try? filter.catchUpCounts() {
                    logger.info("counted \(counted) message(s) accepted uncounted while the store failed")
                }
            }
        }
    }

    /// Writes this host's scanners' health to the store every 5 seconds, for `mailwarden status`.
    static func startHealthThread(filter: MailFilter, store: any Store, logger: Logger) {
        let host = hostName()
        Thread.detachNewThread(named: "scanner-health") {
            var lastError: String?
            var reported = false
            while true {
                let health = filter.scannerHealth.snapshot()
                do {
                    // No scanner configured, nothing to report: no write every 5 seconds (once more
                    // after a reload removed the last one, to drop its row).
                    if !health.isEmpty || reported { try store.saveScannerHealth(health, host: host, at: filter.clock.now()) }
                    reported = !health.isEmpty
                    lastError = nil
                } catch {
                    // Say it once, not every 5 seconds.
                    if lastError != "\(error)" { logger.warning("saving scanner health failed: \(error)") }
                    lastError = "\(error)"
                }
                sleep(5)
            }
        }
    }

    /// This machine's name as gethostname(2) gives it (no lookup), which tells hosts sharing a store apart.
    static func hostName() -> String {
        var name = [UInt8](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func fail(_ code: Int32, _ message: String) -> Never {
        FileHandle.standardError.write(Data("\(JournalPriority.prefix(forSeverity: "fatal", on: 2))mailwardend: \(message)\n".utf8))
        exit(code)
    }
}
