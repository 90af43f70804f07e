// `mailwarden ingest`: the abuse desk's pipe transport (Postfix pipe(8), Sendmail prog mailer) and
// backlog import. As a transport its exit status is a promise to the MTA: 0 means the raw report is
// durably queued (or was before), and everything else, even a bad argument, is 75 (EX_TEMPFAIL) so
// the report stays with the MTA and is retried; pipe(8) would bounce 1, 2, 64 or 78, losing it.
// Parsing is the desk worker's job (`mailwarden desk`); `--wait`, `--mbox` and `--maildir` run the
// same isolated parser themselves for each report and print what it became. A backlog is queued in
// batches, one durable commit each: an import acknowledges nothing before its batch is on disk.
import ArgumentParser
import Foundation
import Glibc
import MailWardenCore
import MailWardenDesk
import MailWardenNotices
import MailWardenReports
import MailWardenStore

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue abuse reports: one message on stdin (a pipe transport), or a backlog from --mbox/--maildir.",
        discussion: "Exit status: 0 stored or already stored; 75 anything else, so the MTA keeps the message and retries.")

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Envelope sender, as pipe(8) passes ${sender}.", valueName: "address")) var sender: String?
    @Option(help: ArgumentHelp("Envelope recipient, as pipe(8) passes ${recipient}.", valueName: "address")) var recipient: String?
    @Option(help: ArgumentHelp("Import every message of an mbox file.", valueName: "file")) var mbox: String?
    @Option(help: ArgumentHelp("Import every message of a Maildir (cur and new).", valueName: "dir")) var maildir: String?
    @Flag(help: "Wait for the report to be parsed and print what it became (else: queued).") var wait = false
    @Flag(help: "Print one JSON object per message (NDJSON).") var json = false

    /// Longest message read from stdin or one mbox message; the parser reads less still (ReportLimits).
    static let maxMessageBytes = 64 << 20

    func run() throws {
        let (config, store) = try options.openStore(creating: true)
        if mbox != nil || maildir != nil {
            try importBacklog(config: config, store: store)
            return
        }
        let outcome = try store.enqueue(rawReport(try Self.readStandardInput()))
        guard wait, case .queued(let id) = outcome else {
            let status = if case .queued = outcome { "queued" } else { "duplicate" }
            print(json ? JSONValue.object([("status", .string(status)), ("report_id", .number(outcome.reportID))]).rendered(indent: nil)
                       : "\(status): report=\(outcome.reportID)")
            return
        }
        let waiter = ParseWaiter(config: config, store: store)
        let result = try waiter.result(of: id)
        waiter.notifier.finish()
        print(json ? result.json.rendered(indent: nil) : "\(result.status.rawValue): \(result.logSummary)")
    }

    /// `deliveredAt`: when a backlog's message was delivered to the mailbox, as the mbox or Maildir
    /// says (never later than now): its complaints are as old as that.
    func rawReport(_ raw: [UInt8], deliveredAt: Int64? = nil) -> RawReport {
        let now = SystemClock().now()
        return RawReport(receivedAt: min(deliveredAt ?? now, now), envelopeSender: sender, envelopeRecipient: recipient, queueID: nil, raw: raw)
    }

    static func readStandardInput() throws -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIFailure("cannot read the message from stdin: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            // Past the cap the rest is read and dropped: the report is stored as far as it goes.
            if data.count < maxMessageBytes { data += chunk[..<min(n, maxMessageBytes - data.count)] }
        }
        return data
    }

    /// Imports a backlog in batches: each batch is queued in one durable commit (one disk flush, not
    /// one per message), then parsed and filed before the next is read, so memory stays bounded by a
    /// batch whatever the backlog's size. Nothing is printed before its batch is committed, and an
    /// import run again queues nothing twice (the fingerprint dedupes it). A message that fails is
    /// counted and the import goes on.
    func importBacklog(config: Config, store: any Store) throws {
        var source: MessageSource = if let mbox { try MboxReader(path: mbox) } else { try MaildirReader(path: maildir!) }
        let waiter = ParseWaiter(config: config, store: store)
        var tally: [String: Int] = [:]
        var count = 0
        let progress = isatty(2) == 1 && !json
        while true {
            let batch = try Self.nextBatch(from: &source)
            // A report delivered longer ago than report_retention would be pruned at once, and queued
            // again by the next import of the same backlog (its fingerprint pruned with it).
            let oldest = SystemClock().now() - config.reportRetention.seconds
            func expired(_ message: BacklogMessage) -> Bool { message.deliveredAt.map { $0 <= oldest } ?? false }
            let kept = batch.filter { !expired($0) }
            var results: [Result<IngestResult, Error>]
            do {
                results = kept.isEmpty ? [] : waiter.results(of: try store.enqueue(kept.map { rawReport($0.raw, deliveredAt: $0.deliveredAt) }))
            } catch {
                results = Array(repeating: .failure(error), count: kept.count)
            }
            var keptResults = results.makeIterator()
            for message in batch {
                count += 1
                if expired(message) {
                    tally["expired", default: 0] += 1
                    if json {
                        print(JSONValue.object([("status", .string("expired")), ("delivered_at", .time(message.deliveredAt))]).rendered(indent: nil))
                    }
                    continue
                }
                // One result per kept message, in order.
                switch keptResults.next()! {
                case .success(let result):
                    tally[result.status.rawValue, default: 0] += 1
                    if json { print(result.json.rendered(indent: nil)) }
                case .failure(let error):
                    tally["failed", default: 0] += 1
                    Output.printError("message \(count): \(error)")
                }
            }
            // Also when no message of the batch could be read: the backlog's last files, or all of them.
            for problem in source.takeUnreadable() {
                count += 1
                tally["failed", default: 0] += 1
                Output.printError("message \(count): \(problem)")
            }
            if progress { Self.drawProgress(source.progress, count: count) }
            if batch.isEmpty { break }
        }
        waiter.notifier.finish()
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        let summary = (IngestResult.Status.allCases.map(\.rawValue) + ["expired", "failed"]).map { "\($0) \(tally[$0] ?? 0)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("\(count) messages: \(summary)\n".utf8))
        if tally["failed", default: 0] > 0 { throw ExitCode(75) }
    }

    /// Messages an import queues in one commit: at most this many, ...
    static let importBatchMessages = 100
    /// ... and the batch closes once its messages reach this many bytes (it is in memory until it is
    /// filed, so at most this plus one message).
    static let importBatchBytes = 4 << 20

    /// The next batch of the backlog; empty at its end.
    static func nextBatch(from source: inout MessageSource) throws -> [BacklogMessage] {
        var batch: [BacklogMessage] = []
        var bytes = 0
        while batch.count < importBatchMessages, let message = try source.next() {
            batch.append(message)
            bytes += message.raw.count
            if bytes >= importBatchBytes { break }
        }
        return batch
    }

    static func drawProgress(_ fraction: Double, count: Int) {
        let width = 40
        let filled = max(0, min(width, Int(fraction * Double(width))))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(count) messages".utf8))
    }

    /// Runs `ingest` with the transport's exit-status contract (see the top of this file).
    static func mainAsTransport(_ arguments: [String]) -> Never {
        do {
            let command = try parse(arguments)
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { Output.printError(message) }
            Glibc.exit(75)
        }
    }
}

