import Foundation
import MailWardenCore
import MailWardenStore
import Testing

/// The desk worker and the backlog import with the real parser process. Debug builds break a parse
/// on demand (MAILWARDEN_TEST_PARSER_FAULTS=1 and an X-MailWarden-Test-Fault header), as a parser bug
/// on a hostile report would: the parser process is pipelined (it reads the next report while the
/// one before is filed), and a failure must still cost only the report that caused it.
@Suite struct DeskCommandTests {
    static let faults = ["MAILWARDEN_TEST_PARSER_FAULTS": "1"]

    static func report(_ n: Int, fault: String? = nil) -> String {
        (fault.map { "X-MailWarden-Test-Fault: \($0)\n" } ?? "") + "Subject: spam \(n)\n\nSpam from 192.0.2.\(n) hit our trap.\n"
    }

    /// Each line of NDJSON as `status report_id [reason]` (the desk's warnings about its config are
    /// plain lines).
    static func outcomes(_ run: CLIRun) throws -> [String] {
        try run.lines.filter { $0.hasPrefix("{") }.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            let reason = (object["reason"] as? String).map { " \($0)" } ?? ""
            return "\(object["status"] ?? "?") \(object["report_id"] ?? "?")\(reason)"
        }
    }

    /// `mailwarden desk` started as systemd starts it, with no signal blocked (a test thread's
    /// blocked signals would otherwise pass to it), its stdout in a file; returned once it has started.
    static func startDesk(_ sandbox: CLISandbox, environment extra: [String: String] = [:]) throws -> (pid: pid_t, out: String) {
        let out = sandbox.dir.appendingPathComponent("desk.out").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let arguments = [MailWardenExecutable.path, "desk", "--config", sandbox.configPath]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let environment = ProcessInfo.processInfo.environment.merging(extra) { _, added in added }
        var envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in envp { free(e) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, MailWardenExecutable.path, &actions, &attributes, &argv, &envp) == 0)
        let started = Date()
        while !((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("started"), Date().timeIntervalSince(started) < 10 {
            usleep(20_000)
        }
        return (pid, out)
    }

    /// Waits (at most `seconds`, then kills) for the desk to end; its wait status.
    static func waitForDesk(_ pid: pid_t, seconds: Double) -> Int32 {
        let deadline = Date(timeIntervalSinceNow: seconds)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        return status
    }

    /// SIGTERM ends the worker by its own exit, once the lock notices it handed over are sent; it
    /// used to die of the signal, notices still queued.
    @Test func sigtermStopsTheWorkerByItsOwnExit() throws {
        let sandbox = try CLISandbox()
        let desk = try Self.startDesk(sandbox)
        kill(desk.pid, SIGTERM)
        let status = Self.waitForDesk(desk.pid, seconds: 20)
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "wait status \(status): ended by signal \(status & 0x7f)")
    }

    /// A worker stuck in one report (here a parse that would take all of its 60 s budget) is
    /// stopped 20 s after SIGTERM (StopRequest.patience), as a kill would: that report stays queued
    /// for the next start, and the parser it left behind ends too.
    @Test func sigtermStopsAWorkerStuckInOneReportAfterTwentySeconds() throws {
        let sandbox = try CLISandbox(settings: "desk_parse_timeout = 60s\n")
        let store = try sandbox.store()
        let id = try #require(try store.enqueue([RawReport(receivedAt: 1_800_000_000, envelopeSender: nil, envelopeRecipient: "abuse@example.net",
                                                           queueID: nil, raw: Array(Self.report(1, fault: "loop").utf8))]).first).reportID
        let desk = try Self.startDesk(sandbox, environment: Self.faults)
        // The parse is in hand once the parser process runs (pgrep -P: the desk's children).
        let deadline = Date(timeIntervalSinceNow: 10)
        while Self.children(of: desk.pid).isEmpty, Date() < deadline { usleep(20_000) }
        let parser = try #require(Self.children(of: desk.pid).first)
        usleep(300_000)
        kill(desk.pid, SIGTERM)
        let signalled = Date()
        let status = Self.waitForDesk(desk.pid, seconds: 40)
        let waited = Date().timeIntervalSince(signalled)
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "wait status \(status): ended by signal \(status & 0x7f)")
        #expect(waited >= 19 && waited < 35, "stopped \(waited) s after the signal")
        #expect(try store.queuedReportIDs(limit: 10) == [id], "the report in hand stays queued")
        let orphanDeadline = Date(timeIntervalSinceNow: 5)
        while kill(parser, 0) == 0, Date() < orphanDeadline { usleep(50_000) }
        #expect(kill(parser, 0) != 0, "the parser process \(parser) ended with its worker")
    }

    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
        }
    }

    @Test func aReportThatOutrunsOrKillsTheParserCostsItselfAndTheReportsAroundItAreFiled() throws {
        let sandbox = try CLISandbox(settings: "desk_parse_timeout = 1s\n")
        let store = try sandbox.store()
        let raws = [Self.report(1, fault: "loop"), Self.report(2), Self.report(3, fault: "trap"), Self.report(4)]
        let ids = try store.enqueue(raws.map {
            RawReport(receivedAt: 1_800_000_000, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil, raw: Array($0.utf8))
        }).map(\.reportID)
        let run = try sandbox.run(arguments: ["desk", "--once", "--json"], environment: Self.faults)
        #expect(run.status == 0, "\(run.stderr)")
        let outcomes = try Self.outcomes(run)
        try #require(outcomes.count == 6, "\(outcomes)")
        #expect(outcomes[0] == "retry \(ids[0]) parser over its 1 s budget")
        #expect(outcomes[1] == "filed \(ids[1])")
        #expect(outcomes[2].hasPrefix("retry \(ids[2]) parser died"))
        #expect(outcomes[3] == "filed \(ids[3])")
        #expect(outcomes[4] == "triage \(ids[0]) parser over its 1 s budget", "given up on at its second failure")
        #expect(outcomes[5].hasPrefix("triage \(ids[2]) parser died"))
        #expect(try store.triageQueue().map(\.id) == [ids[0], ids[2]])
        #expect(try store.queuedReportIDs(limit: 10).isEmpty)
    }

    /// A parser that fails on every report (a bad build, a memory limit set too low) is not the
    /// reports' fault: they stay queued, their failures uncounted, and the run exits 75; none goes
    /// to triage. Once the parser works again, they are filed.
    @Test func aParserThatFailsOnEveryReportSendsNoneToTriage() throws {
        let sandbox = try CLISandbox()
        let store = try sandbox.store()
        let ids = try store.enqueue((1...3).map {
            RawReport(receivedAt: 1_800_000_000, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil, raw: Array(Self.report($0).utf8))
        }).map(\.reportID)
        for _ in 1...3 {
            let run = try sandbox.run(arguments: ["desk", "--once"], environment: ["MAILWARDEN_TEST_PARSER_FAULTS": "all"])
            #expect(run.status == 75, "\(run.stderr)")
            #expect(run.stdout.contains("the parser fails on a known-good report too"), "\(run.stdout)")
        }
        #expect(try store.triageQueue().isEmpty)
        #expect(try store.queuedReportIDs(limit: 10) == ids)
        let run = try sandbox.run(arguments: ["desk", "--once", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.outcomes(run) == ids.map { "filed \($0)" })
    }

    /// A report the parser gave up on goes back to the queue on an admin's word, and is filed once
    /// the parser reads it; the audit log says who sent it back.
    @Test func aReportGivenUpOnIsRequeuedAndFiled() throws {
        let sandbox = try CLISandbox()
        let store = try sandbox.store()
        let id = try store.enqueue(RawReport(receivedAt: 1_800_000_000, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil,
                                             raw: Array(Self.report(5, fault: "trap").utf8))).reportID
        for _ in 1...2 { _ = try sandbox.run(arguments: ["desk", "--once"], environment: Self.faults) }
        #expect(try store.triageQueue().map(\.id) == [id])
        let requeue = try sandbox.run(arguments: ["triage", "requeue", String(id), "--by", "ops"])
        #expect(requeue.status == 0 && requeue.stdout.contains("report \(id) queued for the desk again"), "\(requeue.stderr)")
        #expect(try store.triageQueue().isEmpty && store.queuedReportIDs(limit: 10) == [id])
        // The parser works again (no fault injected).
        let run = try sandbox.run(arguments: ["desk", "--once", "--json"])
        #expect(try Self.outcomes(run) == ["filed \(id)"])
        let again = try sandbox.run(arguments: ["triage", "requeue", String(id), "--by", "ops"])
        #expect(again.status != 0 && again.stderr.contains("not in triage"), "\(again.stderr)")
        #expect(try sandbox.run(arguments: ["audit"]).stdout.contains("triage-requeue"))
    }

    /// The parser reads the next report while the one before is filed. A filing that waits (here on
    /// another writer's lock) longer than the parse budget does not count against the next report,
    /// whose answer, larger than a pipe holds, waits finished for the desk to read it.
    @Test func aSlowFilingDoesNotCountAgainstTheNextReportsParse() throws {
        let sandbox = try CLISandbox(settings: "desk_parse_timeout = 1s\nstore_busy_timeout = 10s\n")
        let store = try sandbox.store()
        let attachment = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).base64EncodedString(options: .lineLength76Characters)
        let large = """
            Subject: spam 2
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/plain

            Spam from 192.0.2.2 hit our trap; the capture is attached.
            --b
            Content-Type: application/octet-stream; name="capture.bin"
            Content-Disposition: attachment; filename="capture.bin"
            Content-Transfer-Encoding: base64

            \(attachment)
            --b--
            """
        let ids = try store.enqueue([Self.report(1), large].map {
            RawReport(receivedAt: 1_800_000_000, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil, raw: Array($0.utf8))
        }).map(\.reportID)
        // Another writer holds the store for 2.5 s from before the desk starts.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(2.5); c.execute('COMMIT')
            """, sandbox.storePath]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        #expect(String(decoding: out.fileHandleForReading.readData(ofLength: 7), as: UTF8.self) == "locked\n")
        let run = try sandbox.run(arguments: ["desk", "--once", "--json"])
        holder.waitUntilExit()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.outcomes(run) == ["filed \(ids[0])", "filed \(ids[1])"])
    }

    /// An imported report is as old as its delivery: the mbox's `From ` line, the Maildir file's time
    /// (so complaints in a backlog imported late lock no one, IdentityAccounting).
    @Test func anImportedReportIsDatedByItsDelivery() throws {
        let sandbox = try CLISandbox()
        let mbox = sandbox.dir.appendingPathComponent("old.mbox")
        try "From reporter@isp.example Mon Sep  7 12:00:00 2026\n\(Self.report(1))".write(to: mbox, atomically: true, encoding: .utf8)
        #expect(try sandbox.run("ingest", "--mbox", mbox.path).status == 0)
        let maildir = sandbox.dir.appendingPathComponent("Maildir")
        try FileManager.default.createDirectory(at: maildir.appendingPathComponent("cur"), withIntermediateDirectories: true)
        let file = maildir.appendingPathComponent("cur/1788856200.M1P1.host:2,S")
        try Self.report(2).write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_788_856_200)], ofItemAtPath: file.path)
        #expect(try sandbox.run("ingest", "--maildir", maildir.path).status == 0)
        let received = Dictionary(uniqueKeysWithValues: try sandbox.store().cases().map { ($0.subject.value, $0.lastReportAt) })
        #expect(received == ["192.0.2.1": 1_788_782_400, "192.0.2.2": 1_788_856_200])
    }

    /// A report the milter stored whole under a large abuse_max_size (up to 1 GiB) is parsed on its
    /// first 64 MiB, as every parse reads: the parser refused the whole as a broken frame and died
    /// (exit 70), and the report went to triage blamed on the parser.
    @Test func aReportOverTheParsersLimitIsParsedOnItsBeginning() throws {
        // A debug build parsing 64 MiB beside the rest of the suite may take longer than the default 5 s budget.
        let sandbox = try CLISandbox(settings: "abuse_max_size = 100000000\ndesk_parse_timeout = 60s\n")
        let store = try sandbox.store()
        let filler = String(repeating: String(repeating: "x", count: 75) + "\n", count: (65 << 20) / 76)
        let raw = Array((Self.report(7) + filler).utf8)
        #expect(raw.count > 64 << 20)
        _ = try store.enqueue([RawReport(receivedAt: 1_800_000_000, envelopeSender: nil, envelopeRecipient: "abuse@example.net", queueID: nil, raw: raw)])
        let run = try sandbox.run("desk", "--once", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.outcomes(run).map { $0.split(separator: " ")[0] } == ["filed"], "\(run.stdout)")
        #expect(try store.cases().map(\.subject.value) == ["192.0.2.7"])
    }

    /// Under systemd a line is stored at the unit's level (info) unless it starts with `<N>`: the
    /// desk's warnings and errors would be invisible to `journalctl -p warning`. Output that is not
    /// the journal's stream (a terminal, a file a hook wrote to) gets no prefix.
    @Test func underJournaldWarningsAndErrorsCarryTheirPriority() throws {
        let sandbox = try CLISandbox()
        let journal = try sandbox.run(arguments: ["desk", "--once"], journalOn: 1)
        #expect(journal.status == 0, "\(journal.stderr)")
        #expect(journal.lines.first?.hasPrefix("<4>warning: authserv_id is not set") == true, "\(journal.stdout)")
        let elsewhere = try sandbox.run(arguments: ["desk", "--once"], environment: ["JOURNAL_STREAM": "8:12345"])
        #expect(elsewhere.lines.first?.hasPrefix("warning: authserv_id is not set") == true, "\(elsewhere.stdout)")

        try sandbox.writeConfig("store = \(sandbox.storePath)\nmode = loud\n")
        let refused = try sandbox.run(arguments: ["desk", "--once"], journalOn: 2)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("<3>\(sandbox.configPath):2: mode must be one of"), "\(refused.stderr)")
        // mailwardend's last word before it exits is a fatal one (README: journalctl -p err shows it).
        let daemon = try sandbox.run(arguments: ["--check"], journalOn: 2, program: "mailwardend")
        #expect(daemon.status == 78)
        #expect(daemon.stderr.hasPrefix("<2>mailwardend: \(sandbox.configPath):2: mode must be one of"), "\(daemon.stderr)")
    }

    /// A backlog message delivered longer ago than report_retention is not imported: it was filed,
    /// pruned at the next pass, and queued again by every later import of the same backlog.
    @Test func aBacklogMessageOlderThanTheRetentionIsNotImported() throws {
        let sandbox = try CLISandbox(settings: "report_retention = 30d\n")
        let mbox = sandbox.dir.appendingPathComponent("old.mbox")
        try ("From reporter@isp.example Mon Sep  7 12:00:00 2020\n\(Self.report(1))"
             + "From reporter@isp.example \(Self.mboxDate(Date()))\n\(Self.report(2))").write(to: mbox, atomically: true, encoding: .utf8)
        for _ in 1...2 {
            let run = try sandbox.run("ingest", "--mbox", mbox.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("2 messages: ") && run.stderr.contains("expired 1"), "\(run.stderr)")
        }
        #expect(try sandbox.store().cases().map(\.subject.value) == ["192.0.2.2"])
    }

    /// An mbox From line's date (asctime, UTC).
    static func mboxDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        return formatter.string(from: date)
    }

    /// A Maildir message that cannot be read (here: a link to nothing, as a message moved by the IMAP
    /// server since the listing leaves) fails the import (exit 75) and is named; it was passed over
    /// in silence, exit 0.
    @Test func aMaildirMessageThatCannotBeReadFailsTheImport() throws {
        let sandbox = try CLISandbox()
        let maildir = sandbox.dir.appendingPathComponent("Maildir")
        try FileManager.default.createDirectory(at: maildir.appendingPathComponent("new"), withIntermediateDirectories: true)
        try Self.report(1).write(to: maildir.appendingPathComponent("new/1.M1P1.host"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: maildir.appendingPathComponent("new/2.M2P2.host").path, withDestinationPath: "/nonexistent/2")
        let run = try sandbox.run("ingest", "--maildir", maildir.path)
        #expect(run.status == 75)
        #expect(run.stderr.contains("new/2.M2P2.host: cannot read it"), "\(run.stderr)")
        #expect(run.stderr.contains("2 messages: ") && run.stderr.contains("failed 1"), "\(run.stderr)")
        #expect(try sandbox.store().cases().map(\.subject.value) == ["192.0.2.1"])
        // None readable at all: the import had nothing to queue and said nothing of the file.
        try FileManager.default.removeItem(at: maildir.appendingPathComponent("new/1.M1P1.host"))
        let unreadableOnly = try sandbox.run("ingest", "--maildir", maildir.path)
        #expect(unreadableOnly.status == 75 && unreadableOnly.stderr.contains("new/2.M2P2.host: cannot read it"), "\(unreadableOnly.stderr)")
    }

    @Test func anImportQueuesItsBatchOnceParsesEachMessageAndSaysWhatItBecameInOrder() throws {
        let sandbox = try CLISandbox()
        let messages = [Self.report(1), Self.report(2, fault: "trap"), Self.report(1), Self.report(3)]
        let mbox = sandbox.dir.appendingPathComponent("backlog.mbox")
        try messages.map { "From reporter@isp.example Fri Dec  4 00:00:00 2026\n\($0)" }.joined().write(to: mbox, atomically: true, encoding: .utf8)
        let first = try sandbox.run(arguments: ["ingest", "--mbox", mbox.path, "--json"], environment: Self.faults)
        #expect(first.status == 0, "\(first.stderr)")
        let outcomes = try Self.outcomes(first)
        try #require(outcomes.count == 4, "\(outcomes)")
        #expect(outcomes[0] == "filed 1" && outcomes[2] == "duplicate 1" && outcomes[3] == "filed 3")
        #expect(outcomes[1].hasPrefix("triage 2 parser died"), "given up on at its second failure")
        #expect(first.stderr.hasSuffix("4 messages: filed 2, triage 1, ignored 0, correspondence 0, duplicate 1, expired 0, failed 0\n"))
        // Run again, the import queues nothing twice.
        let again = try sandbox.run("ingest", "--mbox", mbox.path)
        #expect(again.stderr.hasSuffix("4 messages: filed 0, triage 0, ignored 0, correspondence 0, duplicate 4, expired 0, failed 0\n"))
    }
}
