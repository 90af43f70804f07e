import Foundation
import Synchronization
import Testing
import MailWardenCore
@testable import MailWardenNotices

@Suite struct NotifyCommandTests {
    /// A hook past its time is stopped with everything it started: the shell forks the hook's
    /// commands, and stopping the shell alone left them running for good.
    @Test func aHookPastItsTimeIsStoppedWithTheCommandsItStarted() throws {
        let marker = "31.\(UInt16.random(in: 100...9999))"
        let warnings = Mutex<[String]>([])
        let started = Date()
        BackgroundLockNotifier.run("cat >/dev/null; sleep \(marker); true", stdin: "{}\n", timeout: 1,
                                   warn: { line in warnings.withLock { $0.append(line) } }, identity: "sasl:hook")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(warnings.withLock { $0 } == ["notify_command for sasl:hook did not finish in 1s and was stopped"])
        #expect(try processes(matching: "sleep \(marker)").isEmpty, "the hook's sleep is gone too")
    }

    /// The hook starts with no signal blocked, whatever the thread that starts it blocks (the desk
    /// worker blocks SIGTERM in all its threads): its own trap runs when it is stopped, before the
    /// SIGKILL a second later.
    @Test func aHookPastItsTimeCanCleanUpOnSIGTERM() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-hook-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let done = DispatchSemaphore(value: 0)
        Thread {
            var term = sigset_t()
            sigemptyset(&term)
            sigaddset(&term, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &term, nil)
            BackgroundLockNotifier.run("trap 'echo cleaned > \(dir)/trap; exit 0' TERM; cat >/dev/null; sleep 20 & wait", stdin: "{}\n",
                                       timeout: 1, warn: { _ in }, identity: "sasl:hook")
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/trap"))
    }

    /// A notice suggests commands with the identity in them, which an admin pastes into a root
    /// shell; the identity's value is whatever a customer's header or login said.
    @Test(arguments: ["sasl:alice@example.net", "app:x;$({touch,PWNED})|sh", "app:it's`touch PWNED`", "app:a\"b\\c&&touch PWNED"])
    func theCommandsANoticeSuggestsPassTheIdentityAsOneWord(identity: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-paste-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A stand-in `mailwarden` that prints each argument on a line of its own.
        try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n".write(toFile: "\(dir)/mailwarden", atomically: false, encoding: .utf8)
        chmod("\(dir)/mailwarden", 0o755)
        let lock = LockRecord(identity: identity, lockedAt: 1, lockedBy: "auto", automatic: true, reason: "complaints")
        let text = BackgroundLockNotifier.text(lock, cause: .complaints(reportIDs: [1]), json: "{}")
        let suggested = try #require(text.firstMatch(of: /unlock with: (.*)\)\n/)).1
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", String(suggested)]
        shell.currentDirectoryURL = URL(fileURLWithPath: dir)
        shell.environment = ["PATH": "\(dir):/usr/bin:/bin"]
        let out = Pipe()
        shell.standardOutput = out
        try shell.run()
        shell.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed == "unlock\n\(identity)\n")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/PWNED"))
    }

    @Test func aHookThatFailsIsReported() {
        let warnings = Mutex<[String]>([])
        BackgroundLockNotifier.run("cat >/dev/null; exit 3", stdin: "{}\n", timeout: 5,
                                   warn: { line in warnings.withLock { $0.append(line) } }, identity: "sasl:hook")
        #expect(warnings.withLock { $0 } == ["notify_command for sasl:hook exited with status 3"])
    }

    /// A reload's notify_command is the one a later lock runs (the daemon kept its first config's).
    @Test func aNoticeFollowsTheConfigInForceWhenTheLockIsAnnounced() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-notice-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notifier = BackgroundLockNotifier(config: try Config.parse(text: "notify_command = cat > \(dir)/first.json\n", file: "a.conf"),
                                              warn: { _ in })
        notifier.replaceConfig(try Config.parse(text: "notify_command = cat > \(dir)/reloaded.json\n", file: "a.conf"))
        notifier.identityLocked(LockRecord(identity: "sasl:x", lockedAt: 1, lockedBy: "auto", automatic: true, reason: "spam"),
                                cause: .message(queueID: "Q1"))
        #expect(notifier.finish(timeout: 10))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/reloaded.json"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/first.json"))
    }

    /// The command lines of this machine's processes that contain `text` (from /proc).
    private func processes(matching text: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let line = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(text) ? line : nil
        }
    }
}
