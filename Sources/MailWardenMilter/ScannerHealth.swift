// How each configured scanner is doing, as `mailwarden status` shows it: up or down, last error,
// latency. Kept in memory on the message path (a mutex, no I/O); the daemon writes a snapshot to
// the store every few seconds for the CLI to read. Each event also goes to the metrics.
import MailWardenCore
import Synchronization

public final class ScannerHealthBoard: Sendable {
    /// Latencies kept per scanner for the percentiles.
    static let window = 512

    private struct Entry {
        var health: ScannerHealth
        var latencies: [Int64] = []
        var next = 0
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
            if case .messageTooBig = failure {
                e.health.skippedTooBig += 1
                return
            }
            e.health.failures += 1
            e.health.lastError = failure.description
            e.health.lastErrorAt = at
        }
    }

    private func update(_ label: String, _ change: (inout Entry) -> Void) {
        entries.withLock { all in
            var e = all[label] ?? Entry(health: ScannerHealth(label: label))
            change(&e)
            all[label] = e
        }
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
