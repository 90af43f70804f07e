// status, backup: the store and the config in force at a glance, and a safe copy of the store.
import ArgumentParser
import Foundation
import MailWardenCore
import MailWardenStore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the store's counts and the config in force.")

    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let (config, store) = try options.openStore()
        let status = try store.status()
        let limits = Counter.allCases.map { ($0.rawValue, JSONValue.text(config.limits[$0]?.description)) }
        let rules = config.identityRules.rules.map(\.description)
        let scanners = try store.scannerHealth()
        let now = SystemClock().now()
        let desk = try store.figures(now: now)
        if json {
            return Output.print(.object([
                ("config", .string(options.path)),
                ("store", .string(config.storeForDisplay)),
                ("schema_version", .int(status.schemaVersion)),
                ("database_bytes", .number(status.databaseBytes)),
                ("identities", .int(status.identities)),
                ("active_locks", .int(status.activeLocks)),
                ("held", .int(status.held)),
                ("outbound", .int(status.outbound)),
                ("audit", .int(status.audit)),
                ("reports_queued", .int(desk.queuedReports)),
                ("complaints_counted_from", .array(config.authservIDs.sorted().map(JSONValue.string))),
                ("oldest_queued_at", .time(desk.oldestQueuedAt)),
                ("mode", .string(config.mode.rawValue)),
                ("socket", .string(config.socket)),
                ("limits", .object(limits)),
                ("lock_action", .string(config.lockAction.rawValue)),
                ("identity_rules", .array(rules.map(JSONValue.string))),
                ("scanners", .array(scanners.map { s in
                    guard case .object(let fields) = s.health.json else { return s.health.json }
                    return .object(fields + [("host", .string(s.host)), ("reported_at", .time(s.updatedAt))])
                })),
            ]))
        }
        let limitText = Counter.allCases.map { "\($0.rawValue) \(config.limits[$0]?.description ?? "none")" }.joined(separator: ", ")
        print(TextTable(rows: ([
            ["config", options.path],
            ["store", "\(config.storeForDisplay) (schema \(status.schemaVersion), \(status.databaseBytes) bytes)"],
            ["identities", "\(status.identities)"],
            ["active locks", "\(status.activeLocks)"],
            ["held messages", "\(status.held)"],
            ["outbound log", "\(status.outbound)"],
            ["audit log", "\(status.audit)"],
            ["complaints", config.authservIDs.isEmpty ? "filed, NOT counted toward locks: authserv_id is not set"
                : "counted from reporters authenticated by \(config.authservIDs.sorted().joined(separator: ", "))"],
            ["reports queued", desk.oldestQueuedAt.map { "\(desk.queuedReports), oldest \(now - $0) s old (is `mailwarden desk` running?)" } ?? "0"],
            ["mode", config.mode.rawValue],
            ["socket", config.socket],
            ["limits", limitText],
            ["lock action", config.lockAction.rawValue],
        ] + rules.enumerated().map { i, rule in [i == 0 ? "identity rules" : "", "\(i + 1). \(rule)"] }
          + scanners.enumerated().map { i, s in [i == 0 ? "scanners" : "", Self.describe(s.health, host: s.host, at: s.updatedAt, now: now)] })
            .map { $0.map(TableCell.init) }).rendered)
    }

    /// `spamd 127.0.0.1:783 on mx1: up, 120 scans (8 spam), 2 failures, p50 34.4 ms p99 46.0 ms; last error …`
    static func describe(_ h: ScannerHealth, host: String, at: Int64, now: Int64) -> String {
        var text = "\(h.label) on \(host): \(h.isUp ? "up" : "DOWN"), \(h.scans) scans (\(h.spam) spam), \(h.failures) failures"
        if h.skippedTooBig > 0 { text += ", \(h.skippedTooBig) too big" }
        if let p50 = h.latencyP50, let p99 = h.latencyP99 {
            text += String(format: ", p50 %.1f ms p99 %.1f ms", Double(p50) / 1000, Double(p99) / 1000)
        }
        if let e = h.lastError, let t = h.lastErrorAt { text += "; last error \(RFC3339.format(t)): \(e)" }
        // mailwardend writes these every 5 seconds: older figures are a stopped (or retired) host's last word.
        let stale = now - at > 60 ? ", \(now - at) s ago: is mailwardend on \(host) running?" : ""
        return text + " (as of \(RFC3339.format(at))\(stale))"
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the store to a new file, safely while mailwardend runs.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: ArgumentHelp("The new file (it must not exist).", valueName: "file")) var file: String

    func run() throws {
        let (config, store) = try options.openStore()
        // Run as root, this command is now the store's owner (StoreOwner): say so when that user
        // cannot write the backup, rather than let SQLite's error blame the store.
        let directory = (file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent
        if !config.storeIsPostgreSQL && access(directory, W_OK) != 0 {
            let reason = errno == ENOENT ? "does not exist" : "is not writable by user \(getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(geteuid())")"
            throw CLIFailure("cannot write \(file): \(directory) \(reason) (run as root, this command runs as the store's owner); the store is unchanged")
        }
        // The copy holds the token key and every identity: readable by its owner only.
        umask(0o077)
        try store.backup(to: file)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print("backup written to \(file) (\(size) bytes)")
    }
}
