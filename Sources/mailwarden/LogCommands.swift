// trace, audit: which identity sent a message, and who changed what.
import ArgumentParser
import MailWardenCore
import MailWardenStore

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find which identity sent a message, by its Message-ID (with or without <>), in the outbound log.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: ArgumentHelp("The Message-ID header's value.", valueName: "message-id")) var messageID: String
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let (config, store) = try options.openStore()
        let sent = Listing(columns: Self.columns, rows: try store.trace(messageID: messageID))
        if json { return Output.print(sent.json) }
        guard !sent.rows.isEmpty else {
            return print("no message with Message-ID \(messageID) in the outbound log (it keeps \(config.outboundLogRetention); outbound_log_retention)")
        }
        print(sent.table)
    }

    static let columns: [Column<OutboundMessage>] = [
        Column("identity") { .string($0.identity) },
        Column("queue_id") { .text($0.queueID) },
        Column("at") { .time($0.at) },
        Column("recipients") { .int($0.recipients) },
        // Who may complain of it: a complaint counts only from these organisations (or a trusted reporter).
        Column("to_domains") { .text($0.recipientDomains?.joined(separator: ",")) },
        Column("spam") { .bool($0.spam) },
        Column("scan") { .text($0.scan) },
        Column("message_id") { .text($0.messageID) },
    ]
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit log (locks, unlocks, overrides, reloads), oldest first.")

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Only entries of this last period, e.g. 1d.", valueName: "duration"), transform: parseDuration)
    var since: TimeSpan?
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let (_, store) = try options.openStore()
        let entries = Listing(columns: Self.columns, rows: try store.auditEntries(since: since.map { SystemClock().now() - $0.seconds }))
        if json { return Output.print(entries.json) }
        guard !entries.rows.isEmpty else { return print("no audit entries" + (since.map { " in the last \($0)" } ?? "")) }
        print(entries.table)
    }

    static let columns: [Column<AuditEntry>] = [
        Column("at") { .time($0.at) },
        Column("actor") { .string($0.actor) },
        Column("action") { .string($0.action) },
        Column("identity") { .text($0.identity) },
        Column("detail") { .text($0.detail) },
    ]
}