/// Parses queued reports now, in the desk's isolated parser, and says what each became.
struct ParseWaiter {
    let worker: DeskWorker
    /// The notices of locks these parses set: finish() before the process exits.
    let notifier: BackgroundLockNotifier

    init(config: Config, store: any Store) {
        notifier = DeskCommand.notifier(config)
        worker = DeskCommand.worker(config, store, notifier: notifier)
    }

    func result(of reportID: Int64) throws -> IngestResult {
        try results(of: [.queued(reportID: reportID)])[0].get()
    }

    /// What each report just queued became, in order: a duplicate stays one, a queued report is
    /// parsed and filed (or the store failure that left it queued).
    func results(of queued: [EnqueueOutcome]) -> [Result<IngestResult, Error>] {
        var done: [Int64: Result<IngestResult, Error>] = [:]
        var pending = queued.compactMap { if case .queued(let id) = $0 { id } else { nil } }
        // Bounded: the store gives a report up to triage after DeskWorker.maxFailedParses failures.
        for _ in 0...DeskWorker.maxFailedParses where !pending.isEmpty {
            var retry: [Int64] = []
            _ = worker.process(pending) { id, outcome in
                switch outcome {
                case .success(.done(let result)): done[id] = .success(result)
                case .success(.retry): retry.append(id)
                case .success(.gone): done[id] = .success(.parsedElsewhere(reportID: id))
                case .failure(let error): done[id] = .failure(error)
                }
            }
            pending = retry
        }
        return queued.map { outcome in
            switch outcome {
            case .queued(let id): done[id] ?? .success(.parsedElsewhere(reportID: id))
            case .duplicate(let id): .success(.duplicate(reportID: id))
            }
        }
    }
}

/// One message of a backlog, and when it was delivered to the mailbox, if the backlog says.
struct BacklogMessage {
    let raw: [UInt8]
    let deliveredAt: Int64?
}

/// Messages of a backlog, read one at a time.
protocol MessageSource {
    mutating func next() throws -> BacklogMessage?
    /// How far through the backlog, 0 to 1.
    var progress: Double { get }
    /// Why each message passed over since the last call could not be read.
    mutating func takeUnreadable() -> [String]
}

