// `mailwarden desk`: the abuse desk worker. It drains the report queue that mailwardend and
// `mailwarden ingest` fill with raw bytes: each report is parsed by the isolated parser process
// (IsolatedParser.swift), then traced, filed on cases and its complaint counted in one transaction
// (DeskWorker, AbuseDesk). One line per report on stdout (journald under systemd).
// Signals: SIGUSR1 reloads the config (a bad one is refused and the old one stays); SIGTERM stops at
// once, which loses nothing: a report is either filed in one commit or still queued.
import ArgumentParser
import Foundation
import Glibc
import MailWardenCore
import MailWardenDesk
import MailWardenNotices
import MailWardenStore
import Synchronization

struct DeskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "desk",
        abstract: "Run the abuse desk worker: parse queued reports in an isolated process, file them on cases.",
        discussion: """
            A report whose parse dies or runs over desk_parse_timeout twice goes to triage with its raw bytes and the reason.
            New reports are picked up within a fifth of a second. SIGUSR1 reloads the config.
            """)

    @OptionGroup var options: ConfigOptions
    @Flag(help: "Process what is queued, then exit (tests, cron).") var once = false
    @Flag(help: "Print one JSON object per report (NDJSON) instead of a log line.") var json = false

    /// How long the worker sleeps when the queue is empty (a SIGUSR1 ends the sleep early).
    static let idleMilliseconds = 200

    func run() throws {
        // Blocked before any thread exists, so sigtimedwait below (reload) and the stop thread are
        // the only ones to take them.
        var reloadSignal = sigset_t(), stopSignals = sigset_t()
        sigemptyset(&reloadSignal)
        sigaddset(&reloadSignal, SIGUSR1)
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &reloadSignal, nil)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        // Like ingest, the worker runs as the service user: it may be the first to create the store.
        var (config, store) = try options.openStore(creating: true)
        let notifier = Self.notifier(config)
        var worker = Self.worker(config, store, notifier: notifier)
        // A one-shot run must not exit with notices still unsent.
        defer { notifier.finish() }
        let stop = StopRequest(notifier: notifier)
        stop.takeSignals(stopSignals)
        if !once { Self.log("started: store \(config.storeForDisplay), parse budget \(config.deskParseTimeout), parser memory \(config.deskParseMemory) bytes, config \(options.path)") }
        for warning in CheckConfig.complaintWarnings(config) { Self.log("warning: \(warning)") }
        while true {
            stop.exitIfAsked()
            let pass: DeskWorker.DrainPass
            do {
                // Between reports: a report's lock and its notice are handed over before it returns.
                pass = try worker.drain { id, outcome in report(id, outcome); stop.exitIfAsked() }
            } catch {
                Self.log("error: cannot read the report queue: \(error) (retrying in 1 s)")
                if once { throw ExitCode(75) }
                sleep(1)
                continue
            }
            if pass.failed > 0 {
                // The store (or the parser's start) is failing: those reports stay queued.
                if once { throw ExitCode(75) }
                sleep(1)
                continue
            }
            guard pass.taken == 0 else { continue }
            if once { return }
            if Self.waitForSignal(reloadSignal, milliseconds: Self.idleMilliseconds) {
                do {
                    config = try options.loadConfig()
                    notifier.replaceConfig(config)
                    worker = Self.worker(config, store, notifier: notifier)
                    Self.log("reload: new config from \(options.path) in force")
                } catch {
                    Self.log("warning: reload refused, the config in force stays (see the problems above)")
                }
            }
        }
    }

    static func worker(_ config: Config, _ store: any Store, notifier: LockNotifier) -> DeskWorker {
        DeskWorker(desk: AbuseDesk(config: config, cases: store, policy: store, clock: SystemClock(), notifier: notifier), queue: store,
                   parser: IsolatedParser(timeout: config.deskParseTimeout, memoryLimit: config.deskParseMemory))
    }

    private func report(_ id: Int64, _ outcome: Result<DeskWorker.Outcome, Error>) {
        switch outcome {
        case .success(.done(let result)):
            Self.log(json ? result.json.rendered(indent: nil) : "\(result.status.rawValue): \(result.logSummary)")
        case .success(.retry(let failure)):
            Self.log(json ? JSONValue.object([("status", .string("retry")), ("report_id", .number(id)), ("reason", .string(failure.description))]).rendered(indent: nil)
                     : "retry: report=\(id) reason=\"\(failure)\"")
        case .success(.gone):
            break
        case .failure(let error):
            Self.log("error: report=\(id) stays queued: \(error)")
        }
    }

    /// Sends the lock notices of complaint locks; a failed one is a warning line on stdout.
    static func notifier(_ config: Config) -> BackgroundLockNotifier {
        BackgroundLockNotifier(config: config, warn: { Self.log("warning: \($0)") })
    }

    /// Unbuffered: a line reaches the journal (or a test) as soon as the report is done.
    /// A line saying `warning:` or `error:` first is one at that priority in the journal.
    static func log(_ line: String) {
        FileHandle.standardOutput.write(Data((JournalPriority.prefix(forLine: line, unmarked: "info", on: 1) + line + "\n").utf8))
    }

    /// Sleeps up to `milliseconds`; true when a signal of `set` arrived.
    static func waitForSignal(_ set: sigset_t, milliseconds: Int) -> Bool {
        var set = set
        var timeout = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        return sigtimedwait(&set, nil, &timeout) > 0
    }
}

/// SIGTERM and SIGINT stop the worker between two reports, once the lock notices it handed over
/// are sent: a report's complaint lock commits before its notice is handed over, so stopping in
/// between would lose the notice for good. A worker stuck in one report (a parse, the store) is
/// stopped by the signal's thread after `patience` seconds, as a kill would (the report stays queued).
final class StopRequest: Sendable {
    private let asked = Atomic<Bool>(false)
    private let exiting = Atomic<Bool>(false)
    private let notifier: BackgroundLockNotifier
    static let patience = 20

    init(notifier: BackgroundLockNotifier) { self.notifier = notifier }

    func takeSignals(_ signals: sigset_t) {
        Thread.detachNewThread(named: "stop") { [self] in
            var set = signals
            var signal: Int32 = 0
            while sigwait(&set, &signal) != 0 {}
            asked.store(true, ordering: .sequentiallyConsistent)
            sleep(UInt32(Self.patience))
            exit()
        }
    }

    func exitIfAsked() {
        if asked.load(ordering: .sequentiallyConsistent) { exit() }
    }

    /// Sends what is handed over (at most 30 s), then ends the process; only the first caller does.
    private func exit() {
        guard exiting.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else {
            while true { pause() }
        }
        if !notifier.finish(timeout: 30) {
            DeskCommand.log("error: stopping with lock notices not sent: notify_smtp or notify_command did not finish in 30 s")
        }
        Glibc.exit(0)
    }
}
