// A small blocking client for one request and its answer over a fresh TCP or unix-socket
// connection, shared by the spamd and rspamd scanners. It runs on a libmilter worker thread, so
// every step is bounded: the connect by `connectTimeout` (non-blocking connect, then poll), sending
// and reading together by `timeout` (one deadline, so a scanner that trickles bytes cannot hold the
// thread longer), the message by `maxMessageBytes` and the answer by `maxResponseBytes`. Writes
// use MSG_NOSIGNAL: a scanner that hangs up must not kill the daemon with SIGPIPE.
import Glibc
import MailWardenCore

/// The bounds of one scan.
public struct ScannerLimits: Sendable {
    public var connectTimeout: Duration
    /// Sending the message and reading the answer, together.
    public var timeout: Duration
    public var maxMessageBytes: Int
    public var maxResponseBytes: Int

    /// spamd answers in a few lines; rspamd's JSON lists every URL host and mail address of the
    /// message (up to 10,240 of them), so its answer grows with the message: room for twice the
    /// biggest message sent, and a floor for the symbols.
    public static func maxResponseBytes(forMessagesUpTo maxMessageBytes: Int) -> Int {
        max(1 << 20, 2 * maxMessageBytes + (64 << 10))
    }

    public init(connectTimeout: Duration, timeout: Duration, maxMessageBytes: Int, maxResponseBytes: Int? = nil) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxMessageBytes = maxMessageBytes
        self.maxResponseBytes = maxResponseBytes ?? Self.maxResponseBytes(forMessagesUpTo: maxMessageBytes)
    }

    public init(_ config: ScannerConfig) {
        self.init(connectTimeout: .seconds(config.connectTimeout.seconds), timeout: .seconds(config.timeout.seconds),
                  maxMessageBytes: config.maxMessageSize)
    }
}

/// Sends one request to a scanner and parses its answer.
struct ScannerClient: Sendable {
    let address: ScannerAddress
    let limits: ScannerLimits

    /// Parses the answer received so far: nil while more is needed. `ended` is true once the scanner
    /// has closed the connection, so a parser that reads to the end knows it has it all.
    typealias AnswerParser = (_ received: [UInt8], _ ended: Bool) throws(ScanFailure) -> ScanResult?

    /// Sends `head` then `message`, and returns the parsed answer with the time from connect to it.
    func scan(head: [UInt8], message: [UInt8], parse: AnswerParser) throws(ScanFailure) -> ScanResult {
        guard message.count <= limits.maxMessageBytes else {
            throw .messageTooBig(size: message.count, limit: limits.maxMessageBytes)
        }
        let started = ContinuousClock.now
        let connection = try ScannerConnection.connect(to: address, within: limits.connectTimeout)
        let deadline = ContinuousClock.now + limits.timeout
        // One buffer, one write sequence: no small write waiting on Nagle for the scanner's ACK.
        try connection.send(head + message, before: deadline, limit: limits.timeout)
        var received: [UInt8] = []
        while true {
            let ended = try !connection.receive(into: &received, upTo: limits.maxResponseBytes + 1,
                                                before: deadline, limit: limits.timeout)
            guard received.count <= limits.maxResponseBytes else { throw .responseTooBig(limit: limits.maxResponseBytes) }
            if var result = try parse(received, ended) {
                let elapsed = (ContinuousClock.now - started).components
                result.latencyMicroseconds = elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000
                return result
            }
            if ended { throw .closedEarly(receivedBytes: received.count) }
            // A scanner that keeps sending a little never lets a read wait, where the deadline is
            // checked; reading the answer again takes longer than its gaps once it is long.
            if ContinuousClock.now >= deadline { throw .timedOut(.reply, after: limits.timeout) }
        }
    }
}

