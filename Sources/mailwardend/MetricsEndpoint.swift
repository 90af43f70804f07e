// The Prometheus endpoint (metrics_listen): GET /metrics on a small HTTP listener. The milter's own
// counters come through swift-metrics into the registry; figures that other processes change too
// (the CLI's locks and unlocks, the pipe's reports, the triage queue) are read from the store at
// each scrape.
import FlyingFox
import FlyingSocks
import Foundation
import Logging
import MailWardenCore
import MailWardenMilter
import MailWardenStore
import Metrics
import Prometheus

final class MetricsEndpoint: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let store: SQLiteStore
    private let logger: Logger

    /// Buckets fit for a milter: most messages take well under a millisecond, spamd tens of them.
    static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    init(store: SQLiteStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Routes swift-metrics into this endpoint's registry; call once, before anything makes a metric.
    func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.buckets
        MetricsSystem.bootstrap(factory)
    }

    /// Listens on `address`; returns once it is listening, throws if it cannot.
    func start(_ address: HostPort, metrics: MessageMetrics) throws {
        let socket: any SocketAddress = address.host.contains(":")
            ? try sockaddr_in6.inet6(ip6: address.host, port: UInt16(address.port))
            : try sockaddr_in.inet(ip4: address.host, port: UInt16(address.port))
        let server = HTTPServer(address: socket, timeout: 10, logger: ListenerLog(logger: logger))
        let outcome = StartOutcome()
        Task {
            await server.appendRoute("GET /metrics") { [self] _ in
                HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                             body: Data(self.scrape(metrics: metrics)))
            }
            Task {
                do { try await server.waitUntilListening(timeout: 5) } catch { outcome.finish(error) }
                outcome.finish(nil)
            }
            do { try await server.run() } catch { outcome.finish(error) }
        }
        if let error = outcome.wait() { throw error }
    }

    /// The registry's text, after bringing the store's figures up to date in it.
    func scrape(metrics: MessageMetrics) -> [UInt8] {
        do {
            update(with: try store.figures(now: SystemClock().now()))
        } catch {
            metrics.storeError()
            logger.warning("metrics: reading the store failed: \(error)")
        }
        return registry.emitToBuffer()
    }

    private func update(with f: StoreFigures) {
        func counter(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Int) {
            // The store holds the running total: set the counter to it.
            let c = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "total", helpText: help), labels: labels)
            c.reset()
            c.increment(by: Int64(value))
        }
        func gauge(_ name: String, _ help: String, _ value: Int) {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help)).set(Double(value))
        }
        let locks = "Identities locked, automatically by the limits or by an admin."
        counter("mailwarden_locks", [("by", "auto")], locks, f.automaticLocks)
        counter("mailwarden_locks", [("by", "admin")], locks, f.adminLocks)
        let unlocks = "Locks lifted, by lock_cooldown or by an admin."
        counter("mailwarden_unlocks", [("by", "cooldown")], unlocks, f.cooldownUnlocks)
        counter("mailwarden_unlocks", [("by", "admin")], unlocks, f.adminUnlocks)
        gauge("mailwarden_identities_locked", "Identities locked now.", f.lockedIdentities)
        gauge("mailwarden_triage_reports", "Abuse reports waiting in triage.", f.triageReports)
        for t in f.reports {
            counter("mailwarden_reports", [("format", t.format), ("type", t.type), ("status", t.status)],
                    "Abuse reports ingested (milter and pipe), by format, type and status at ingest.", t.count)
        }
    }
}

/// The listener's start-up result, handed from its task to the thread that waits for it.
private final class StartOutcome: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: (any Error)??

    func finish(_ error: (any Error)?) {
        lock.lock()
        defer { lock.unlock() }
        guard result == nil else { return }
        result = .some(error)
        done.signal()
    }

    func wait() -> (any Error)? {
        done.wait()
        lock.lock()
        defer { lock.unlock() }
        return result ?? nil
    }
}

/// FlyingFox's log lines into ours: its per-connection chatter at debug, its failures as warnings.
private struct ListenerLog: FlyingSocks.Logging {
    let logger: Logger
    func logDebug(_ debug: @autoclosure () -> String) { logger.debug("metrics: \(debug())") }
    func logInfo(_ info: @autoclosure () -> String) { logger.debug("metrics: \(info())") }
    func logWarning(_ warning: @autoclosure () -> String) { logger.warning("metrics: \(warning())") }
    func logError(_ error: @autoclosure () -> String) { logger.warning("metrics: \(error())") }
    func logCritical(_ critical: @autoclosure () -> String) { logger.error("metrics: \(critical())") }
}
