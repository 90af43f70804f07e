import Foundation
import Glibc
import Synchronization
import Testing
import MailWardenCore
@testable import MailWardenNotices

/// An SMTP server on loopback that answers MAIL FROM of its first `refusals` connections with `refusal`
/// (as Postfix does while its milter is away: milter_default_action = tempfail) and takes the next.
/// It listens until the test process ends.
final class FakeSMTPServer: Sendable {
    let port: UInt16
    let received = Mutex<[String]>([])
    let connections = Mutex(0)

    /// `silentAfterData`: takes the message and hangs up without answering the final dot.
    init(refusals: Int, refusal: String = "451 4.7.1 Service unavailable - try again later", silentAfterData: Bool = false) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                guard bind(listener, a, length) == 0, listen(listener, 8) == 0, getsockname(listener, a, &length) == 0 else { throw POSIXError(.EADDRINUSE) }
            }
        }
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                let n = connections.withLock { $0 += 1; return $0 }
                converse(client, refuse: n <= refusals ? refusal : nil, silentAfterData: silentAfterData)
                close(client)
            }
        }.start()
    }

    private func converse(_ client: Int32, refuse: String?, silentAfterData: Bool) {
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func say(_ line: String) { _ = line.utf8CString.withUnsafeBufferPointer { send(client, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) } }
        var buffer: [UInt8] = []
        func line() -> String? {
            while true {
                if let nl = buffer.firstIndex(of: 10) {
                    defer { buffer.removeSubrange(...nl) }
                    return String(decoding: buffer[..<nl], as: UTF8.self).trimmingWhitespace()
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = recv(client, &chunk, chunk.count, 0)
                guard n > 0 else { return nil }
                buffer += chunk[..<n]
            }
        }
        say("220 fake ESMTP\r\n")
        while let command = line() {
            switch command.prefix(4).uppercased() {
            case "MAIL": say(refuse.map { $0 + "\r\n" } ?? "250 ok\r\n")
            case "DATA":
                say("354 go on\r\n")
                var text: [String] = []
                while let l = line(), l != "." { text.append(l) }
                received.withLock { $0.append(text.joined(separator: "\n")) }
                if silentAfterData { return }
                say("250 queued\r\n")
            case "QUIT": say("221 bye\r\n"); return
            default: say("250 ok\r\n")
            }
        }
    }
}

@Suite struct SMTPNoticeTests {
    /// The lines a notifier warned.
    final class Warnings: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// A notifier that mails ops@example.net through `server`, and the warnings it gives.
    static func notifier(mailingThrough server: FakeSMTPServer) throws -> (BackgroundLockNotifier, Warnings) {
        let warnings = Warnings()
        let notifier = BackgroundLockNotifier(
            config: try Config.parse(text: "notify_email = ops@example.net\nnotify_smtp = 127.0.0.1:\(server.port)\n", file: "a.conf"),
            warn: { warnings.append($0) })
        return (notifier, warnings)
    }

    static func lock(_ identity: String) -> LockRecord {
        LockRecord(identity: identity, lockedAt: 1, lockedBy: "auto", automatic: true, reason: "limit crossed: spam 3 > 2/1h")
    }

    /// A notice the server cannot take for now (Postfix while mailwardend restarts, its milter away)
    /// is sent on a later try, and the notices behind it do not wait for that.
    @Test func aNoticeRefusedForNowIsSentOnALaterTry() throws {
        let server = try FakeSMTPServer(refusals: 1)
        let (notifier, warnings) = try Self.notifier(mailingThrough: server)
        notifier.identityLocked(Self.lock("sasl:first@example.net"), cause: .message(queueID: "Q1"))
        notifier.identityLocked(Self.lock("sasl:second@example.net"), cause: .message(queueID: "Q2"))
        // The daemon goes on running meanwhile (a `finish` would give the retry its last try at once).
        let patience = ContinuousClock.now + .seconds(10)
        while server.received.withLock({ $0.count }) < 2 && ContinuousClock.now < patience { usleep(20_000) }
        #expect(notifier.finish(timeout: 20))
        let subjects = server.received.withLock { $0 }.compactMap { $0.split(separator: "\n").first { $0.hasPrefix("Subject: ") } }
        #expect(subjects == ["Subject: MailWarden locked sasl:second@example.net", "Subject: MailWarden locked sasl:first@example.net"],
                "the second went out while the first waited for its next try")
        #expect(warnings.all == ["lock notice for sasl:first@example.net to ops@example.net via 127.0.0.1:\(server.port) failed for now "
                                             + "(try 1 of 4), trying again in 2 s: server said: 451 4.7.1 Service unavailable - try again later"])
    }

    /// A process about to exit (mailwardend stopping, `desk --once`) does not wait out a retry's delay:
    /// the waiting retry is tried once more at once, and its failure is the last word.
    @Test func finishingGivesAWaitingRetryItsLastTryAtOnce() throws {
        let server = try FakeSMTPServer(refusals: 100)
        let (notifier, warnings) = try Self.notifier(mailingThrough: server)
        notifier.identityLocked(Self.lock("sasl:x@example.net"), cause: .message(queueID: "Q1"))
        // Until the first try has failed and its retry waits (a connection alone is a try under way).
        let firstTry = ContinuousClock.now + .seconds(5)
        while warnings.all.isEmpty && ContinuousClock.now < firstTry { usleep(10_000) }
        let started = ContinuousClock.now
        #expect(notifier.finish(timeout: 10))
        #expect(ContinuousClock.now - started < .seconds(2), "not the 2 s of the retry's delay, nor the 30 s of all of them")
        #expect(server.connections.withLock { $0 } == 2)
        #expect(warnings.all.last?.hasSuffix("failed: server said: 451 4.7.1 Service unavailable - try again later") == true,
                "\(warnings.all)")
    }

    /// The server may have taken a notice whose final dot got no answer: trying again would mail it twice.
    @Test func aNoticeWhoseLastAnswerIsLostIsNotSentTwice() throws {
        let server = try FakeSMTPServer(refusals: 0, silentAfterData: true)
        let (notifier, warnings) = try Self.notifier(mailingThrough: server)
        notifier.identityLocked(Self.lock("sasl:x@example.net"), cause: .message(queueID: "Q1"))
        #expect(notifier.finish(timeout: 20))
        #expect(server.received.withLock { $0 }.count == 1)
        #expect(warnings.all.first?.hasSuffix("(after the whole notice was sent: it may have gone out)") == true, "\(warnings.all)")
    }

    /// A refusal for good (5xx) is not tried again.
    @Test func aNoticeRefusedForGoodIsNotTriedAgain() throws {
        let server = try FakeSMTPServer(refusals: 1, refusal: "550 5.7.1 no")
        let (notifier, warnings) = try Self.notifier(mailingThrough: server)
        notifier.identityLocked(Self.lock("sasl:x@example.net"), cause: .message(queueID: "Q1"))
        #expect(notifier.finish(timeout: 20))
        #expect(server.connections.withLock { $0 } == 1 && server.received.withLock { $0 }.isEmpty)
        #expect(warnings.all.first?.hasSuffix("failed: server said: 550 5.7.1 no") == true, "\(warnings.all)")
    }
}