/// A connected, non-blocking socket; closed when it goes out of scope.
struct ScannerConnection: ~Copyable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    static func connect(to address: ScannerAddress, within timeout: Duration) throws(ScanFailure) -> ScannerConnection {
        let deadline = ContinuousClock.now + timeout
        var (storage, length) = try socketAddress(address)
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(Int32(storage.ss_family), socketType, 0)
        guard fd >= 0 else { throw .cannotConnect("socket: \(errorText(errno))") }
        let connection = ScannerConnection(fd: fd)
        func attempt() -> Int32 {
            withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) } }
        }
        var result = attempt()
        // A unix socket whose queue of connections is full answers EAGAIN at once (TCP would wait):
        // a scanner busy for a moment, tried again until scanner_connect_timeout as TCP waits.
        while result != 0 && errno == EAGAIN && ContinuousClock.now < deadline {
            usleep(10_000)
            result = attempt()
        }
        if result != 0 {
            let error = errno
            if error == EAGAIN { throw .timedOut(.connect, after: timeout) }
            guard error == EINPROGRESS else { throw connectFailure(error) }
            try connection.wait(for: POLLOUT, before: deadline, stage: .connect, limit: timeout)
            var pending: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &size)
            if pending != 0 { throw connectFailure(pending) }
        }
        if case .tcp = address {
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        return connection
    }

    /// Sends all of `bytes`. Returns early if the scanner hangs up: its answer (often an error
    /// saying why) is still there to read.
    func send(_ bytes: [UInt8], before deadline: ContinuousClock.Instant, limit: Duration) throws(ScanFailure) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: try wait(for: POLLOUT, before: deadline, stage: .send, limit: limit)
            case EPIPE, ECONNRESET: return
            case let error: throw .connectionLost("send: \(Self.errorText(error))")
            }
        }
    }

    /// Appends what arrives to `buffer`, never growing it past `capacity`; false once the scanner
    /// has closed the connection (a reset counts as a close: the parser decides if the answer is whole).
    func receive(into buffer: inout [UInt8], upTo capacity: Int, before deadline: ContinuousClock.Instant,
                 limit: Duration) throws(ScanFailure) -> Bool {
        let room = min(capacity - buffer.count, 65536)
        precondition(room > 0, "the caller stops reading at capacity")
        while true {
            let count = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { chunk in
                let n = recv(fd, chunk.baseAddress, room, 0)
                if n > 0 { buffer.append(contentsOf: chunk[..<n]) }
                return n
            }
            if count > 0 { return true }
            if count == 0 { return false }
            switch errno {
            case EINTR: continue
            case EAGAIN: try wait(for: POLLIN, before: deadline, stage: .reply, limit: limit)
            case ECONNRESET: return false
            case let error: throw .connectionLost("receive: \(Self.errorText(error))")
            }
        }
    }

    /// Waits until the socket is ready for `events` (or has an error, which the next call reports).
    private func wait(for events: Int32, before deadline: ContinuousClock.Instant, stage: ScanStage,
                      limit: Duration) throws(ScanFailure) {
        while true {
            let remaining = (deadline - ContinuousClock.now).components
            guard remaining.seconds > 0 || remaining.attoseconds > 0 else { throw .timedOut(stage, after: limit) }
            // Rounded up, so the last poll does not end a hair before the deadline and spin.
            let milliseconds = remaining.seconds * 1000 + (remaining.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = poll(&entry, 1, Int32(clamping: milliseconds))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .connectionLost("poll: \(Self.errorText(errno))") }
        }
    }

    private static func socketAddress(_ address: ScannerAddress) throws(ScanFailure) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        func store<T>(_ value: T) -> (sockaddr_storage, socklen_t) {
            withUnsafeBytes(of: value) { source in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) } }
            return (storage, socklen_t(MemoryLayout<T>.size))
        }
        switch address {
        case .tcp(let host, let port):
            var v4 = sockaddr_in()
            if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
                v4.sin_family = sa_family_t(AF_INET)
                v4.sin_port = in_port_t(UInt16(port).bigEndian)
                return store(v4)
            }
            var v6 = sockaddr_in6()
            if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
                v6.sin6_family = sa_family_t(AF_INET6)
                v6.sin6_port = in_port_t(UInt16(port).bigEndian)
                return store(v6)
            }
            throw .cannotConnect("`\(host)` is not an IP address")
        case .unix(let path):
            var local = sockaddr_un()
            local.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: local.sun_path) else {
                throw .cannotConnect("unix socket path longer than \(ScannerAddress.maxUnixPathBytes) bytes")
            }
            withUnsafeMutableBytes(of: &local.sun_path) { $0.copyBytes(from: bytes) }
            return store(local)
        }
    }

    private static func connectFailure(_ error: Int32) -> ScanFailure {
        // ENOENT: no such unix socket, which is a unix scanner that is not running.
        error == ECONNREFUSED || error == ENOENT ? .refused : .cannotConnect(errorText(error))
    }

    private static func errorText(_ error: Int32) -> String { String(cString: strerror(error)) }
}
