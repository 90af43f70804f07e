// The desk worker's loop over the report queue: take a queued report, have it parsed (in an isolated
// process, by whatever `ReportParsing` the caller gives), file it (AbuseDesk.file), or count the
// failed parse. A report whose parse failed `maxFailedParses` times goes to triage with its raw bytes
// and the failure as its reason: one hostile report costs itself, never the queue behind it.
import MailWardenCore
import MailWardenReports

/// Reads one raw report; the desk worker's parser runs it in a process of its own.
public protocol ReportParsing: AnyObject {
    /// The parsed report, or how this report made the parser fail. Throws when no parser could run
    /// at all, which is not the report's fault: it stays queued, its failures uncounted.
    func parse(_ raw: [UInt8]) throws -> Result<AbuseReport, ParseFailure>
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
        guard let queued = try queue.queuedReport(id: reportID) else { return .gone }
        switch try parser.parse(queued.raw) {
        case .success(let report):
            return .done(try desk.file(queued, parsed: report))
        case .failure(let failure):
            guard try queue.recordParseFailure(reportID: reportID, failure, giveUpAfter: Self.maxFailedParses) else {
                return .retry(failure)
            }
            return .done(.unparsed(reportID: reportID, reason: failure.description))
        }
    }

    /// Processes what is queued now, oldest first, up to `limit` reports; `each` sees every outcome.
    /// A report the store fails on stays queued and the pass goes on with the next: one bad row
    /// does not hold up the queue. Throws only when the queue itself cannot be read.
    public func drain(limit: Int = 100, _ each: (Int64, Result<Outcome, Error>) -> Void = { _, _ in }) throws -> DrainPass {
        let ids = try queue.queuedReportIDs(limit: limit)
        var failed = 0
        for id in ids {
            let outcome = Result { try process(reportID: id) }
            if case .failure = outcome { failed += 1 }
            each(id, outcome)
        }
        return DrainPass(taken: ids.count, failed: failed)
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
