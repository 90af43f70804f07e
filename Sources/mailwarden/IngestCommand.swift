// `mailwarden ingest`: the abuse desk's pipe transport (Postfix pipe(8), Sendmail prog mailer) and
// backlog import. As a transport its exit status is a promise to the MTA: 0 means stored (or stored
// before), and everything else, even a bad argument, is 75 (EX_TEMPFAIL) so the report stays queued
// and is retried; pipe(8) would bounce 1, 2, 64 or 78, losing it.
import ArgumentParser
import Foundation
import Glibc
import MailWardenCore
import MailWardenDesk
import MailWardenStore

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store abuse reports: one message on stdin (a pipe transport), or a backlog from --mbox/--maildir.",
        discussion: "Exit status: 0 stored or already stored; 75 anything else, so the MTA keeps the message and retries.")

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("Envelope sender, as pipe(8) passes ${sender}.", valueName: "address")) var sender: String?
    @Option(help: ArgumentHelp("Envelope recipient, as pipe(8) passes ${recipient}.", valueName: "address")) var recipient: String?
    @Option(help: ArgumentHelp("Import every message of an mbox file.", valueName: "file")) var mbox: String?
    @Option(help: ArgumentHelp("Import every message of a Maildir (cur and new).", valueName: "dir")) var maildir: String?
    @Flag(help: "Print one JSON object per message (NDJSON).") var json = false

    /// Longest message read from stdin; the parser reads less still (ReportLimits).
    static let maxMessageBytes = 64 << 20

    func run() throws {
        let (config, store) = try options.openStore(creating: true)
        let desk = AbuseDesk(config: config, cases: store, policy: store, clock: SystemClock())
        if mbox != nil || maildir != nil {
            try importBacklog(desk)
            return
        }
        let raw = try Self.readStandardInput()
        let result = try desk.ingest(raw, sender: sender, recipient: recipient)
        print(json ? result.json.rendered(indent: nil) : "\(result.status.rawValue): \(result.logSummary)")
    }

    static func readStandardInput() throws -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIFailure("cannot read the message from stdin: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            // Past the cap the rest is read and dropped: the report is stored as far as it goes.
            if data.count < maxMessageBytes { data += chunk[..<min(n, maxMessageBytes - data.count)] }
        }
        return data
    }

    /// Imports a backlog, one message at a time; a message that fails is counted and the import goes on.
    func importBacklog(_ desk: AbuseDesk) throws {
        let messages: [[UInt8]]
        if let mbox {
            guard let data = FileManager.default.contents(atPath: mbox) else { throw CLIFailure("cannot read mbox \(mbox)") }
            messages = MailboxSplitter.mbox([UInt8](data))
        } else {
            messages = try MailboxSplitter.maildir(maildir!)
        }
        var tally: [String: Int] = [:]
        let progress = isatty(2) == 1 && !json
        for (i, raw) in messages.enumerated() {
            do {
                let result = try desk.ingest(raw, sender: sender, recipient: recipient)
                tally[result.status.rawValue, default: 0] += 1
                if json { print(result.json.rendered(indent: nil)) }
            } catch {
                tally["failed", default: 0] += 1
                Output.printError("message \(i + 1): \(error)")
            }
            if progress { Self.drawProgress(done: i + 1, of: messages.count) }
        }
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        let summary = ["filed", "triage", "ignored", "duplicate", "failed"].map { "\($0) \(tally[$0] ?? 0)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("\(messages.count) messages: \(summary)\n".utf8))
        if tally["failed", default: 0] > 0 { throw ExitCode(75) }
    }

    static func drawProgress(done: Int, of total: Int) {
        let width = 40
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
    }

    /// Runs `ingest` with the transport's exit-status contract (see the top of this file).
    static func mainAsTransport(_ arguments: [String]) -> Never {
        do {
            let command = try parse(arguments)
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { Output.printError(message) }
            Glibc.exit(75)
        }
    }
}

/// Splits a backlog into messages.
enum MailboxSplitter {
    /// mbox: messages start at lines beginning `From `; `>From ` quoting is undone (mboxrd).
    static func mbox(_ data: [UInt8]) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var current: [UInt8] = []
        var inMessage = false
        for line in data.split(separator: 10, omittingEmptySubsequences: false) {
            if line.starts(with: Array("From ".utf8)) {
                if inMessage { messages.append(current) }
                current = []
                inMessage = true
                continue
            }
            guard inMessage else { continue }
            var l = Array(line)
            if l.first == 62, l.drop(while: { $0 == 62 }).starts(with: Array("From ".utf8)) { l.removeFirst() }
            current += l + [10]
        }
        if inMessage { messages.append(current) }
        return messages
    }

    /// Maildir: every file in cur/ and new/, in name order (delivery order for standard names).
    static func maildir(_ path: String) throws -> [[UInt8]] {
        var files: [String] = []
        for sub in ["cur", "new"] {
            let dir = (path as NSString).appendingPathComponent(sub)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            files += names.filter { !$0.hasPrefix(".") }.map { (dir as NSString).appendingPathComponent($0) }
        }
        guard !files.isEmpty || FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("cur")) else {
            throw CLIFailure("\(path) is not a Maildir (no cur/ or new/)")
        }
        return files.sorted().compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
    }
}
