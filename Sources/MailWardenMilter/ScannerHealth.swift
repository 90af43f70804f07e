// How each configured scanner is doing, as `mailwarden status` shows it: up or down, last error,
// latency. Kept in memory on the message path (a mutex, no I/O); the daemon writes a snapshot to
// the store every few seconds for the CLI to read. Each event also goes to the metrics.
import MailWardenCore
import Synchronization

public final class ScannerHealthBoard: Sendable {
    /// Latencies kept per scanner for the percentiles.
    static let window = 512
    /// A scanner that failed this many times in a row is not asked for `restSeconds` from its last
    /// failure; then one message asks it again while the others go on resting: a stuck one would
    /// cost every message scanner_timeout (rspamd's proxy treats its upstreams the same way). Only
    /// failures of the scanner count: an answer it gave about one message (an error, too big, not
    /// its protocol) shows it up, and a sender must not put it to rest for everyone's mail.
    static let failuresBeforeRest = 3
    static let restSeconds: Int64 = 10

    private struct Entry {
        var health: ScannerHealth
        var latencies: [Int64] = []
        var next = 0
        var failuresInARow = 0
        var restingUntil: Int64 = 0
    }

    private let entries: Mutex<[String: Entry]>
    private let metrics: MessageMetrics

    public init(labels: [String], metrics: MessageMetrics) {
        self.metrics = metrics
        entries = Mutex(Dictionary(labels.map { ($0, Entry(health: ScannerHealth(label: $0))) }, uniquingKeysWith: { a, _ in a }))
    }

    func recordScan(_ label: String, latency: Int64, spam: Bool, at: Int64) {
        metrics.scanned(label, microseconds: latency)
        update(label) { e in
            e.failuresInARow = 0
            e.health.scans += 1
            if spam { e.health.spam += 1 }
            e.health.lastSuccessAt = at
            if e.latencies.count < Self.window { e.latencies.append(latency) } else { e.latencies[e.next] = latency }
            e.next = (e.next + 1) % Self.window
        }
    }

    func recordFailure(_ label: String, _ failure: ScanFailure, at: Int64) {
        metrics.scanFailed(label, failure)
        update(label) { e in
            switch failure {
            case .messageTooBig:
                e.health.skippedTooBig += 1
            case .resting:
                e.health.failures += 1
            default:
                e.health.failures += 1
                e.health.lastError = failure.description
                e.health.lastErrorAt = at
                if failure.isAnswerAboutTheMessage {
                    // It answered: up, as `status` shows it, with this message's error beside.
                    e.health.lastSuccessAt = at
                    e.failuresInARow = 0
                } else {
                    e.failuresInARow += 1
                    if e.failuresInARow >= Self.failuresBeforeRest { e.restingUntil = at + Self.restSeconds }
                }
            }
        }
    }

    /// Why the scanner is not to be asked at `now` (it is resting), or nil. Once a rest is over, the
    /// caller that is told nil is its probe: the others rest on until the probe's outcome is noted.
    func rest(of label: String, at now: Int64) -> ScanFailure? {
        entries.withLock { all in
            guard var e = all[label], e.failuresInARow >= Self.failuresBeforeRest else { return nil }
            guard now < e.restingUntil else {
                e.restingUntil = now + Self.restSeconds
                all[label] = e
                return nil
            }
            return .resting(failures: e.failuresInARow, until: e.restingUntil)
        }
    }

    private func update(_ label: String, _ change: (inout Entry) -> Void) {
        entries.withLock { all in
            var e = all[label] ?? Entry(health: ScannerHealth(label: label))
            change(&e)
            all[label] = e
        }
    }

    /// Keeps only the scanners a reloaded config names (a removed one is no longer listed); a new
    /// one is listed from its first scan.
    public func keepOnly(labels: [String]) {
        entries.withLock { all in all = all.filter { labels.contains($0.key) } }
    }

    /// Every scanner's figures, in label order.
    public func snapshot() -> [ScannerHealth] {
        entries.withLock { all in
            all.values.map { e in
                var h = e.health
                let sorted = e.latencies.sorted()
                if !sorted.isEmpty {
                    h.latencyP50 = sorted[(sorted.count - 1) / 2]
                    h.latencyP99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
                }
                return h
            }.sorted { $0.label < $1.label }
        }
    }
}
