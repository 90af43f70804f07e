// The desk worker's parser, in a process of its own. Whatever a stranger wrote is read only there:
// `mailwarden desk-parser` (ParserProcess.swift) runs with an address-space limit, and this side
// kills it when one report runs over its time budget. A trap, a CPU bomb or a memory bomb costs
// that one report (ParseFailure), never the worker; the next report gets a fresh child.
//
// The child is long-lived (a spawn per report would cap the desk's rate): reports go to its stdin
// and parsed reports come back on its stdout, each as one frame, an 8-byte little-endian length and
// that many bytes (the raw report; the parsed report as a ReportFrame, see ReportCoding.swift). It
// holds one report at a time: `start` sends one, `finish` waits for its answer, and in between the
// desk worker files the report before, so parsing and filing overlap while each report keeps its own
// budget.
import Foundation
import Glibc
import MailWardenCore
import MailWardenDesk
import MailWardenReports

/// The worker could not run a parser at all (not the report's fault: the report stays queued).
struct ParserUnavailable: Error, CustomStringConvertible {
    let description: String
}

final class IsolatedParser: ReportParsing {
    private let timeoutSeconds: Int
    private let memoryLimit: Int
    private var child: Child?
    /// The report the child is reading, from `start` to `finish`.
    private var inFlight: InFlight?

    private struct InFlight {
        let deadline: Double
        /// Whether the whole frame reached the child (if not, it is gone or stuck).
        let sent: Bool
        /// When the child had the report: from then until `finish`, the caller files the report before.
        let handedOver: Double
    }

    private struct Child {
        let pid: pid_t
        /// Our ends: the child's stdin and stdout.
        let input: Int32
        let output: Int32
    }

