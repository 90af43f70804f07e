// Lock notices, sent off the message path: a serial background queue mails the notice over SMTP to
// notify_smtp (not the sendmail binary: postdrop's setgid does not work under the hardened units) and
// runs notify_command with the lock as JSON on stdin. A failure is logged, never delays the caller
// (the milter's answer, or the desk worker's next report), and is not retried forever: a mail the
// server could not take for now (a 4xx, as Postfix answers while its milter restarts; no
// connection) is tried again 2, 8 and 20 s later, without holding up the notices behind it; a
// process that is about to exit (`finish`) gives each waiting retry its last try at once.
import Dispatch
import Foundation
import Glibc
import MailWardenCore
import Synchronization

public final class BackgroundLockNotifier: LockNotifier {
    private let queue = DispatchQueue(label: "mailwarden.lock-notices")
    /// The config whose notify_* settings a new notice follows (a reload replaces it).
    private let current: Mutex<Config>
    private let warn: @Sendable (String) -> Void
    /// Notices handed over and not yet sent or given up on, retries waiting included.
    private let pending = DispatchGroup()
    /// Retries waiting for their time, by number; whoever takes one out runs it (its timer, or `finish`).
    private let retriesWaiting = Mutex<[Int: @Sendable () -> Void]>([:])
    private let retriesScheduled = Atomic<Int>(0)
    /// Set by `finish`: the process is about to exit, and no retry can wait for its time.
    private let finishing = Atomic<Bool>(false)
    /// Seconds any one SMTP read/write or command may take.
    static let timeout = 10
    /// Seconds before each new try of a mail that failed for now.
    static let retryDelays = [2, 8, 20]

    /// `warn` gets each failure as one line (the daemon's logger, the desk worker's stdout).
    public init(config: Config, warn: @escaping @Sendable (String) -> Void) {
        current = Mutex(config)
        self.warn = warn
    }

    /// Notices from now on follow `config` (a reload); those already handed over keep theirs.
    public func replaceConfig(_ config: Config) { current.withLock { $0 = config } }

    public func identityLocked(_ lock: LockRecord, cause: LockCause) {
        let config = current.withLock { $0 }
        guard config.notifyEmail != nil || config.notifyCommand != nil else { return }
        guard case .object(let fields) = lock.json else { return }
        let json = JSONValue.object(fields + cause.jsonFields).rendered(indent: nil)
        pending.enter()
        queue.async { [config, warn] in
            if let to = config.notifyEmail {
                self.pending.enter()
                self.mail(to: to, config: config, subject: "MailWarden locked \(lock.identity)",
                          body: Self.text(lock, cause: cause, json: json), identity: lock.identity, attempt: 0)
            }
            if let command = config.notifyCommand {
                Self.run(command, stdin: json + "\n", timeout: Self.timeout, warn: warn, identity: lock.identity)
            }
            self.pending.leave()
        }
    }

    /// One try of a notice's mail, on the queue; a failure for now is tried again later, in its own turn.
    private func mail(to: String, config: Config, subject: String, body: String, identity: String, attempt: Int) {
        do {
            try SMTPNotice.send(to: to, from: config.notifyFrom, via: config.notifySMTP, subject: subject, body: body, timeout: Self.timeout)
        } catch let failure as SMTPNotice.Failure where failure.isTemporary && attempt < Self.retryDelays.count
                                                            && !finishing.load(ordering: .acquiring) {
            let delay = Self.retryDelays[attempt]
            warn("lock notice for \(identity) to \(to) via \(config.notifySMTP) failed for now (try \(attempt + 1) of \(Self.retryDelays.count + 1)), trying again in \(delay) s: \(failure)")
            retry(after: delay) {
                self.mail(to: to, config: config, subject: subject, body: body, identity: identity, attempt: Self.retryDelays.count)
            } later: {
                self.mail(to: to, config: config, subject: subject, body: body, identity: identity, attempt: attempt + 1)
            }
            return
        } catch {
            warn("lock notice for \(identity) to \(to) via \(config.notifySMTP) failed: \(error)")
        }
        pending.leave()
    }

