// identities, show, limits, exempt: who sends how much, one identity in full, and its own settings.
import ArgumentParser
import MailWardenCore
import MailWardenStore

/// How a listing is printed.
enum ListingFormat: String, EnumerableFlag {
    case table, json, csv

    static func help(for value: ListingFormat) -> ArgumentHelp? {
        switch value {
        case .table: return "Print an aligned table (the default)."
        case .json: return "Print one JSON array."
        case .csv: return "Print CSV with a header row."
        }
    }
}

struct Identities: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List identities with their totals, or with --since their mail of a recent period.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Show only the first N.") var top: Int?
    @Option(help: ArgumentHelp("Sort by messages, spam or recipients, highest first.", valueName: "counter"),
            transform: parseIdentityOrder)
    var sort: IdentityOrder = .messages
    @Option(help: ArgumentHelp("Count only mail of this last period, e.g. 1h or 7d, from the outbound log.", valueName: "duration"),
            transform: parseDuration)
    var since: TimeSpan?
    @Flag var format: ListingFormat = .table

    func validate() throws {
        if let top, top < 1 { throw ValidationError("--top must be 1 or more") }
    }

    func run() throws {
        let (_, store) = try options.openStore()
        let rows = try store.identities(since: since.map { SystemClock().now() - $0.seconds }, orderBy: sort, top: top)
        // Over a period the outbound log has no complaints, refusals or locks to count.
        let columns = since == nil ? Self.columns : Self.columns.filter { !["complaints", "refused", "auto_locks"].contains($0.key) }
        let listing = Listing(columns: columns, rows: rows)
        switch format {
        case .json: Output.print(listing.json)
        case .csv: print(listing.csv, terminator: "")
        case .table: print(rows.isEmpty ? "no identities" + (since.map { " sent mail in the last \($0)" } ?? " yet") : listing.table)
        }
    }

    static let columns: [Column<IdentitySummary>] = [
        Column("identity") { .string($0.identity) },
        Column("messages") { .int($0.messages) },
        Column("recipients") { .int($0.recipients) },
        Column("spam") { .int($0.spam) },
        Column("complaints") { .int($0.complaints) },
        Column("refused") { .int($0.refused) },
        Column("auto_locks") { .int($0.autoLocks) },
        Column("first_seen") { .time($0.firstSeen) },
        Column("last_seen") { .time($0.lastSeen) },
        Column("locked") { .bool($0.locked) },
    ]
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one identity: totals, current windows against its limits, its own settings, lock history.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var target: IdentityArgument
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let (config, store) = try options.openStore()
        guard let detail = try store.detail(of: target.identity, config: config, now: SystemClock().now()) else {
            throw CLIFailure("\(target.identity) has not been seen by MailWarden (see 'mailwarden identities')")
        }
        let exemption = Self.exemption(of: detail, config: config)
        if json { return Output.print(Self.json(detail, exemption: exemption)) }

        let s = detail.summary
        print(TextTable(rows: [
            ["identity", s.identity], ["first seen", Output.time(s.firstSeen)], ["last seen", Output.time(s.lastSeen)],
            ["totals", "\(s.messages) messages, \(s.recipients) recipients, \(s.spam) spam, \(s.complaints ?? 0) complaints, "
                + "\(s.refused ?? 0) refused while locked, \(s.autoLocks ?? 0) automatic locks"],
            ["locked", detail.activeLock.map { "yes, since \(Output.time($0.lockedAt)) by \($0.lockedBy): \($0.reason)" } ?? "no"],
            ["exempt", exemption.map { "yes, by \($0)" } ?? "no"],
        ].map { $0.map(TableCell.init) }).rendered)
        print("\nwindows now:")
        print(Listing(columns: Self.windowColumns(detail), rows: detail.windows).table)
        if !detail.recent.isEmpty {
            print("\nlatest messages:")
            print(Listing(columns: Self.recentColumns, rows: detail.recent).table)
        }
        guard !detail.locks.isEmpty else { return print("\nno locks so far") }
        print("\nlock history:")
        print(Listing(columns: Self.historyColumns, rows: detail.locks).table)
    }

    /// `trace`'s columns without the identity, which `show` already names.
    static let recentColumns = Trace.columns.filter { $0.key != "identity" }

    /// Where an exemption comes from, named like `limit_from`: `override` ('mailwarden exempt') or
    /// `config` (its `exempt` list).
    static func exemption(of detail: IdentityDetail, config: Config) -> String? {
        if detail.override?.exempt == true { return "override" }
        return config.exempt.contains(detail.summary.identity) ? "config" : nil
    }

    static func windowColumns(_ detail: IdentityDetail) -> [Column<WindowFigure>] {
        [
            Column("counter") { .string($0.counter.rawValue) },
            Column("window") { .string($0.window.description) },
            Column("total") { .int($0.total) },
            Column("limit") { .text($0.limit?.description) },
            Column("limit_from") { .string(detail.override?.limits[$0.counter] == nil ? "config" : "override") },
        ]
    }

    static let historyColumns: [Column<LockHistoryEntry>] = [
        Column("locked_at") { .time($0.lock.lockedAt) },
        Column("locked_by") { .string($0.lock.lockedBy) },
        Column("reason") { .string($0.lock.reason) },
        Column("lifted_at") { .time($0.liftedAt) },
        Column("lifted_by") { .text($0.liftedBy) },
        Column("lift_reason") { .text($0.liftReason) },
    ]

    static func json(_ detail: IdentityDetail, exemption: String?) -> JSONValue {
        let windowFields = windowColumns(detail).filter { $0.key != "counter" }
        let override: JSONValue = detail.override.map { o in
            .object([
                ("limits", .object(Counter.allCases.compactMap { c in o.limits[c].map { (c.rawValue, .string($0.description)) } })),
                ("exempt", .bool(o.exempt)),
            ])
        } ?? .null
        let history: [JSONValue] = detail.locks.map { entry in
            guard case .object(let lock) = entry.lock.json else { return .null }
            return .object(lock + [("lifted_at", .time(entry.liftedAt)), ("lifted_by", .text(entry.liftedBy)),
                                   ("lift_reason", .text(entry.liftReason))])
        }
        return .object(Identities.columns.fields(of: detail.summary) + [
            ("exempt", .bool(exemption != nil)),
            ("exempt_by", .text(exemption)),
            ("windows", .object(detail.windows.map { ($0.counter.rawValue, .object(windowFields.fields(of: $0))) })),
            ("override", override),
            ("lock", detail.activeLock?.json ?? .null),
            ("lock_history", .array(history)),
            ("recent_messages", .array(detail.recent.map { .object(recentColumns.fields(of: $0)) })),
        ])
    }
}

