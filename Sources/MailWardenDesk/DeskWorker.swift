// The desk worker's loop over the report queue: take a queued report, have it parsed (in an isolated
// process, by whatever `ReportParsing` the caller gives), file it (AbuseDesk.file), or count the
// failed parse. A report whose parse failed `maxFailedParses` times goes to triage with its raw bytes
// and the failure as its reason: one hostile report costs itself, never the queue behind it.
//
// Reports are pipelined: as soon as the parser has answered for one report it is handed the next,
// and reads it while this process files the one before (a store commit). The parser still holds one
// report at a time, so its time budget and a failure belong to that report alone.
import MailWardenCore
import MailWardenReports

/// Reads one raw report at a time; the desk worker's parser runs it in a process of its own. A parse
/// is started, then finished: in between, the caller is free to file the report before while the
/// parser reads.
public protocol ReportParsing: AnyObject {
    /// Hands one raw report to the parser, which starts on it at once. Throws when no parser could
    /// run at all, which is not the report's fault: it stays queued, its failures uncounted.
    func start(_ raw: [UInt8]) throws
    /// The report started last, parsed, or how it made the parser fail. Called once after each
    /// `start`, before the next.
    func finish() throws -> Result<AbuseReport, ParseFailure>
}

public struct DeskWorker {
    public let desk: AbuseDesk
    public let queue: ReportQueue
    public let parser: ReportParsing
    /// Failed parses after which a report goes to triage instead of being tried again.
    public static let maxFailedParses = 2

    public init(desk: AbuseDesk, queue: ReportQueue, parser: ReportParsing) {
        self.desk = desk
        self.queue = queue
        self.parser = parser
    }

    /// What became of one queued report.
    public enum Outcome {
        /// Filed, in triage, ignored (or given up on, in triage).
        case done(IngestResult)
        /// The parse failed and will be tried again.
        case retry(ParseFailure)
        /// Not queued any more (another worker took it).
        case gone
    }

    /// Parses and files one queued report. Throws on a store failure or when no parser can run (the
    /// report stays queued).
    public func process(reportID: Int64) throws -> Outcome {
        var outcome: Result<Outcome, Error> = .success(.gone)
        _ = process([reportID]) { _, result in outcome = result }
        return try outcome.get()
    }

    /// Parses and files queued reports in the order given, each report's parse overlapping the filing
    /// of the one before; `each` sees every outcome, in that order. A report the store or the
    /// parser's start fails on stays queued and the rest go on: one bad row does not hold up the
    /// queue. Returns how many stayed queued so.
    public func process(_ reportIDs: [Int64], _ each: (Int64, Result<Outcome, Error>) -> Void) -> Int {
        guard let firstID = reportIDs.first else { return 0 }
        var failed = 0
        var inParser = start(firstID)
        for (index, id) in reportIDs.enumerated() {
            let parsed = inParser.flatMap { queued in Result { try queued.map { (queued: $0, parse: try parser.finish()) } } }
            // The parser is free again: it reads the next report while this one is filed.
            if index + 1 < reportIDs.count { inParser = start(reportIDs[index + 1]) }
            let outcome = parsed.flatMap { parsed in Result { try parsed.map { try settle($0.queued, $0.parse) } ?? .gone } }
            if case .failure = outcome { failed += 1 }
            each(id, outcome)
        }
        return failed
    }

    /// Reads a queued report and hands it to the parser; nil when it is not queued any more.
    private func start(_ reportID: Int64) -> Result<QueuedReport?, Error> {
        Result {
            guard let queued = try queue.queuedReport(id: reportID) else { return nil }
            try parser.start(queued.raw)
            return queued
        }
    }

    /// Files a parsed report, or counts its failed parse (at the last one, it goes to triage).
    private func settle(_ queued: QueuedReport, _ parse: Result<AbuseReport, ParseFailure>) throws -> Outcome {
        switch parse {
        case .success(let report):
            return .done(try desk.file(queued, parsed: report))
        case .failure(let failure):
            guard try queue.recordParseFailure(reportID: queued.id, failure, giveUpAfter: Self.maxFailedParses) else {
                return .retry(failure)
            }
            return .done(.unparsed(reportID: queued.id, reason: failure.description))
        }
    }

    /// Processes what is queued now, oldest first, up to `limit` reports; `each` sees every outcome.
    /// Throws only when the queue itself cannot be read.
    public func drain(limit: Int = 100, _ each: (Int64, Result<Outcome, Error>) -> Void = { _, _ in }) throws -> DrainPass {
        let ids = try queue.queuedReportIDs(limit: limit)
        return DrainPass(taken: ids.count, failed: process(ids, each))
    }

    /// What one pass over the queue did.
    public struct DrainPass: Equatable {
        /// Reports looked at.
        public let taken: Int
        /// Of those, reports left queued because the store or the parser's start failed.
        public let failed: Int

        public init(taken: Int, failed: Int) {
            self.taken = taken
            self.failed = failed
        }
    }
}
