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
        if json {
            return Output.print(.object([
                ("config", .string(options.path)),
                ("store", .string(store.path)),
                ("schema_version", .int(status.schemaVersion)),
                ("database_bytes", .number(status.databaseBytes)),
                ("identities", .int(status.identities)),
                ("active_locks", .int(status.activeLocks)),
                ("held", .int(status.held)),
                ("outbound", .int(status.outbound)),
                ("audit", .int(status.audit)),
                ("mode", .string(config.mode.rawValue)),
                ("socket", .string(config.socket)),
                ("limits", .object(limits)),
                ("lock_action", .string(config.lockAction.rawValue)),
                ("identity_rules", .array(rules.map(JSONValue.string))),
            ]))
        }
        let limitText = Counter.allCases.map { "\($0.rawValue) \(config.limits[$0]?.description ?? "none")" }.joined(separator: ", ")
        print(TextTable(rows: ([
            ["config", options.path],
            ["store", "\(store.path) (schema \(status.schemaVersion), \(status.databaseBytes) bytes)"],
            ["identities", "\(status.identities)"],
            ["active locks", "\(status.activeLocks)"],
            ["held messages", "\(status.held)"],
            ["outbound log", "\(status.outbound)"],
            ["audit log", "\(status.audit)"],
            ["mode", config.mode.rawValue],
            ["socket", config.socket],
            ["limits", limitText],
            ["lock action", config.lockAction.rawValue],
        ] + rules.enumerated().map { i, rule in [i == 0 ? "identity rules" : "", "\(i + 1). \(rule)"] })
            .map { $0.map(TableCell.init) }).rendered)
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the store to a new file, safely while mailwardend runs.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: ArgumentHelp("The new file (it must not exist).", valueName: "file")) var file: String

    func run() throws {
        let (_, store) = try options.openStore()
        // The copy holds the token key and every identity: readable by its owner only.
        umask(0o077)
        try store.backup(to: file)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print("backup written to \(file) (\(size) bytes)")
    }
}
