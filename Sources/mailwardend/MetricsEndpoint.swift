// The Prometheus endpoint (metrics_listen): GET /metrics on ScrapeListener. The milter's own counters
// come through swift-metrics into the registry; figures that other processes change too (the CLI's
// locks and unlocks, the pipe's reports, the triage queue) are read from the store at each scrape,
// at most once a second: a client scraping without pause must not keep the store busy.
import Foundation
import Logging
import MailWardenCore
import MailWardenMilter
import MailWardenStore
import Metrics
import Prometheus
import Synchronization

final class MetricsEndpoint: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let store: any Store
    private let logger: Logger
    /// When the store's figures were last read.
    private let figuresReadAt = Mutex<ContinuousClock.Instant?>(nil)

    /// Buckets fit for a milter: most messages take well under a millisecond, spamd tens of them.
    static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// A lock check is a lookup in memory (a one-row read with SQLite): microseconds, unless it waits.
    static let lockCheckBuckets: [Duration] = [
        .microseconds(1), .microseconds(2), .microseconds(5), .microseconds(10), .microseconds(25),
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(100), .seconds(1),
    ]

    init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Routes swift-metrics into this endpoint's registry; call once, before anything makes a metric.
    func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.buckets
        factory.durationHistogramBuckets = [MessageMetrics.Name.lockCheckTime: Self.lockCheckBuckets]
        MetricsSystem.bootstrap(factory)
    }

    /// Listens on `address` (the socket is bound when this returns) and answers scrapes on a thread of its own.
    func start(_ address: HostPort, filter: MailFilter) throws(ListenerFailure) {
        let listener = try ScrapeListener(address)
        Thread.detachNewThread(named: "metrics") { listener.serve { path in path == "/metrics" ? self.scrape(filter: filter) : nil } }
    }

    /// The registry's text, after bringing the store's figures up to date in it.
    func scrape(filter: MailFilter) -> [UInt8] {
        if let connections = store.connectionFigures { update(with: connections) }
        gauge("mailwarden_lock_cache_age_seconds",
              "Seconds since the store last confirmed the locks and overrides the milter enforces (grows while the store is away).",
              filter.policyCache.ageSeconds)
        gauge("mailwarden_uncounted_messages", "Messages accepted uncounted while the store failed (on_error = accept), waiting to be counted.",
              filter.countBacklog.count)
        gauge("mailwarden_counts_written_behind_waiting", "Counts of accepted messages waiting to be committed (count_commit = write_behind).",
              filter.writeBehind.waiting)
        counter("mailwarden_counts_written_behind", [], "Counts of accepted messages answered before they were committed (count_commit = write_behind).",
                filter.writeBehind.taken)
        counter("mailwarden_uncounted_messages_dropped", [], "Messages accepted while the store failed that were never counted: more than the backlog holds.",
                filter.countBacklog.dropped)
        gauge("mailwarden_lock_cache_locks", "Locks the milter enforces from its copy (compare mailwarden_identities_locked, read from the store).",
              filter.policyCache.lockCount)
        let now = ContinuousClock.now
        let due = figuresReadAt.withLock { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return registry.emitToBuffer() }
        do {
            update(with: try store.figures(now: SystemClock().now()))
        } catch {
            filter.metrics.storeError()
            logger.warning("metrics: reading the store failed: \(error)")
        }
        return registry.emitToBuffer()
    }

    /// Sets a counter to a running total kept elsewhere (the store, the connection pool).
    private func counter(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Int) {
        let c = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "total", helpText: help), labels: labels)
        c.reset()
        c.increment(by: Int64(value))
    }

    private func gauge(_ name: String, _ help: String, _ value: Int) {
        gauge(name, help, Double(value))
    }

    private func gauge(_ name: String, _ help: String, _ value: Double) {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help)).set(value)
    }

    private func update(with c: StoreConnectionFigures) {
        gauge("mailwarden_store_connections", "Connections to the PostgreSQL store open now.", c.open)
        counter("mailwarden_store_pool_waits", [], "Times a thread waited for a free connection to the PostgreSQL store.", c.poolWaits)
        counter("mailwarden_store_database_errors", [], "Failed statements and connection attempts on the PostgreSQL store.", c.errors)
    }

    private func update(with f: StoreFigures) {
        let locks = "Identities locked, automatically by the limits or by an admin."
        counter("mailwarden_locks", [("by", "auto")], locks, f.automaticLocks)
        counter("mailwarden_locks", [("by", "admin")], locks, f.adminLocks)
        let unlocks = "Locks lifted, by lock_cooldown or by an admin."
        counter("mailwarden_unlocks", [("by", "cooldown")], unlocks, f.cooldownUnlocks)
        counter("mailwarden_unlocks", [("by", "admin")], unlocks, f.adminUnlocks)
        gauge("mailwarden_identities_locked", "Identities locked now.", f.lockedIdentities)
        gauge("mailwarden_triage_reports", "Abuse reports waiting in triage.", f.triageReports)
        gauge("mailwarden_reports_queued", "Abuse reports stored raw, waiting for the desk worker (mailwarden desk).", f.queuedReports)
        let now = SystemClock().now()
        gauge("mailwarden_reports_queued_oldest_age_seconds", "Age of the oldest report waiting for the desk worker (0: none).",
              f.oldestQueuedAt.map { Int(max(0, now - $0)) } ?? 0)
        for kind in ["died", "timeout"] {
            counter("mailwarden_desk_parse_failures", [("reason", kind)],
                    "Parses of a report that killed the desk's parser process or ran over desk_parse_timeout.", f.parseFailures[kind] ?? 0)
        }
        for t in f.reports {
            counter("mailwarden_reports", [("format", t.format), ("type", t.type), ("status", t.status)],
                    "Abuse reports by format, type and status: duplicate when queued again, else what the desk made of them.", t.count)
        }
    }
}