    /// Runs `later` on the queue after `delay` seconds, or `now` at once if `finish` comes first.
    private func retry(after delay: Int, now: @escaping @Sendable () -> Void, later: @escaping @Sendable () -> Void) {
        let number = retriesScheduled.add(1, ordering: .relaxed).newValue
        retriesWaiting.withLock { $0[number] = now }
        queue.asyncAfter(deadline: .now() + .seconds(delay)) { [self] in
            if retriesWaiting.withLock({ $0.removeValue(forKey: number) }) != nil { later() }
        }
        // `finish` may have taken the waiting retries just before this one was added.
        if finishing.load(ordering: .acquiring), let last = retriesWaiting.withLock({ $0.removeValue(forKey: number) }) {
            queue.async(execute: last)
        }
    }

    /// Waits until every notice handed over so far is sent or has failed: a process that exits
    /// after its work (`desk --once`, `ingest --wait`) or on a stop must not drop one. A retry that
    /// waits for its time is tried once more at once, and a failure then is the last. False when
    /// `timeout` (seconds) ran out first.
    @discardableResult
    public func finish(timeout: Int? = nil) -> Bool {
        finishing.store(true, ordering: .releasing)
        let waiting = retriesWaiting.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for last in waiting { queue.async(execute: last) }
        guard let timeout else { pending.wait(); return true }
        return pending.wait(timeout: .now() + .seconds(timeout)) == .success
    }

    static func text(_ lock: LockRecord, cause: LockCause, json: String) -> String {
        let why = switch cause {
        case .message(let queueID): "Message that crossed the limit: \(queueID ?? "unknown")"
        case .complaints(let reportIDs):
            "Complaints that crossed the limit: reports \(reportIDs.map(String.init).joined(separator: ", "))"
                + " (mailwarden cases --subject \(shellWord(lock.identity)))"
        }
        return """
        MailWarden locked \(lock.identity) at \(RFC3339.format(lock.lockedAt)).

        Reason: \(lock.reason)
        \(why)
        Expires: \(lock.expiresAt.map(RFC3339.format) ?? "never (unlock with: mailwarden unlock \(shellWord(lock.identity)))")

        \(json)
        """
    }

    /// An identity as one shell word, for the commands a notice suggests: its value came from a
    /// header or a login a customer chose, and an admin pastes the command into a root shell.
    static func shellWord(_ text: String) -> String {
        let plain = text.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || "@%+=:,./_-".utf8.contains(byte)
        }
        return plain && !text.isEmpty ? text : "'" + text.replacing("'", with: #"'\''"#) + "'"
    }

    static func run(_ command: String, stdin: String, timeout: Int, warn: @Sendable (String) -> Void, identity: String) {
        // The hook's stdin is one end of a socket pair, not a pipe: a hook that exits or closes its
        // stdin unread makes the write fail with EPIPE, and only send(2) on a socket can be told
        // (MSG_NOSIGNAL) not to raise SIGPIPE, which would kill the daemon.
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            warn("notify_command for \(identity) could not start: socketpair: \(String(cString: strerror(errno)))")
            return
        }
        let ours = ends[0]
        defer { Glibc.close(ours) }
        let theirs = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.standardInput = theirs
        do {
            try p.run()
            try theirs.close()
            if let failure = send(Array(stdin.utf8), to: ours) {
                warn("notify_command for \(identity) did not read the lock on stdin: \(failure)")
            }
            // End of input for the hook.
            shutdown(ours, Int32(SHUT_WR))
            let deadline = Date().addingTimeInterval(Double(timeout))
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning {
                // The shell forks the hook's commands: stop its whole process group (Process makes the
                // shell the leader of one), a second later by force.
                let group = -p.processIdentifier
                kill(group, SIGTERM)
                let grace = Date().addingTimeInterval(1)
                while p.isRunning && Date() < grace { usleep(20_000) }
                kill(group, SIGKILL)
                warn("notify_command for \(identity) did not finish in \(timeout)s and was stopped")
            } else if p.terminationStatus != 0 {
                warn("notify_command for \(identity) exited with status \(p.terminationStatus)")
            }
        } catch {
            warn("notify_command for \(identity) could not start: \(error)")
        }
    }

    /// Writes all of `bytes` to socket `fd`; the reason when the reader is gone (EPIPE) or the write fails.
    private static func send(_ bytes: [UInt8], to fd: Int32) -> String? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return String(cString: strerror(errno)) }
            offset += n
        }
        return nil
    }
}

