// What the commands share: the config file and the store it names, the admin's name for the audit
// log, the identity argument, and the parsing of durations and limits given on the command line.
import ArgumentParser
import Foundation
import MailWardenCore
import MailWardenStore

/// A failure the admin can act on: printed as `Error: …`, exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

/// `--config PATH`, and loading the config and store it names.
struct ConfigOptions: ParsableArguments {
    static let defaultPath = "/etc/mailwarden/mailwarden.conf"

    @Option(name: .customLong("config"),
            help: ArgumentHelp("The config file (default: $MAILWARDEN_CONFIG, else \(defaultPath)).", valueName: "path"))
    var explicitPath: String?

    var path: String {
        explicitPath ?? ProcessInfo.processInfo.environment["MAILWARDEN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultPath
    }

    /// The parsed config; its problems are printed as `file:line: …` and end the command with status 1.
    func loadConfig() throws -> Config {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIFailure("config file \(path) does not exist (pass --config PATH or set MAILWARDEN_CONFIG)")
        }
        do {
            return try Config.load(path: path)
        } catch {
            Output.printError(error.description)
            throw ExitCode.failure
        }
    }

    /// The config and its store. The store must exist: mailwardend creates it, owned by the user it
    /// runs as; created here (often as root) the daemon could not write to it.
    /// `creating`: only for `ingest` and `desk`, which run as the service user (the pipe transport's user=, the desk unit).
    func openStore(creating: Bool = false) throws -> (Config, any Store) {
        try openSQLStore(creating: creating)
    }

    /// `openStore`, for the one command that needs the SQL store itself (`migrate` copies it).
    func openSQLStore(creating: Bool = false) throws -> (Config, SQLStore) {
        let config = try loadConfig()
        if !config.storeIsPostgreSQL {
            try StoreOwner.become(forStoreAt: config.storePath)
            guard creating || FileManager.default.fileExists(atPath: config.storePath) else {
                throw CLIFailure("store \(config.storePath) does not exist yet: start mailwardend once to create it, or check `store` in \(path)")
            }
        }
        return (config, try SQLStore.open(config, answersTheMTA: false))
    }
}

/// `--by NAME`: who made a change, for `locked_by` and the audit log.
struct ActorOptions: ParsableArguments {
    @Option(name: .customLong("by"), help: ArgumentHelp("Your name in the audit log (default: $SUDO_USER, else $USER).", valueName: "name"))
    var explicitName: String?

    var name: String {
        let env = ProcessInfo.processInfo.environment
        return [explicitName, env["SUDO_USER"], env["USER"]].compactMap { $0 }.first { !$0.isEmpty } ?? "admin"
    }
}

/// The identity a command is about, as stored: in the one spelling (NFC) the identity rules name it in.
struct IdentityArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The identity as MailWarden names it, e.g. sasl:alice@example.net.", valueName: "identity"),
              transform: IdentityRule.composed)
    var identity: Identity

    func validate() throws {
        guard IdentityForm.holds(for: identity) else { throw ValidationError(IdentityForm.hint) }
    }

    /// The identity, for a command that sets something on it (a lock, an exemption, limits): refused
    /// when the store has never seen it and no rule of the config could name it, since what is set
    /// would never apply (`sasl:Alice@…` where the rule lower-cases, a mistyped prefix).
    func named(by config: Config, in store: any Store) throws -> Identity {
        try Self.requireNameable(identity, by: config, in: store)
        return identity
    }

    static func requireNameable(_ identity: Identity, by config: Config, in store: any Store) throws {
        guard let why = config.identityRules.whyNoRuleNames(identity),
              try store.identityRecord(of: identity, windows: [:], now: SystemClock().now()) == nil else { return }
        throw CLIFailure("\(identity) is not an identity MailWarden has seen, and \(why)")
    }
}

/// `30m`, `12h`, `7d`: a positive duration.
func parseDuration(_ text: String) throws -> TimeSpan {
    guard let span = TimeSpan(text), span.seconds > 0 else {
        throw ValidationError("use a duration such as 30m, 12h or 7d")
    }
    return span
}

/// `N/DURATION` or `none`.
func parseLimitOverride(_ text: String) throws -> LimitOverride {
    guard let value = LimitOverride(text) else {
        throw ValidationError("use N/DURATION such as 100/1h, or none for no limit")
    }
    return value
}

func parseIdentityOrder(_ text: String) throws -> IdentityOrder {
    guard let order = IdentityOrder(rawValue: text) else {
        throw ValidationError("sort by one of \(IdentityOrder.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return order
}
