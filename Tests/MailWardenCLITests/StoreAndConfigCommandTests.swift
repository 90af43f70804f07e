import Foundation
import MailWardenCore
@testable import MailWardenStore
import Testing

@Suite struct StoreAndConfigCommandTests {
    @Test func statusReportsCountsAndTheConfigInForce() throws {
        let sandbox = try CLISandbox(settings: "mode = monitor\nlimit_spam = none\nidentity_rule = user header X-User /(?<id>\\w+)/\n")
        #expect(try sandbox.run("lock", "user:alice", "--reason", "x").status == 0)
        let status = try sandbox.run("status", "--json").jsonObject()
        #expect(status["store"] as? String == sandbox.storePath && status["config"] as? String == sandbox.configPath)
        #expect(status["schema_version"] as? Int == Schema.sqlite.count)
        #expect(status["identities"] as? Int == 1 && status["active_locks"] as? Int == 1 && status["audit"] as? Int == 1)
        #expect((status["database_bytes"] as? Int ?? 0) > 0)
        #expect(status["mode"] as? String == "monitor" && status["lock_action"] as? String == "reject")
        let limits = try #require(status["limits"] as? [String: Any])
        #expect(limits["messages"] as? String == "500/1h" && limits["spam"] is NSNull)
        #expect(status["identity_rules"] as? [String] == ["user header X-User /(?<id>\\w+)/"])

        let table = try sandbox.run("status")
        #expect(table.lines.contains("limits          messages 500/1h, recipients 2000/1h, spam none, complaints 3/1d"))
        #expect(table.lines.contains("identity rules  1. user header X-User /(?<id>\\w+)/"))
    }

    /// Each host's scanners are listed with the host; figures a host stopped writing say so, since
    /// a stopped daemon's last "up" is no news of its scanner.
    @Test func statusNamesEachHostsScannersAndWhichFiguresAreStale() throws {
        let sandbox = try CLISandbox()
        let store = try SQLStore(path: sandbox.storePath)
        let now = Int64(Date().timeIntervalSince1970)
        let spamd = ScannerHealth(label: "spamd 127.0.0.1:783", scans: 12, spam: 2, failures: 0, skippedTooBig: 0, lastError: nil,
                                  lastErrorAt: nil, lastSuccessAt: now - 2, latencyP50: 30_000, latencyP99: 40_000)
        try store.saveScannerHealth([spamd], host: "mx1", at: now - 3)
        try store.saveScannerHealth([spamd], host: "mx2", at: now - 3600)
        let lines = try sandbox.run("status").lines.filter { $0.contains("spamd 127.0.0.1:783") }
        #expect(lines.count == 2)
        #expect(lines.first { $0.contains(" on mx1: up, 12 scans (2 spam)") }.map { !$0.contains("running?") } == true, "\(lines)")
        #expect(lines.first { $0.contains(" on mx2: up") }?.contains(" s ago: is mailwardend on mx2 running?)") == true, "\(lines)")
    }

