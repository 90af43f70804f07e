import Foundation
import Synchronization

/// A TCP proxy on loopback in front of the test's PostgreSQL server that breaks one connection at
/// its COMMIT, as a network, a firewall forgetting its state or a restarted pooler can.
final class CommitCutter: Sendable {
    enum Cut: String, Sendable, CaseIterable {
        /// COMMIT reaches the server, which commits; its answer is lost and the connection closed.
        case answerLost
        /// COMMIT never reaches the server, which is not told either (a network cut): the
        /// transaction stays open on the server, holding its row locks.
        case commitLost
        /// As commitLost, at the counting transaction's second statement instead, the first having
        /// locked the identity's row (its text crosses the wire when it is prepared on a new connection).
        case statementLost
    }

    /// One proxied connection's shared flag: the server's next answer is dropped and the link cut.
    private final class Link: Sendable {
        let answerToSwallow = Mutex(false)
    }

    private struct State {
        var armed: Cut?
        var cuts = 0
        var sockets: [Int32] = []
        var stopped = false
    }

    /// The upstream conninfo with the proxy's port in place of the server's.
    let conninfo: String
    private let listener: Int32
    private let upstreamPort: UInt16
    private let state = Mutex(State())
    /// A simple-protocol query message holding exactly COMMIT, as PQexec sends it.
    private static let commitMessage: [UInt8] = [UInt8(ascii: "Q"), 0, 0, 0, 11] + Array("COMMIT".utf8) + [0]
    /// The start of the counting transaction's second statement, as its Parse message carries it.
    private static let secondStatement = Array("WITH p(id, at) AS".utf8)

    /// `upstream` is a postgresql:// URI naming 127.0.0.1:PORT.
    init(upstream: String) throws {
        guard let portRange = upstream.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
              let port = UInt16(upstream[portRange].split(separator: ":")[1]) else {
            throw POSIXError(.EINVAL)  // the test server listens on 127.0.0.1
        }
        upstreamPort = port
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard listener >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        self.listener = listener
        conninfo = upstream.replacingCharacters(in: portRange, with: "127.0.0.1:\(UInt16(bigEndian: address.sin_port))")
        Thread.detachNewThread { [self] in acceptConnections() }
    }

    /// The next COMMIT through the proxy is cut this way; the connections after it pass untouched.
    func arm(_ cut: Cut) { state.withLock { $0.armed = cut } }
    var cuts: Int { state.withLock { $0.cuts } }

    /// Closes the listener and every connection, so that the held transactions end.
    func stop() {
        let sockets = state.withLock { s in
            s.stopped = true
            return s.sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit {
        stop()
        close(listener)
        for fd in state.withLock({ $0.sockets }) { close(fd) }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptConnections() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            let stopped = state.withLock { s in
                s.sockets += [client, server]
                return s.stopped
            }
            guard connected, !stopped else {
                shutdown(client, Int32(SHUT_RDWR))
                continue
            }
            let link = Link()
            Thread.detachNewThread { [self] in pumpFromClient(client, to: server, link) }
            Thread.detachNewThread { [self] in pumpFromServer(server, to: client, link) }
        }
    }

    private func pumpFromClient(_ client: Int32, to server: Int32, _ link: Link) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var recent: [UInt8] = []  // the bytes before this read, in case COMMIT spans two reads
        while true {
            let count = read(client, &buffer, buffer.count)
            guard count > 0 else { break }
            let chunk = Array(buffer[..<count])
            let seen = recent + chunk
            recent = Array(seen.suffix(Self.commitMessage.count * 2))
            let cut: Cut? = state.withLock { s in
                let matches = switch s.armed {
                case .statementLost?: seen.firstRange(of: Self.secondStatement) != nil
                case .answerLost?, .commitLost?: seen.ends(with: Self.commitMessage)
                case nil: false
                }
                guard matches else { return nil }
                defer { s.armed = nil }
                s.cuts += 1
                return s.armed
            }
            switch cut {
            case .answerLost?:
                link.answerToSwallow.withLock { $0 = true }
            case .commitLost?, .statementLost?:
                shutdown(client, Int32(SHUT_RDWR))  // the server's side stays open and idle
                return
            case nil:
                break
            }
            guard send(server, chunk, count, Int32(MSG_NOSIGNAL)) == count else { break }
        }
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(server, Int32(SHUT_RDWR))
    }

    private func pumpFromServer(_ server: Int32, to client: Int32, _ link: Link) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(server, &buffer, buffer.count)
            guard count > 0, !link.answerToSwallow.withLock({ $0 }) else { break }
            guard send(client, buffer, count, Int32(MSG_NOSIGNAL)) == count else { break }
        }
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(server, Int32(SHUT_RDWR))
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
