// A scripted scanner for the edge cases the real daemons will not produce: one connection on
// 127.0.0.1 (ephemeral port) or a unix socket, served on a thread of its own. It reads the whole
// request (head, then Content-length bytes), plays its behaviour, and closes. Every wait is bounded
// so a failing test cannot hang the run.
import Foundation
import Glibc
import MailWardenCore
import Synchronization

final class FakeScanner: Sendable {
    enum Behaviour: Sendable {
        /// Reads the request and never answers; waits for the client to give up.
        case silent
        /// Sends these pieces with a short pause between them (to split the answer over reads), then closes.
        case answer([[UInt8]])
        /// Sends this many bytes of nonsense, as fast as the client takes them.
        case flood(Int)
        /// Sends `prefix`, then a byte a millisecond for `seconds`, then closes.
        case trickle(prefix: [UInt8], seconds: Int)
    }

    let address: ScannerAddress
    private let listener: Int32
    private let received = Mutex<[UInt8]>([])
    private let finished = DispatchSemaphore(value: 0)
    /// The longest any one step of the fake waits.
    static let patience: Int32 = 5

    static func answering(_ text: String) throws -> FakeScanner { try FakeScanner(.answer([Array(text.utf8)])) }

    /// Listens on 127.0.0.1 (a port the kernel picks), or on `unixPath`.
    init(_ behaviour: Behaviour, unixPath: String? = nil) throws {
        if let unixPath {
            unlink(unixPath)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var local = sockaddr_un()
            local.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &local.sun_path) { $0.copyBytes(from: Array(unixPath.utf8)) }
            try check(withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }, "bind \(unixPath)")
            (listener, address) = (fd, .unix(path: unixPath))
        } else {
            (listener, address) = try loopbackSocket()
        }
        try check(listen(listener, 1), "listen")
        let thread = Thread { [self] in
            serve(behaviour)
            finished.signal()
        }
        thread.start()
    }

    deinit { close(listener) }

    /// Waits (bounded) for the fake to finish its one connection and returns the request it read.
    func request() -> String {
        _ = finished.wait(timeout: .now() + .seconds(Int(Self.patience)))
        return String(decoding: received.withLock { $0 }, as: UTF8.self)
    }

    private func serve(_ behaviour: Behaviour) {
        var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, Self.patience * 1000) == 1 else { return }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return }
        defer { close(connection) }
        var timeout = timeval(tv_sec: Int(Self.patience), tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        readRequest(connection)
        switch behaviour {
        case .silent:
            var byte: UInt8 = 0
            _ = recv(connection, &byte, 1, 0)
        case .answer(let pieces):
            for (i, piece) in pieces.enumerated() {
                if i > 0 { usleep(20_000) }
                guard sendAll(piece, to: connection) else { return }
            }
        case .flood(let count):
            _ = sendAll([UInt8](repeating: UInt8(ascii: "x"), count: count), to: connection)
        case .trickle(let prefix, let seconds):
            guard sendAll(prefix, to: connection) else { return }
            let end = Date().addingTimeInterval(Double(seconds))
            while Date() < end, sendAll([UInt8(ascii: "a")], to: connection) { usleep(1000) }
        }
    }

    /// Reads the head up to the blank line, then as many body bytes as its Content-length says;
    /// an unread request would make our close a reset that eats the answer.
    private func readRequest(_ connection: Int32) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !isComplete(bytes) {
            let n = recv(connection, &chunk, chunk.count, 0)
            guard n > 0 else { break }
            bytes += chunk[..<n]
        }
        received.withLock { $0 = bytes }
    }

    private func isComplete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let length = text[..<end.lowerBound].split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingWhitespace()) } ?? 0
        return text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) + length <= bytes.count
    }

    private func sendAll(_ bytes: [UInt8], to connection: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(connection, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks, not yet listening.
func loopbackSocket() throws -> (Int32, ScannerAddress) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try check(withUnsafeMutablePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1 }
    }, "bind 127.0.0.1:0")
    return (fd, .tcp(host: "127.0.0.1", port: Int(UInt16(bigEndian: local.sin_port))))
}

private func check(_ result: Int32, _ what: String) throws {
    guard result == 0 else { throw FakeScannerError(description: "\(what): \(String(cString: strerror(errno)))") }
}

struct FakeScannerError: Error, CustomStringConvertible { let description: String }
