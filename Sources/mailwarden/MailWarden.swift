// mailwarden: the admin CLI. It reads the config mailwardend runs with and works on the same store
// (SQLite in WAL mode, so while the milter runs). Exit status: 0 done, 1 failed (the message says
// what to do), 64 bad usage; `ingest` keeps a mail transport's contract instead (0 or 75).
import ArgumentParser
import Foundation

@main
struct MailWarden: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailwarden",
        abstract: "Inspect and change MailWarden's locks, identities, limits and abuse cases.",
        subcommands: [
            Locks.self, Lock.self, Unlock.self, Held.self,
            Identities.self, Show.self, Limits.self, Exempt.self,
            Ingest.self, DeskCommand.self, Cases.self, CaseCommand.self, TriageCommand.self,
            Trace.self, Audit.self, Status.self, Backup.self, Migrate.self,
            CheckConfig.self, ConfigReference.self,
        ])

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "ingest" { Ingest.mainAsTransport(Array(arguments.dropFirst())) }
        // The desk worker's parser process: started by `desk` (and `ingest --wait`), not a command for people.
        if arguments.first == "desk-parser" { ParserProcess.main(Array(arguments.dropFirst())) }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
