// A minimal HTTP/1.x listener for Prometheus scrapes: GET of one path, one connection at a time,
// `Connection: close`. A scrape every few seconds needs no more, and it keeps an HTTP stack (and the
// libcurl that Foundation's networking would link in) out of the milter. Everything a client sends
// is bounded: the request head (8 KiB) and the whole connection's time (5 s), however it trickles.
import Foundation
import Glibc
import MailWardenCore

struct ListenerFailure: Error, CustomStringConvertible {
    let description: String
}

final class ScrapeListener: Sendable {
    static let maxRequest = 8192
    static let timeoutSeconds = 5
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
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0, listen(fd, 16) == 0 else {
            let reason = Self.errorText()
            close(fd)
            throw ListenerFailure(description: "cannot listen on \(address.host):\(address.port): \(reason)")
        }
        self.fd = fd
    }

    /// Answers connections for ever; `body(path)` is the page at `path`, or nil for 404.
    func serve(_ body: (String) -> [UInt8]?) -> Never {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            // Non-blocking: every wait is a poll against the connection's deadline.
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            let deadline = ContinuousClock.now + .seconds(Self.timeoutSeconds)
            if let head = Self.readHead(client, before: deadline) { Self.send(Self.answer(to: head, body), to: client, before: deadline) }
            close(client)
        }
    }

    /// The request head up to its blank line, or nil when the client is too slow, too long or gone.
    static func readHead(_ client: Int32, before deadline: ContinuousClock.Instant) -> [UInt8]? {
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while head.count < maxRequest {
            guard wait(for: POLLIN, on: client, before: deadline) else { return nil }
            let n = recv(client, &chunk, min(chunk.count, maxRequest - head.count), 0)
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard n > 0 else { return nil }
            head += chunk[..<n]
            if head.count >= 4, head.indices.dropFirst(3).contains(where: { head[$0 - 3] == 13 && head[$0 - 2] == 10 && head[$0 - 1] == 13 && head[$0] == 10 }) {
                return head
            }
        }
        return head // too long: judged by its first line, and a line cut short is a bad request
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

    static func send(_ bytes: [UInt8], to client: Int32, before deadline: ContinuousClock.Instant) {
        var sent = 0
        while sent < bytes.count, wait(for: POLLOUT, on: client, before: deadline) {
            let n = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Whether the socket became ready for `events` before `deadline`.
    static func wait(for events: Int32, on client: Int32, before deadline: ContinuousClock.Instant) -> Bool {
        let left = (deadline - ContinuousClock.now).components
        let milliseconds = left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return false }
        var ready = pollfd(fd: client, events: Int16(events), revents: 0)
        return poll(&ready, 1, Int32(milliseconds)) == 1
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
