// One spam scanner's health as the daemon sees it and `mailwarden status` shows it.

/// One scanner's figures since the daemon started.
public struct ScannerHealth: Sendable, Equatable {
    public var label: String
    public var scans = 0
    public var spam = 0
    public var failures = 0
    /// Messages not sent because they were bigger than scanner_max_size.
    public var skippedTooBig = 0
    public var lastError: String?
    public var lastErrorAt: Int64?
    public var lastSuccessAt: Int64?
    /// Median and 99th percentile of the recent scans' latency, in microseconds.
    public var latencyP50: Int64?
    public var latencyP99: Int64?

    /// Up when the last attempt succeeded (or none was made yet).
    public var isUp: Bool {
        guard let lastErrorAt else { return true }
        return (lastSuccessAt ?? Int64.min) >= lastErrorAt
    }

    public init(label: String) { self.label = label }

    public init(label: String, scans: Int, spam: Int, failures: Int, skippedTooBig: Int, lastError: String?,
                lastErrorAt: Int64?, lastSuccessAt: Int64?, latencyP50: Int64?, latencyP99: Int64?) {
        self.label = label
        self.scans = scans
        self.spam = spam
        self.failures = failures
        self.skippedTooBig = skippedTooBig
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.lastSuccessAt = lastSuccessAt
        self.latencyP50 = latencyP50
        self.latencyP99 = latencyP99
    }
}

extension ScannerHealth {
    /// The form `mailwarden status --json` shows and the store keeps.
    public var json: JSONValue {
        .object([
            ("scanner", .string(label)),
            ("up", .bool(isUp)),
            ("scans", .number(Int64(scans))),
            ("spam", .number(Int64(spam))),
            ("failures", .number(Int64(failures))),
            ("skipped_too_big", .number(Int64(skippedTooBig))),
            ("last_error", .text(lastError)),
            ("last_error_at", .time(lastErrorAt)),
            ("last_success_at", .time(lastSuccessAt)),
            ("latency_p50_us", latencyP50.map { .number($0) } ?? .null),
            ("latency_p99_us", latencyP99.map { .number($0) } ?? .null),
        ])
    }
}