extension MessageSource {
    /// An mbox is read whole or not at all: no message of it is passed over.
    mutating func takeUnreadable() -> [String] { [] }
}

/// An mbox file, read in chunks: messages start at lines beginning `From `; `>From ` quoting is
/// undone (mboxrd). A message over Ingest.maxMessageBytes is kept as far as the cap.
struct MboxReader: MessageSource {
    private let handle: FileHandle
    private let size: Double
    private var consumed = 0
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    private var inMessage = false
    private var current: [UInt8] = []
    /// The delivery time on the current message's `From ` line.
    private var currentDate: Int64?
    /// A piece of a line longer than this is handed on without waiting for its end.
    static let maxLinePiece = 1 << 20

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIFailure("cannot read mbox \(path)") }
        self.handle = handle
        size = Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    }

    var progress: Double { size > 0 ? Double(consumed) / size : 1 }

    mutating func next() throws -> BacklogMessage? {
        while let (piece, startsLine) = try nextPiece() {
            if startsLine, piece.starts(with: Self.fromLine) {
                let wasInMessage = inMessage
                inMessage = true
                let finished = BacklogMessage(raw: current, deliveredAt: currentDate)
                current = []
                currentDate = ReportDate.asctime(String(decoding: piece.prefix(512), as: UTF8.self))
                guard wasInMessage else { continue }
                return finished
            }
            guard inMessage else { continue }
            var line = piece[...]
            if startsLine, line.first == 62, line.drop(while: { $0 == 62 }).starts(with: Self.fromLine) { line = line.dropFirst() }
            if current.count < Ingest.maxMessageBytes { current += line.prefix(Ingest.maxMessageBytes - current.count) }
        }
        guard inMessage else { return nil }
        inMessage = false
        defer { current = [] }
        return BacklogMessage(raw: current, deliveredAt: currentDate)
    }

    private static let fromLine = Array("From ".utf8)
    private var pieceEndedLine = true

    /// The next line (with its LF), or the next piece of a very long one; whether it starts a line.
    private mutating func nextPiece() throws -> ([UInt8], Bool)? {
        while true {
            if let lf = buffer[position...].firstIndex(of: 10) {
                return take(upTo: lf + 1)
            }
            if buffer.count - position >= Self.maxLinePiece || (atEnd && position < buffer.count) {
                return take(upTo: buffer.count)
            }
            if atEnd { return nil }
            buffer.removeFirst(position)
            position = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer += chunk }
        }
    }

    private mutating func take(upTo end: Int) -> ([UInt8], Bool) {
        let piece = Array(buffer[position..<end])
        let startsLine = pieceEndedLine
        pieceEndedLine = piece.last == 10
        consumed += piece.count
        position = end
        return (piece, startsLine)
    }
}

/// A Maildir: every file in cur/ and new/, in name order (delivery order for standard names), read
/// when its turn comes.
struct MaildirReader: MessageSource {
    private let files: [String]
    private var index = 0

    init(path: String) throws {
        var files: [String] = []
        for sub in ["cur", "new"] {
            let dir = (path as NSString).appendingPathComponent(sub)
            guard FileManager.default.fileExists(atPath: dir) else { continue }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                throw CLIFailure("cannot list \(dir) (not readable by this user?): nothing was imported")
            }
            files += names.filter { !$0.hasPrefix(".") }.map { (dir as NSString).appendingPathComponent($0) }
        }
        guard !files.isEmpty || FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("cur")) else {
            throw CLIFailure("\(path) is not a Maildir (no cur/ or new/)")
        }
        self.files = files.sorted()
    }

    var progress: Double { files.isEmpty ? 1 : Double(index) / Double(files.count) }
    private var unreadable: [String] = []

    mutating func takeUnreadable() -> [String] {
        defer { unreadable = [] }
        return unreadable
    }

    mutating func next() throws -> BacklogMessage? {
        while index < files.count {
            defer { index += 1 }
            guard let data = FileManager.default.contents(atPath: files[index]) else {
                // A mail client or the IMAP server may have moved it since the listing (new/ to cur/,
                // a flag changed): what was queued is not queued twice, so the import can run again.
                unreadable.append("\(files[index]): cannot read it (moved, removed or not readable since the listing: run the import again)")
                continue
            }
            // A Maildir file's modification time is when it was delivered.
            let delivered = (try? FileManager.default.attributesOfItem(atPath: files[index])[.modificationDate] as? Date)
                .map { Int64($0.timeIntervalSince1970) }
            return BacklogMessage(raw: [UInt8](data.prefix(Ingest.maxMessageBytes)), deliveredAt: delivered)
        }
        return nil
    }
}
