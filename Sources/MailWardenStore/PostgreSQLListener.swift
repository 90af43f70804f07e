// LISTEN on one channel, on a thread and connection of its own, so that other processes' changes
// (NOTIFY) reach this one promptly. NOTIFY has no replay: after a lost connection the listener
// reconnects, listens again, and calls onChange too, so the caller re-reads what it may have missed.
import CLibPQ
import Foundation

final class PostgreSQLListener: @unchecked Sendable {
    private let connectionSettings: PostgreSQLConnectionSettings
    private let channel: String
    private let onChange: @Sendable () -> Void
    private let connectTimeout: Int

    /// How long a poll() waits for a notification: the most stop() waits for the thread to notice.
    private static let pollMilliseconds: Int32 = 200
    private static let firstBackoff: TimeInterval = 0.25
    private static let longestBackoff: TimeInterval = 5

    /// Guards the flags below; signalled by stop() (to cut a backoff short) and by the thread.
    private let state = NSCondition()
    private var stopping = false
    private var running = false
    private var firstAttemptDone = false

    /// An unreachable server is retried. `onChange` runs on the listener's thread, once per
    /// notification (payloads are not read) and once per reconnect.
    init(connectionSettings: PostgreSQLConnectionSettings, channel: String, connectTimeout: Int,
         onChange: @escaping @Sendable () -> Void) {
        self.connectionSettings = connectionSettings
        self.channel = channel
        self.connectTimeout = connectTimeout
        self.onChange = onChange
    }

    /// Returns once the thread listens, when the server can be reached, so that a caller reading
    /// the state after start() misses nothing; otherwise the thread keeps trying and calls
    /// onChange once it listens. Called once.
    func start() {
        state.withLock { running = true }
        Thread.detachNewThread(named: "pg-listen") { [self] in run() }
        state.withLock {
            while !firstAttemptDone { state.wait() }
        }
    }

    /// Ends the thread, which closes its connection; waits at most a connect timeout and a second.
    func stop() {
        state.lock()
        defer { state.unlock() }
        stopping = true
        state.broadcast()
        let deadline = Date(timeIntervalSinceNow: TimeInterval(connectTimeout + 1))
        while running && state.wait(until: deadline) {}
    }

    private func run() {
        var current = try? connectAndListen()
        state.withLock {
            firstAttemptDone = true
            state.broadcast()
        }
        var backoff = Self.firstBackoff
        var missed = current == nil
        while !state.withLock({ stopping }) {
            guard let connection = current else {
                current = try? connectAndListen()
                if current == nil {
                    state.withLock { if !stopping { _ = state.wait(until: Date(timeIntervalSinceNow: backoff)) } }
                    backoff = min(backoff * 2, Self.longestBackoff)
                } else {
                    backoff = Self.firstBackoff
                }
                continue
            }
            if missed {
                missed = false
                onChange()
            }
            if !deliverNotifications(on: connection) {
                PQfinish(connection)
                current = nil
                missed = true
            }
        }
        current.map { PQfinish($0) }
        state.withLock {
            running = false
            state.broadcast()
        }
    }

    /// Waits a moment for notifications and hands over those that came; false when the connection broke.
    private func deliverNotifications(on connection: OpaquePointer) -> Bool {
        var socket = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
        let ready = poll(&socket, 1, Self.pollMilliseconds)
        if ready > 0 && PQconsumeInput(connection) == 0 { return false }
        while let notification = PQnotifies(connection) {
            PQfreemem(notification)
            onChange()
        }
        return PQstatus(connection) == CONNECTION_OK
    }

    private func connectAndListen() throws -> OpaquePointer {
        let connection = try connectionSettings.connect()
        // The channel is an identifier: quoted by libpq, never spliced raw into the statement.
        guard let quoted = PQescapeIdentifier(connection, channel, channel.utf8.count) else {
            let reason = oneLine(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw StoreError(.failed, "store \(connectionSettings.configuredLocation): cannot listen on \(channel): \(reason)")
        }
        let statement = "LISTEN " + String(cString: quoted)
        PQfreemem(quoted)
        let result = PQexec(connection, statement)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            let reason = oneLine(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw StoreError(.unavailable, "store \(connectionSettings.configuredLocation): cannot listen on \(channel): \(reason)")
        }
        return connection
    }
}
