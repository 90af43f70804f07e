// A minimal HTTP/1.x listener for Prometheus scrapes: GET of one path, `Connection: close`, on one
// thread that polls all its connections. It keeps an HTTP stack (and the libcurl that Foundation's
// networking would link in) out of the milter. Everything a client sends is bounded: the request
// head (8 KiB), the whole connection's time (5 s), however it trickles, and the connections held at
// once (64: past that the oldest still sending its request is dropped), so clients that connect and say nothing (any local
// user can) cannot keep a scrape waiting.
import Foundation
import Glibc
import MailWardenCore

struct ListenerFailure: Error, CustomStringConvertible {
    let description: String
}

final class ScrapeListener: Sendable {
    static let maxRequest = 8192
    static let timeoutSeconds = 5
    static let maxConnections = 64
    private let fd: Int32

    init(_ address: HostPort) throws(ListenerFailure) {
        // Numeric host and port only: the config allows IP literals, and no lookup may happen here.
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address.host, String(address.port), &hints, &found) == 0, let ai = found else {
            throw ListenerFailure(description: "not an IP address and port: \(address.host):\(address.port)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
        guard fd >= 0 else { throw ListenerFailure(description: "socket: \(Self.errorText())") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0, listen(fd, 16) == 0,
              fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
            let reason = Self.errorText()
            close(fd)
            throw ListenerFailure(description: "cannot listen on \(address.host):\(address.port): \(reason)")
        }
        self.fd = fd
    }

    /// One client: its request head as it arrives, then the answer as it leaves.
    private struct Connection {
        let fd: Int32
        let deadline: ContinuousClock.Instant
        var head: [UInt8] = []
        var answer: [UInt8]? = nil
        var sent = 0
    }

    /// Answers connections for ever; `body(path)` is the page at `path`, or nil for 404.
    func serve(_ body: (String) -> [UInt8]?) -> Never {
        var connections: [Connection] = []
        var acceptAgainAt = ContinuousClock.now
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let now = ContinuousClock.now
            // Past its time a client is dropped, answered or not.
            connections.removeAll { c in
                guard c.deadline <= now else { return false }
                close(c.fd)
                return true
            }
            let accepting = acceptAgainAt <= now
            var ready = connections.map { pollfd(fd: $0.fd, events: Int16($0.answer == nil ? POLLIN : POLLOUT), revents: 0) }
            if accepting { ready.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let soonest = connections.map(\.deadline).min().map { min($0, now + .seconds(1)) } ?? now + .seconds(1)
            _ = poll(&ready, nfds_t(ready.count), Self.milliseconds(until: accepting ? soonest : min(soonest, acceptAgainAt)))

            for i in connections.indices where ready[i].revents != 0 {
                if connections[i].answer == nil {
                    let n = recv(connections[i].fd, &chunk, min(chunk.count, Self.maxRequest - connections[i].head.count), 0)
                    if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                    guard n > 0 else { connections[i].sent = -1; continue }
                    connections[i].head += chunk[..<n]
                    // A head too long is judged by its first line, and a line cut short is a bad request.
                    if Self.isComplete(connections[i].head) || connections[i].head.count >= Self.maxRequest {
                        connections[i].answer = Self.answer(to: connections[i].head, body)
                    }
                } else if let answer = connections[i].answer {
                    let n = answer.withUnsafeBytes { Glibc.send(connections[i].fd, $0.baseAddress! + connections[i].sent, $0.count - connections[i].sent, Int32(MSG_NOSIGNAL)) }
                    if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                    connections[i].sent = n > 0 ? connections[i].sent + n : -1
                }
            }
            connections.removeAll { c in
                guard c.sent < 0 || c.sent == c.answer?.count else { return false }
                close(c.fd)
                return true
            }

            guard accepting, ready.last?.revents ?? 0 != 0 else { continue }
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    // Out of descriptors: the pending client stays queued, and accepting at once again
                    // would spin; wait a little (the milter is short of them too).
                    if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { acceptAgainAt = ContinuousClock.now + .milliseconds(100) }
                    break
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                if connections.count >= Self.maxConnections {
                    // A client being answered has sent its request: drop one that has not, if any.
                    close(connections.remove(at: connections.firstIndex { $0.answer == nil } ?? 0).fd)
                }
                connections.append(Connection(fd: client, deadline: ContinuousClock.now + .seconds(Self.timeoutSeconds)))
            }
        }
    }

    /// Whether a request head has reached its blank line.
    static func isComplete(_ head: [UInt8]) -> Bool {
        head.count >= 4 && head.indices.dropFirst(3).contains { head[$0 - 3] == 13 && head[$0 - 2] == 10 && head[$0 - 1] == 13 && head[$0] == 10 }
    }

    static func milliseconds(until instant: ContinuousClock.Instant) -> Int32 {
        let left = (instant - ContinuousClock.now).components
        return Int32(clamping: max(0, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))
    }

    /// The whole response for one request head.
    static func answer(to head: [UInt8], _ body: (String) -> [UInt8]?) -> [UInt8] {
        let line = head.prefix { $0 != 13 && $0 != 10 }
        let words = line.split(separator: 32).map { String(decoding: $0, as: UTF8.self) }
        guard words.count == 3, words[2].hasPrefix("HTTP/1.") else { return response("400 Bad Request", text: "bad request\n") }
        guard words[0] == "GET" || words[0] == "HEAD" else { return response("405 Method Not Allowed", text: "only GET\n", extra: "Allow: GET, HEAD\r\n") }
        let path = String(words[1].prefix { $0 != "?" })
        guard let page = body(path) else { return response("404 Not Found", text: "see /metrics\n") }
        let full = response("200 OK", body: page, type: "text/plain; version=0.0.4; charset=utf-8")
        return words[0] == "HEAD" ? Array(full.prefix(full.count - page.count)) : full
    }

    static func response(_ status: String, text: String, extra: String = "") -> [UInt8] {
        response(status, body: Array(text.utf8), type: "text/plain; charset=utf-8", extra: extra)
    }

    static func response(_ status: String, body: [UInt8], type: String, extra: String = "") -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n".utf8) + body
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
