// Runs the built `mailwarden` executable as a process against a private config and store.
//
// Where the executable is found, first match wins:
//   1. $MAILWARDEN_CLI, if set (a path to a `mailwarden` binary);
//   2. beside the test bundle: SwiftPM builds test bundles and executables into the same
//      `.build/<triple>/<configuration>/` directory, and `swift test` builds every product first;
//   3. `.build/debug/mailwarden` under the package root, found from this file's path.
// So `swift build && swift test --filter MailWardenCLITests` is all it takes.
import Foundation
import MailWardenCore
import MailWardenStore
import Testing

enum MailWardenExecutable {
    static let path: String = {
        if let explicit = ProcessInfo.processInfo.environment["MAILWARDEN_CLI"], !explicit.isEmpty { return explicit }
        let besideTests = Bundle.main.executableURL.map {
            $0.deletingLastPathComponent().appendingPathComponent("mailwarden").path
        }
        if let besideTests, FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/mailwarden").path
    }()
}

/// What one run of the CLI did.
struct CLIRun {
    let status: Int32
    let stdout: String
    let stderr: String

    /// stdout parsed as JSON (the CLI prints exactly one document with --json).
    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    func jsonArray() throws -> [[String: Any]] { try #require(try json() as? [[String: Any]], "not a JSON array: \(stdout)") }
    func jsonObject() throws -> [String: Any] { try #require(try json() as? [String: Any], "not a JSON object: \(stdout)") }
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
}

/// One test's own directory with a config file and the store it names; removed afterwards.
final class CLISandbox {
    let dir: URL
    var configPath: String { dir.appendingPathComponent("mailwarden.conf").path }
    var storePath: String { dir.appendingPathComponent("mailwarden.db").path }
    /// The admin name the CLI sees ($USER; $SUDO_USER is removed).
    static let user = "tester"

    /// `settings` are config lines added after `store = …`.
    init(settings: String = "") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try writeConfig("store = \(storePath)\n" + settings)
        _ = try store()  // the CLI does not create stores; mailwardend does
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func writeConfig(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func store() throws -> SQLStore { try SQLStore(path: storePath) }

    /// Runs `mailwarden ARGUMENTS… --config <this sandbox's config>`.
    func run(_ arguments: String...) throws -> CLIRun { try run(arguments: arguments) }

    /// How a run is told about the sandbox's config.
    enum ConfigSource { case option, environment, none }

    /// `environment` is added to this process's own. `journalOn` (1: stdout, 2: stderr) makes that
    /// output the journal's stream as systemd names it in JOURNAL_STREAM (its device and inode).
    /// `program`: another executable built beside it (mailwardend) instead of `mailwarden`.
    func run(arguments: [String], config: ConfigSource = .option, environment extra: [String: String] = [:],
             journalOn: Int32? = nil, program: String? = nil) throws -> CLIRun {
        let process = Process()
        let cli = URL(fileURLWithPath: MailWardenExecutable.path)
        process.executableURL = program.map { cli.deletingLastPathComponent().appendingPathComponent($0) } ?? cli
        process.arguments = arguments + (config == .option ? ["--config", configPath] : [])
        var environment = ProcessInfo.processInfo.environment
        environment["MAILWARDEN_CONFIG"] = config == .environment ? configPath : nil
        environment["SUDO_USER"] = nil
        environment["JOURNAL_STREAM"] = nil  // as on a terminal, even when the tests run under systemd
        environment["USER"] = Self.user
        environment.merge(extra) { _, added in added }
        // Files rather than pipes: no deadlock whatever the output size.
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        try Data().write(to: out)
        try Data().write(to: err)
        if let journalOn {
            var info = stat()
            stat((journalOn == 1 ? out : err).path, &info)
            environment["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        }
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus,
                      stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
    }
}