    @Test func backupWritesAReadableCopyAndNeverOverwrites() throws {
        let sandbox = try CLISandbox()
        #expect(try sandbox.run("lock", "sasl:a@example.net", "--reason", "kept").status == 0)
        let copy = sandbox.dir.appendingPathComponent("copy.db").path
        let run = try sandbox.run("backup", copy)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("backup written to \(copy)"))
        let mode = try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try SQLStore(path: copy).activeLocks().map(\.reason) == ["kept"])

        let again = try sandbox.run("backup", copy)
        #expect(again.status == 1 && again.stderr.contains("already exists"), "\(again.stderr)")
    }

    /// Run as root, the CLI becomes the store's owner: a backup into a directory that user cannot
    /// write says so, instead of SQLite's "check the permissions of" the store, which is fine.
    @Test(.enabled(if: geteuid() == 0, "needs root to own the store as another user"))
    func aBackupWhereTheStoresOwnerCannotWriteNamesThatDirectory() throws {
        let sandbox = try CLISandbox()
        let nobody = try #require(getpwnam("nobody"))
        for path in [sandbox.dir.path, sandbox.storePath] { chown(path, nobody.pointee.pw_uid, nobody.pointee.pw_gid) }
        let rootOnly = sandbox.dir.appendingPathComponent("root-only")
        try FileManager.default.createDirectory(at: rootOnly, withIntermediateDirectories: false)
        let copy = rootOnly.appendingPathComponent("copy.db").path
        let run = try sandbox.run("backup", copy)
        #expect(run.status == 1)
        #expect(run.stderr == "Error: cannot write \(copy): \(rootOnly.path) is not writable by user nobody (run as root, this command runs as the store's owner); the store is unchanged\n")
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    @Test func checkConfigReportsFileAndLineOfEachProblem() throws {
        let sandbox = try CLISandbox()
        #expect(try sandbox.run("check-config").stdout == "config OK: \(sandbox.configPath)\n")

        try sandbox.writeConfig("store = \(sandbox.storePath)\nlimit_messages = lots\nmode = loud\n")
        let run = try sandbox.run("check-config")
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(sandbox.configPath):2: limit_messages must be N/DURATION"), "\(run.stderr)")
        #expect(run.stderr.contains("\(sandbox.configPath):3: mode must be one of enforce, monitor"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(try sandbox.run("locks").status == 1, "every command refuses a bad config")

        try sandbox.writeConfig("store = \(sandbox.dir.path)/missing/mailwarden.db\n")
        let missing = try sandbox.run("check-config")
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
    }

    /// A PostgreSQL store has no directory to look for, and its password is never shown.
    @Test func checkConfigPassesAPostgreSQLStoreWithoutShowingItsPassword() throws {
        let sandbox = try CLISandbox()
        try sandbox.writeConfig("store = postgresql://mailwarden:s3cret@db.example.net/mailwarden\n")
        let run = try sandbox.run("check-config")
        #expect(run.status == 0 && run.stdout == "config OK: \(sandbox.configPath)\n", "\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains("s3cret"))
    }

    @Test func commandsRefuseToCreateAStore() throws {
        let sandbox = try CLISandbox()
        let elsewhere = sandbox.dir.appendingPathComponent("none.db").path
        try sandbox.writeConfig("store = \(elsewhere)\n")
        let run = try sandbox.run("locks")
        #expect(run.status == 1 && run.stderr.contains("start mailwardend once"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
    }

    @Test func configReferenceIsACommentedConfigOfTheDefaultsWithThePackagesSocket() throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run(arguments: ["config-reference", "--format", "conf"], config: .none)
        #expect(run.status == 0)
        // Only what the Debian package sets otherwise is not commented out: the socket Postfix's chrooted smtpd reaches.
        let packaged = ["socket = unix:/var/spool/postfix/mailwarden/mailwarden.sock", "socket_group = postfix"]
        #expect(run.lines.filter { !$0.isEmpty && !$0.hasPrefix("#") } == packaged)
        #expect(run.lines.allSatisfy { $0.count <= 100 || !$0.contains(" ") }, "doc lines wrap at 100 columns")
        #expect(run.lines.filter { $0.hasPrefix("#spam_header = ") }.count == 3)
        #expect(run.lines.contains("#limit_messages = 500/1h"))

        // As shipped (all commented out) and with every setting line uncommented, it means the defaults.
        let keys = Set(Settings.all.map(\.key))
        let uncommented = run.lines.map { line in
            let key = line.dropFirst().prefix { $0 != " " }
            return line.hasPrefix("#") && keys.contains(String(key)) ? String(line.dropFirst()) : line
        }.joined(separator: "\n")
        let defaults = Config.defaults()
        let withoutPackaged = { (text: String) in text.split(separator: "\n").filter { !packaged.contains(String($0)) }.joined(separator: "\n") }
        for text in [run.stdout, uncommented].map(withoutPackaged) {
            let config = try Config.parse(text: text, file: "reference.conf")
            #expect(config.limits == defaults.limits)
            #expect(config.identityRules.rules.map(\.description) == defaults.identityRules.rules.map(\.description))
            #expect(config.spamHeaders.map(\.name) == ["X-Spam-Flag", "X-Spam-Status", "X-Spam"])
            #expect(config.socket == defaults.socket && config.storePath == defaults.storePath && config.lockReply == defaults.lockReply)
            #expect(config.exempt.isEmpty && config.notifyEmail == nil && config.notifyCommand == nil)
        }
        #expect(withoutPackaged(uncommented).split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.count
                    == Settings.all.reduce(0) { $0 + max($1.defaults.count, 1) })
        let shipped = try Config.parse(text: run.stdout, file: "mailwarden.conf")
        #expect(shipped.socket == "unix:/var/spool/postfix/mailwarden/mailwarden.sock" && shipped.socketGroup == "postfix")
    }

    @Test func configReferenceMarkdownHasOneRowPerSetting() throws {
        let sandbox = try CLISandbox()
        let lines = try sandbox.run(arguments: ["config-reference", "--format", "markdown"], config: .none).lines.filter { !$0.isEmpty }
        #expect(lines.prefix(2) == ["| Setting | Type | Default | Meaning |", "|---|---|---|---|"])
        #expect(lines.count == Settings.all.count + 2)
        #expect(lines.contains { $0.hasPrefix("| `limit_messages` | N/DURATION or none | `500/1h` | ") })
        #expect(lines.contains { $0.hasPrefix("| `exempt` | list, repeatable (items separated by commas or spaces) | (none) | ") })
        // Pipes in the docs (identity_rule's forms) are escaped so the row keeps four cells.
        #expect(lines.allSatisfy { $0.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count == 5 })
    }

    @Test func theConfigPathComesFromTheEnvironmentWithoutConfigOption() throws {
        let sandbox = try CLISandbox()
        let run = try sandbox.run(arguments: ["check-config"], config: .environment)
        #expect(run.status == 0 && run.stdout == "config OK: \(sandbox.configPath)\n", "\(run.stderr)")
    }
}
