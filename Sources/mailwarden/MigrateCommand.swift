// `mailwarden migrate --to postgresql://…`: the store named by the config, copied whole into a new one.
import ArgumentParser
import Foundation
import MailWardenCore
import MailWardenStore

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the whole store into a new, empty one: the SQLite file into PostgreSQL when several hosts are to share it.",
        discussion: """
            Stop mailwardend and the desk worker first: what they write during the copy would not be copied. \
            Identities, windows, locks and their history, overrides, held messages, the outbound and audit logs, \
            reports with their raw messages and evidence, cases, and the token key (so X-MailWarden-ID tokens \
            already sent still trace back) are copied, in one transaction: the new store holds all of it or \
            nothing. Then point `store` at the new one and start the daemons.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .customLong("to"), help: ArgumentHelp("The new store: a postgresql:// URI, or a new SQLite file.", valueName: "store"))
    var target: String

    func run() throws {
        let (config, source) = try options.openSQLStore()
        var targetConfig = config
        targetConfig.storePath = target
        guard targetConfig.storePath != config.storePath else {
            throw CLIFailure("--to names the store the config already uses: name the new one")
        }
        let sink = try SQLStore.open(targetConfig, answersTheMTA: false)
        let started = Date()
        let copied = try source.copy(to: sink) { table, rows in Output.printError("\(table): \(rows) rows so far") }
        for (table, rows) in copied where rows > 0 { print("\(table): \(rows) rows") }
        print("copied \(config.storeForDisplay) into \(targetConfig.storeForDisplay) in \(Int(Date().timeIntervalSince(started))) s; "
              + "now set `store` in \(options.path) to the new store and start mailwardend and the desk")
    }
}