struct Limits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give an identity limits of its own (N/DURATION, or none for no limit), or --reset them to the config's.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: IdentityArgument
    @Option(help: ArgumentHelp("Messages limit, e.g. 100/1h or none.", valueName: "limit"), transform: parseLimitOverride)
    var messages: LimitOverride?
    @Option(help: ArgumentHelp("Recipients limit.", valueName: "limit"), transform: parseLimitOverride)
    var recipients: LimitOverride?
    @Option(help: ArgumentHelp("Spam verdicts limit.", valueName: "limit"), transform: parseLimitOverride)
    var spam: LimitOverride?
    @Option(help: ArgumentHelp("Complaints limit.", valueName: "limit"), transform: parseLimitOverride)
    var complaints: LimitOverride?
    @Flag(help: "Drop the identity's own limits: the config's apply again.") var reset = false

    var given: [Counter: LimitOverride] {
        [Counter.messages: messages, .recipients: recipients, .spam: spam, .complaints: complaints].compactMapValues { $0 }
    }

    func validate() throws {
        if reset && !given.isEmpty { throw ValidationError("--reset takes no limits: reset first, then set the ones you want") }
        if !reset && given.isEmpty { throw ValidationError("give --messages, --recipients, --spam or --complaints, or --reset") }
    }

    func run() throws {
        let (config, store) = try options.openStore()
        let now = SystemClock().now()
        if reset {
            let dropped = try store.resetLimits(of: target.identity, by: actor.name, at: now)
            return print(dropped ? "\(target.identity) follows the config's limits again"
                                 : "\(target.identity) had no limits of its own; the config's apply")
        }
        try store.setLimits(given, of: try target.named(by: config, in: store), by: actor.name, at: now)
        let list = Counter.allCases.compactMap { c in given[c].map { "\(c.rawValue) \($0)" } }.joined(separator: ", ")
        print("\(target.identity): \(list) (other counters unchanged; see 'mailwarden show \(target.identity)')")
    }
}

struct Exempt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exempt an identity from locking (it is still counted), or --remove the exemption.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var target: IdentityArgument
    @Flag(help: "End the exemption.") var remove = false

    func run() throws {
        let (config, store) = try options.openStore()
        let identity = remove ? target.identity : try target.named(by: config, in: store)
        let changed = try store.setExempt(!remove, identity: identity, by: actor.name, at: SystemClock().now())
        let inConfig = config.exempt.contains(identity)
        switch (remove, changed) {
        case (false, true): print("\(identity) is exempt from locking (still counted)")
        case (false, false): print("\(identity) was already exempt")
        case (true, true):
            print("\(identity) is no longer exempt" + (inConfig ? " here, but the config's `exempt` in \(options.path) still names it" : ""))
        case (true, false) where inConfig:
            throw CLIFailure("\(identity) is exempt by the config's `exempt` setting: remove it from \(options.path) and reload mailwardend")
        case (true, false):
            throw CLIFailure("\(identity) is not exempt (see 'mailwarden show \(identity)')")
        }
    }
}