/// A minimal SMTP client for one notice: connect, EHLO, MAIL, RCPT, DATA, QUIT; every step timed out.
enum SMTPNotice {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// A 4xx reply, or no conversation at all (refused, reset, timed out): worth another try.
        var isTemporary = true
        /// The server's own answer, not a lost or broken conversation.
        var isReply = false
    }

    static func send(to: String, from: String, via server: String, subject: String, body: String, timeout: Int) throws {
        guard let hp = HostPort(server) else { throw Failure(description: "bad notify_smtp \(server)", isTemporary: false) }
        let fd = try connect(hp, timeout: timeout)
        defer { Glibc.close(fd) }
        var reader = LineReader(fd: fd)
        func expect(_ code: Character) throws {
            var line = ""
            repeat { line = try reader.line() } while line.count > 3 && Array(line)[3] == "-"
            guard line.first == code else { throw Failure(description: "server said: \(line)", isTemporary: line.first == "4", isReply: true) }
        }
        func say(_ text: String) throws {
            let bytes = Array(text.utf8)
            guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
                throw Failure(description: "write failed: \(String(cString: strerror(errno)))")
            }
        }
        try expect("2")
        try say("EHLO localhost\r\n"); try expect("2")
        try say("MAIL FROM:<\(from)>\r\n"); try expect("2")
        try say("RCPT TO:<\(to)>\r\n"); try expect("2")
        try say("DATA\r\n"); try expect("3")
        let date = DateFormatter.rfc5322.string(from: Date())
        let message = "From: MailWarden <\(from)>\r\nTo: <\(to)>\r\nSubject: \(subject)\r\nDate: \(date)\r\nAuto-Submitted: auto-generated\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        try say(message + "\r\n.\r\n")
        // Past the final dot the server may have taken the message whatever goes wrong now: only
        // its 4xx says it did not, and a try again after a lost answer would mail the notice twice.
        do {
            try expect("2")
        } catch let failure as Failure where !failure.isReply {
            throw Failure(description: "\(failure) (after the whole notice was sent: it may have gone out)", isTemporary: false)
        }
        try say("QUIT\r\n")
    }

    private static func connect(_ hp: HostPort, timeout: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(hp.host, String(hp.port), &hints, &res) == 0, let ai = res else {
            throw Failure(description: "cannot resolve \(hp.host)")
        }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            let e = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "connect to \(hp.host):\(hp.port): \(e)")
        }
        return fd
    }

    /// Reads CRLF lines, at most 4096 bytes each (a server's reply is short; anything longer is cut).
    struct LineReader {
        let fd: Int32
        var buffer: [UInt8] = []

        mutating func line() throws -> String {
            while true {
                if let nl = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self).trimmingWhitespace()
                    buffer.removeSubrange(...nl)
                    return line
                }
                guard buffer.count < 4096 else { buffer.removeAll(); throw Failure(description: "reply line too long") }
                var chunk = [UInt8](repeating: 0, count: 512)
                let n = recv(fd, &chunk, chunk.count, 0)
                guard n > 0 else { throw Failure(description: n == 0 ? "server closed the connection" : "read: \(String(cString: strerror(errno)))") }
                buffer += chunk[..<n]
            }
        }
    }
}

extension DateFormatter {
    static var rfc5322: DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f
    }
}