    init(timeout: TimeSpan, memoryLimit: Int) {
        timeoutSeconds = Int(timeout.seconds)
        self.memoryLimit = memoryLimit
        // A child that died makes our next write fail with EPIPE; without this it would kill us.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { _ = reap(killing: true, overBudget: false) }

    func start(_ raw: [UInt8]) throws {
        precondition(inFlight == nil, "a parser holds one report at a time: finish the last one first")
        let child = try self.child ?? spawn()
        self.child = child
        // The child is idle and reads the report at once: its budget starts now.
        let deadline = Self.now() + Double(timeoutSeconds)
        // A report may be stored whole up to abuse_max_size; a parse reads the first ReportLimits.maxMessageBytes.
        let read = Array(raw.prefix(ReportLimits.maxMessageBytes))
        var length = UInt64(read.count).littleEndian
        let sent = withUnsafeBytes(of: &length) { Self.write(Array($0), to: child.input, by: deadline) }
            && Self.write(read, to: child.input, by: deadline)
        inFlight = InFlight(deadline: deadline, sent: sent, handedOver: Self.now())
    }

    /// A failed parse is held against its report only when a fresh parser still reads a known-good
    /// report: a parser that fails on everything (a bad build, a memory limit too low for it to
    /// start) would otherwise send the whole queue to triage, one report after another. It throws then, and the report stays queued, its failure uncounted.
    func finish() throws -> Result<AbuseReport, ParseFailure> {
        let parsed = awaitAnswer()
        guard case .failure(let failure) = parsed else { return parsed }
        try start(Self.knownGood)
        if case .failure(let sampleFailure) = awaitAnswer() {
            throw ParserUnavailable(description: "the parser fails on a known-good report too (\(sampleFailure)), so \(failure) is not held against this report: it stays queued")
        }
        return parsed
    }

    /// A report any working parser reads in well under a millisecond.
    static let knownGood = Array("From: abuse@example.org\r\nSubject: spam from 192.0.2.1\r\n\r\nSpam came from 192.0.2.1.\r\n".utf8)

    private func awaitAnswer() -> Result<AbuseReport, ParseFailure> {
        guard let inFlight, let child else { preconditionFailure("finish() without start()") }
        self.inFlight = nil
        // The time the caller spent filing the report before is not the child's: an answer larger
        // than the pipe holds waits, finished, for us to read it.
        let deadline = inFlight.deadline + (Self.now() - inFlight.handedOver)
        let answer = inFlight.sent ? Self.readFrame(from: child.output, by: deadline) : .closed
        switch answer {
        case .frame(let bytes):
            if let report = try? ReportFrame.decode(bytes) { return .success(report) }
            // An answer we cannot read means the child is not sane: replace it.
            return .failure(reap(killing: true, overBudget: false))
        case .timedOut:
            return .failure(reap(killing: true, overBudget: true))
        case .closed:
            // Either the write or the read found the child gone; if the deadline passed while
            // writing, it was still alive and slow.
            return .failure(reap(killing: true, overBudget: Self.now() >= deadline))
        }
    }

    /// Kills (if asked) and waits for the child; says how it ended.
    private func reap(killing: Bool, overBudget: Bool) -> ParseFailure {
        guard let child else { return .died(signal: nil, status: nil) }
        self.child = nil
        if killing { kill(child.pid, SIGKILL) }
        close(child.input)
        close(child.output)
        var status: Int32 = 0
        while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
        if overBudget { return .overBudget(seconds: timeoutSeconds) }
        // WIFSIGNALED / WTERMSIG, which Glibc's Swift overlay does not carry.
        let signal = status & 0x7f
        return signal != 0 && signal != 0x7f ? .died(signal: signal, status: nil) : .died(signal: nil, status: (status >> 8) & 0xff)
    }


    private func spawn() throws -> Child {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { throw ParserUnavailable(description: "cannot make a pipe: \(Self.errorText())") }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            throw ParserUnavailable(description: "cannot make a pipe: \(Self.errorText())")
        }
        // Close-on-exec: a parser started later must not hold this child's pipes open.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        let executable = Self.ownExecutable()
        let arguments = [executable, "desk-parser", "--memory", String(memoryLimit), "--parent", String(getpid())]
        var argv = arguments.map { strdup($0) } + [nil]
        // A trap is an expected way for this child to end: no half-second backtrace on the way out.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        var envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for a in argv + envp { free(a) } }
        // The desk blocks its reload and stop signals for the threads that wait for them; the child
        // starts with none blocked, so a stop (systemd signals the whole unit) ends it too.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, &argv, &envp)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw ParserUnavailable(description: "cannot start the parser process \(executable): \(String(cString: strerror(rc)))")
        }
        // Our ends never block: every wait on them is a poll with the report's deadline.
        for fd in [toChild[1], fromChild[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return Child(pid: pid, input: toChild[1], output: fromChild[0])
    }

    private static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }

    // MARK: framing with a deadline

    private enum Answer {
        case frame([UInt8])
        case timedOut
        case closed
    }

    /// The largest answer accepted: a parsed report carries at most the decoded bytes the parser keeps.
    static let maxAnswerBytes = 256 << 20

    private static func readFrame(from fd: Int32, by deadline: Double) -> Answer {
        var header = [UInt8](repeating: 0, count: 8)
        if let failed = read(into: &header, from: fd, by: deadline) { return failed }
        let length = header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(maxAnswerBytes) else { return .closed }
        var body = [UInt8](repeating: 0, count: Int(length))
        return read(into: &body, from: fd, by: deadline) ?? .frame(body)
    }

    /// Fills `buffer` from `fd`; nil once it is full, else why not. An answer already there is
    /// taken without a poll.
    private static func read(into buffer: inout [UInt8], from fd: Int32, by deadline: Double) -> Answer? {
        var filled = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n > 0 {
                filled += n
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                return .closed
            } else if errno == EAGAIN, !wait(fd, for: Int16(POLLIN), by: deadline) {
                return .timedOut
            }
        }
        return nil
    }

    private static func write(_ bytes: [UInt8], to fd: Int32, by deadline: Double) -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard wait(fd, for: Int16(POLLOUT), by: deadline) else { return false }
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Waits until `fd` is ready for `events` (or has hung up); false when the deadline passed first.
    private static func wait(_ fd: Int32, for events: Int16, by deadline: Double) -> Bool {
        while true {
            let left = deadline - now()
            guard left > 0 else { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
            if rc > 0 { return true }
            if rc < 0 && errno != EINTR { return true }
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
