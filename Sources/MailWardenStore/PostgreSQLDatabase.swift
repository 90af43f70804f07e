// PostgreSQL behind SQLDatabase, over libpq: a small pool of blocking connections (the callers are
// libmilter threads and the CLI), the store's `?` placeholders numbered `$1…$n`, and server errors
// sorted into "retry later" (.unavailable) and "refused" (.failed). A connection that broke is
// dropped rather than pooled, and the next use opens a fresh one: that is how the store recovers on
// its own once the server is back, or has failed over (a multi-host conninfo then finds the primary).
import CLibPQ
import Foundation
import MailWardenCore

/// A parsed conninfo and how to open connections with it; shared by the pool and the listener.
struct PostgreSQLConnectionSettings: Sendable {
    /// Every keyword the conninfo set, plus the defaults added here; handed to PQconnectdbParams.
    private let settings: [(keyword: String, value: String)]
    /// host:port/dbname as configured (several hosts when failing over), for messages; no password.
    let configuredLocation: String

    init(conninfo: String, connectTimeout: Int) throws {
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &parseError) else {
            let detail = parseError.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(parseError)
            throw StoreError(.failed, "store: the PostgreSQL connection string is invalid: \(detail.trimmingCharacters(in: .whitespacesAndNewlines)) (expected postgresql://user@host:port/dbname or host=… port=… dbname=…)")
        }
        defer { PQconninfoFree(options) }
        var settings: [(keyword: String, value: String)] = []
        var index = 0
        while let keyword = options[index].keyword {
            if let value = options[index].val { settings.append((String(cString: keyword), String(cString: value))) }
            index += 1
        }
        func value(_ keyword: String) -> String? { settings.first { $0.keyword == keyword }?.value }
        // Without a connect timeout libpq waits for the kernel (minutes) when a host is unreachable.
        if value("connect_timeout") == nil { settings.append(("connect_timeout", String(connectTimeout))) }
        // Lets the DBA tell the milter's sessions apart in pg_stat_activity.
        if value("application_name") == nil { settings.append(("application_name", "mailwarden")) }
        // A network that silently drops packets would otherwise hold a statement for the kernel's
        // retransmission timeout (about 15 minutes): give up on unacknowledged data after 10 s, and
        // probe an idle connection so a dead peer is noticed before the next message needs it.
        if value("tcp_user_timeout") == nil { settings.append(("tcp_user_timeout", "10000")) }
        if value("keepalives_idle") == nil { settings.append(("keepalives_idle", "30")) }
        self.settings = settings

        let hosts = (value("host") ?? value("hostaddr") ?? "localhost").split(separator: ",", omittingEmptySubsequences: false)
        let ports = (value("port") ?? "5432").split(separator: ",", omittingEmptySubsequences: false)
        let endpoints = hosts.enumerated().map { i, host in "\(host):\(ports.count == hosts.count ? ports[i] : ports[0])" }
        configuredLocation = endpoints.joined(separator: ",") + "/" + (value("dbname") ?? value("user") ?? "")
    }

    /// Opens one connection, or throws .unavailable with libpq's reason.
    func connect() throws -> OpaquePointer {
        let keywords = settings.map { strdup($0.keyword) }
        let values = settings.map { strdup($0.value) }
        defer { (keywords + values).forEach { free($0) } }
        let handle = PQconnectdbParams((keywords + [nil]).map { UnsafePointer($0) }, (values + [nil]).map { UnsafePointer($0) }, 0)
        guard let handle else { throw StoreError(.unavailable, "store \(configuredLocation): cannot connect: out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = oneLine(String(cString: PQerrorMessage(handle)))
            PQfinish(handle)
            throw StoreError(.unavailable, "store \(configuredLocation): cannot connect: \(reason)")
        }
        // libpq prints notices and the server's goodbye (FATAL: terminating connection…) on stderr;
        // the errors that matter reach the caller as StoreErrors instead.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return handle
    }
}

/// libpq's multi-line messages ("…refused\n\tIs the server running…") as one log line.
func oneLine(_ message: String) -> String {
    message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
}

final class PostgreSQLDatabase: SQLDatabase, @unchecked Sendable {
    let dialect = SQLDialect.postgresql
    let location: String

    private let connectionSettings: PostgreSQLConnectionSettings
    private let sessionSetup: String
    private let poolSize: Int
    private let poolWait: TimeInterval
    private let connectTimeout: Int
    /// How long a statement may take (ms): also how long a broken COMMIT's outcome is waited for.
    private let statementTimeout: Int

    /// Guards the pool and the counters; signalled whenever a connection is returned or dropped.
    private let pool = NSCondition()
    private var idle: [PostgreSQLConnection] = []
    private var open = 0
    private var waitCount = 0
    private var errorCount = 0

    /// The transaction each thread has open, so that statements and transactions it starts inside
    /// `body` run on the same connection and join it.
    private let heldLock = NSLock()
    private var held: [pthread_t: PostgreSQLTransaction] = [:]

    private let numberedLock = NSLock()
    private var numbered: [String: NumberedStatement] = [:]

    /// `statementTimeout` (ms) bounds statements and lock waits alike: a milter thread must answer
    /// in time, and a timed-out statement is reported as .unavailable (answered per on_error).
    public init(conninfo: String, poolSize: Int = 4, connectTimeout: Int = 2, statementTimeout: Int = 2000, poolWait: TimeInterval = 2) throws {
        connectionSettings = try PostgreSQLConnectionSettings(conninfo: conninfo, connectTimeout: connectTimeout)
        self.poolSize = max(1, poolSize)
        self.poolWait = poolWait
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        // A transaction left open by a stuck thread would hold its row locks; the server ends it.
        // Hex bytea is what the decoder below reads, whatever the server's default.
        sessionSetup = """
            SET statement_timeout = \(statementTimeout); SET lock_timeout = \(statementTimeout); \
            SET idle_in_transaction_session_timeout = 10000; SET client_encoding = 'UTF8'; SET bytea_output = 'hex'
            """
        // Connect once now, so that a wrong conninfo or an unreachable server stops the start.
        let first = try PostgreSQLConnection(handle: connectionSettings.connect())
        func text(_ value: UnsafeMutablePointer<CChar>?) -> String { value.map { String(cString: $0) } ?? "" }
        location = "\(text(PQhost(first.handle))):\(text(PQport(first.handle)))/\(text(PQdb(first.handle)))"
        try setUp(first)
        idle = [first]
        open = 1
    }

    /// A listener on `channel` with this pool's connection settings, on a connection of its own; started.
    func listen(channel: String, onChange: @escaping @Sendable () -> Void) -> PostgreSQLListener {
        let listener = PostgreSQLListener(connectionSettings: connectionSettings, channel: channel, connectTimeout: connectTimeout,
                                          onChange: onChange)
        listener.start()
        return listener
    }

    /// Times a thread had to wait for a free connection.
    var poolWaits: Int { pool.withLock { waitCount } }
    /// Errors thrown to callers (statements, connects, an exhausted pool).
    var errors: Int { pool.withLock { errorCount } }
    var connectionsOpen: Int { pool.withLock { open } }

    func exec(_ sql: String) throws {
        try withConnection { connection in
            let result = PQexec(connection.handle, sql)
            defer { PQclear(result) }
            try check(result, on: connection, doing: "running schema SQL")
        }
    }

    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws -> [[SQLValue]] {
        if let transaction = heldTransaction() { return try transaction.query(sql, params) }
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try run(sql, params, on: connection).rows
    }

    /// A joining transaction takes the outer one as it is: read-only inside a writing one changes
    /// nothing, and a write inside a read-only one is refused by the server (.failed). A statement
    /// that fails aborts the whole transaction, even when `body` catches the error (see COMMIT below).
    func transaction<T>(durable: Bool, readOnly: Bool, _ body: (any SQLTransaction) throws -> T) throws -> T {
        if let outer = heldTransaction() {
            // PostgreSQL takes synchronous_commit until COMMIT, so the outer transaction need not restart.
            if durable && !outer.durable {
                try outer.query("SET LOCAL synchronous_commit = on", [])
                outer.durable = true
            }
            return try body(outer)
        }
        let connection = try checkOut()
        defer { checkIn(connection) }
        // Ordinary commits do not wait for the WAL flush: a crash may lose the last moments, and
        // the counts they held, but never corrupts. Read-only commits write no WAL anyway.
        // A writing transaction learns its id in the same round trip, to ask after a broken COMMIT.
        let begin = readOnly ? "BEGIN READ ONLY"
            : durable ? "BEGIN; SELECT txid_current()" : "BEGIN; SET LOCAL synchronous_commit = off; SELECT txid_current()"
        let beginResult = PQexec(connection.handle, begin)
        defer { PQclear(beginResult) }
        try check(beginResult, on: connection, doing: "starting a transaction")
        let transactionID = readOnly ? nil : Int64(String(cString: PQgetvalue(beginResult, 0, 0)))
        let backendPID = PQbackendPID(connection.handle)  // 0 once the connection broke, so taken now

        let transaction = PostgreSQLTransaction(database: self, connection: connection, durable: durable)
        heldLock.withLock { held[pthread_self()] = transaction }
        defer { _ = heldLock.withLock { held.removeValue(forKey: pthread_self()) } }
        let value: T
        do {
            value = try body(transaction)
        } catch {
            if PQstatus(connection.handle) == CONNECTION_OK {
                PQclear(PQexec(connection.handle, "ROLLBACK"))
            } else if let transactionID {
                // Never committed; but a server that has not noticed the break keeps the transaction,
                // and its row locks, open: ended here, not at idle_in_transaction_session_timeout.
                _ = outcome(of: transactionID, heldBy: backendPID, lostWith: connection)
            }
            throw error
        }
        let commit = PQexec(connection.handle, "COMMIT")
        defer { PQclear(commit) }
        if PQresultStatus(commit) != PGRES_COMMAND_OK {
            let error = failure(commit, on: connection, doing: "committing")
            // An answered COMMIT that failed rolled back; only a broken connection leaves it open.
            guard PQstatus(connection.handle) != CONNECTION_OK, let transactionID else { throw error }
            switch outcome(of: transactionID, heldBy: backendPID, lostWith: connection) {
            case .committed:
                return value
            case .rolledBack:
                throw StoreError(.unavailable, "\(error.message); it did not take effect (asked on a new connection)")
            case .unknown(let why):
                throw StoreError(.unavailable, "\(error.message); whether it took effect is unknown (\(why))")
            }
        }
        // A failed statement aborts the whole transaction: if `body` caught its error and went on,
        // the server turns COMMIT into ROLLBACK and nothing was stored.
        if String(cString: PQcmdStatus(commit)) == "ROLLBACK" {
            throw counted(StoreError(.failed, "store \(location): the transaction was rolled back because a statement in it failed (its error was caught and ignored)"))
        }
        return value
    }

    private enum CommitOutcome {
        case committed, rolledBack
        case unknown(String)
    }

    /// What became of a transaction whose connection broke after COMMIT was sent: committed, and
    /// answered as failed, its counts would be counted again when the message is retried; so the
    /// server is asked on a new connection. A backend still holding the transaction open (the server
    /// has not noticed the break: a network cut, not a closed socket) is ended, which settles the
    /// outcome at once and frees the transaction's row locks, which the retry would otherwise wait on
    /// until idle_in_transaction_session_timeout (also why a break before COMMIT comes here).
    /// Bounded by the connect and statement timeouts.
    private func outcome(of transactionID: Int64, heldBy backendPID: Int32, lostWith lost: PostgreSQLConnection) -> CommitOutcome {
        func text(_ value: UnsafeMutablePointer<CChar>?) -> String { value.map { String(cString: $0) } ?? "" }
        let server = "\(text(PQhost(lost.handle))):\(text(PQport(lost.handle)))"
        let checker: PostgreSQLConnection
        do {
            checker = try openConnection()
        } catch {
            return .unknown("cannot reconnect to ask: \(error)")
        }
        // After a failover the new connection reaches another server, whose transaction ids are not these.
        guard "\(text(PQhost(checker.handle))):\(text(PQport(checker.handle)))" == server else {
            return .unknown("the new connection reached another server")
        }
        let deadline = Date(timeIntervalSinceNow: Double(statementTimeout) / 1000)
        var ended = false
        while true {
            let status: SQLValue?
            do {
                status = try run("SELECT txid_status(?)", [.int(transactionID)], on: checker).rows.first?.first
            } catch {
                return .unknown("\(error)")
            }
            switch status {
            case .text("committed"): return .committed
            case .text("aborted"): return .rolledBack
            case .text("in progress"): break
            default: return .unknown("the server no longer knows the transaction")
            }
            if !ended {
                ended = true
                // Only the backend that still holds this transaction: its pid may have been reused.
                _ = try? run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ? AND backend_xid::text::bigint = ? % 4294967296",
                             [.int(Int64(backendPID)), .int(transactionID)], on: checker)
            }
            if Date() >= deadline { return .unknown("still in progress after \(statementTimeout) ms") }
            usleep(10_000)
        }
    }

    // MARK: Connections

    private func heldTransaction() -> PostgreSQLTransaction? {
        heldLock.withLock { held[pthread_self()] }
    }

    /// Runs `body` on the connection of the thread's open transaction, or on a pooled one.
    private func withConnection<T>(_ body: (PostgreSQLConnection) throws -> T) throws -> T {
        if let transaction = heldTransaction() { return try body(transaction.connection) }
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    private func checkOut() throws -> PostgreSQLConnection {
        let deadline = Date(timeIntervalSinceNow: poolWait)
        var waited = false
        pool.lock()
        while true {
            if let connection = idle.popLast() {
                if connection.isIdleAndAlive {
                    pool.unlock()
                    return connection
                }
                open -= 1
                continue
            }
            if open < poolSize {
                open += 1
                pool.unlock()
                do {
                    return try openConnection()
                } catch {
                    pool.withLock {
                        open -= 1
                        pool.signal()
                    }
                    throw error
                }
            }
            if !waited {
                waited = true
                waitCount += 1
            }
            if Date() >= deadline || !pool.wait(until: deadline) && idle.isEmpty && open >= poolSize {
                errorCount += 1
                pool.unlock()
                throw StoreError(.unavailable, "store \(location): connection pool exhausted: all \(poolSize) connections stayed busy for \(poolWait) s (slow statements, or raise the pool size)")
            }
        }
    }

    /// Pools the connection again, unless it broke or was left inside a transaction.
    private func checkIn(_ connection: PostgreSQLConnection) {
        let reusable = PQstatus(connection.handle) == CONNECTION_OK && PQtransactionStatus(connection.handle) == PQTRANS_IDLE
        pool.withLock {
            if reusable { idle.append(connection) } else { open -= 1 }
            pool.signal()
        }
    }

    private func openConnection() throws -> PostgreSQLConnection {
        let connection: PostgreSQLConnection
        do {
            connection = try PostgreSQLConnection(handle: connectionSettings.connect())
        } catch {
            throw counted(error)
        }
        try setUp(connection)
        return connection
    }

    private func setUp(_ connection: PostgreSQLConnection) throws {
        let result = PQexec(connection.handle, sessionSetup)
        defer { PQclear(result) }
        try check(result, on: connection, doing: "setting up the session")
    }

    // MARK: Statements

    /// Runs one statement with its parameters bound; `changes` is set for INSERT/UPDATE/DELETE/MERGE.
    fileprivate func run(_ sql: String, _ params: [SQLValue], on connection: PostgreSQLConnection) throws -> (rows: [[SQLValue]], changes: Int?) {
        let statement = numberedStatement(sql)
        guard statement.placeholders == params.count else {
            throw counted(StoreError(.failed, "store \(location): `\(sql.prefix(60))` has \(statement.placeholders) placeholders but \(params.count) values were bound"))
        }
        // All values go into one buffer (each text NUL-terminated) so their pointers stay valid for the call.
        var buffer: [UInt8] = []
        var offsets: [Int?] = []
        var types: [Oid] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        /// A value in text format, NUL-terminated.
        func appendText(_ bytes: some Sequence<UInt8>, type: Oid) {
            offsets.append(buffer.count)
            buffer.append(contentsOf: bytes)
            buffer.append(0)
            types.append(type)
            lengths.append(0)
            formats.append(0)
        }
        for param in params {
            switch param {
            case .int(let value):
                appendText(String(value).utf8, type: 20)  // int8
            case .text(let value):
                // PostgreSQL text cannot hold U+0000: it is stored as U+FFFD (the replacement character).
                appendText(value.replacingNUL().utf8, type: 25)  // text
            case .blob(let value):
                offsets.append(buffer.count)
                buffer.append(contentsOf: value)
                types.append(17)  // bytea, sent as raw bytes
                lengths.append(Int32(value.count))
                formats.append(1)
            case .null:
                offsets.append(nil)
                types.append(0)  // unknown: the server infers it from the context
                lengths.append(0)
                formats.append(0)
            }
        }
        buffer.append(0)  // keeps an empty blob at the end pointing inside the buffer (a NULL pointer means SQL NULL)
        let prepared = try prepare(statement.text, types: types, on: connection)
        let result = buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                let values = offsets.map { offset in offset.map { UnsafePointer(chars.baseAddress! + $0) } }
                if let prepared {
                    return PQexecPrepared(connection.handle, prepared, Int32(params.count), values, lengths, formats, 0)
                }
                return PQexecParams(connection.handle, statement.text, Int32(params.count), types, values, lengths, formats, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, on: connection, doing: "running `\(sql.prefix(60))…`")
        return (rows(of: result!), changes(of: result!))
    }

    /// The name `text` is prepared under on `connection`, preparing it on first use: parsed and
    /// planned once per session, not per message. The parameter types are fixed then (the store binds
    /// each placeholder one way). nil past the cap: texts built per call (lists of placeholders) go
    /// unprepared beyond it, so a session never holds an unbounded number of them.
    private func prepare(_ text: String, types: [Oid], on connection: PostgreSQLConnection) throws -> String? {
        if let name = connection.prepared[text] { return name }
        guard connection.prepared.count < PostgreSQLConnection.preparedCap else { return nil }
        let name = "mw\(connection.prepared.count)"
        let result = PQprepare(connection.handle, name, text, Int32(types.count), types)
        defer { PQclear(result) }
        try check(result, on: connection, doing: "preparing `\(text.prefix(60))…`")
        connection.prepared[text] = name
        return name
    }

    private func changes(of result: OpaquePointer) -> Int? {
        // Like sqlite3_changes: only statements that change rows count, a SELECT after an UPDATE does not reset it.
        let command = String(cString: PQcmdStatus(result))
        guard ["INSERT", "UPDATE", "DELETE", "MERGE"].contains(where: command.hasPrefix) else { return nil }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    private func rows(of result: OpaquePointer) -> [[SQLValue]] {
        let columnTypes = (0..<PQnfields(result)).map { PQftype(result, $0) }
        return (0..<PQntuples(result)).map { row in
            columnTypes.indices.map { column in
                let column = Int32(column)
                if PQgetisnull(result, row, column) != 0 { return .null }
                let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
                return Self.decode(bytes, type: columnTypes[Int(column)])
            }
        }
    }

    /// A column value in text format, by its type's OID.
    private static func decode(_ bytes: UnsafeRawBufferPointer, type: Oid) -> SQLValue {
        let text = String(decoding: bytes, as: UTF8.self)
        switch type {
        case 20, 21, 23, 26, 1700:  // int8, int2, int4, oid, numeric (what SUM(bigint) returns)
            if let value = Int64(text) { return .int(value) }
            return .text(text)  // a numeric with a fraction, or beyond 64 bits
        case 16:  // bool
            return .int(text == "t" ? 1 : 0)
        case 17:  // bytea, hex output ("\x0a1b…"): set for every session
            return .blob(decodeHex(bytes))
        default:
            return .text(text)
        }
    }

    private static func decodeHex(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: c - UInt8(ascii: "A") + 10
            }
        }
        guard bytes.count >= 2 else { return [] }
        var decoded: [UInt8] = []
        decoded.reserveCapacity((bytes.count - 2) / 2)
        var index = 2  // past "\x"
        while index + 1 < bytes.count {
            decoded.append(nibble(bytes[index]) << 4 | nibble(bytes[index + 1]))
            index += 2
        }
        return decoded
    }

    /// The statement with `?` numbered `$1…$n`, converted once per SQL text.
    private func numberedStatement(_ sql: String) -> NumberedStatement {
        if let known = numberedLock.withLock({ numbered[sql] }) { return known }
        let statement = NumberedStatement(sql)
        numberedLock.withLock { numbered[sql] = statement }
        return statement
    }

    // MARK: Errors

    private func check(_ result: OpaquePointer?, on connection: PostgreSQLConnection, doing what: String) throws {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw failure(result, on: connection, doing: what)
        }
    }

    private func failure(_ result: OpaquePointer?, on connection: PostgreSQLConnection, doing what: String) -> StoreError {
        func field(_ code: Character) -> String? {
            result.flatMap { PQresultErrorField($0, Int32(code.asciiValue!)) }.map { String(cString: $0) }
        }
        let sqlState = field("C")
        let broken = PQstatus(connection.handle) != CONNECTION_OK
        let message = field("M") ?? oneLine(String(cString: PQerrorMessage(connection.handle)))
        let kind: StoreError.Kind = broken || sqlState.map(Self.isTransient) == true ? .unavailable : .failed
        let hint = broken ? " (connection lost: the next use reconnects)" : ""
        return counted(StoreError(kind, "store \(location): \(what): \(message)\(hint)"))
    }

    /// Worth retrying later: the server or the connection went away, or a statement was cut off
    /// by a timeout, a lock, a deadlock or a serialization conflict, or the server is out of resources.
    private static func isTransient(_ sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || sqlState.hasPrefix("53")
            || ["57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01"].contains(sqlState)
    }

    private func counted<E: Error>(_ error: E) -> E {
        pool.withLock { errorCount += 1 }
        return error
    }
}

/// One libpq connection, used by one thread at a time (the pool hands it out); closed when released.
private final class PostgreSQLConnection {
    let handle: OpaquePointer
    /// Statements prepared on this session (PostgreSQLDatabase.prepare), by text.
    var prepared: [String: String] = [:]
    static let preparedCap = 200

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { PQfinish(handle) }

    /// An idle connection has nothing to say: if its socket is readable, the server ended the
    /// session (restart, failover, idle timeout, pg_terminate_backend), so it is not worth a statement.
    var isIdleAndAlive: Bool {
        guard PQstatus(handle) == CONNECTION_OK else { return false }
        var socket = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&socket, 1, 0) == 0
    }
}

/// The transaction a thread holds; joined by transactions and statements it starts inside it.
private final class PostgreSQLTransaction: SQLTransaction {
    let database: PostgreSQLDatabase
    let connection: PostgreSQLConnection
    var durable: Bool
    private(set) var changes = 0
    let dialect = SQLDialect.postgresql

    init(database: PostgreSQLDatabase, connection: PostgreSQLConnection, durable: Bool) {
        self.database = database
        self.connection = connection
        self.durable = durable
    }

    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws -> [[SQLValue]] {
        let result = try database.run(sql, params, on: connection)
        if let changes = result.changes { self.changes = changes }
        return result.rows
    }
}

/// SQL with the store's `?` placeholders numbered `$1…$n` for PostgreSQL. A `?` inside a
/// '…' string, a "…" identifier or a comment is text, not a placeholder.
struct NumberedStatement: Sendable {
    let text: String
    let placeholders: Int

    init(_ sql: String) {
        enum Context { case code, string, identifier, lineComment, blockComment }
        var context = Context.code
        var output: [UInt8] = []
        output.reserveCapacity(sql.utf8.count + 16)
        var count = 0
        var previous: UInt8 = 0
        for byte in sql.utf8 {
            switch (context, byte) {
            case (.code, UInt8(ascii: "?")):
                count += 1
                output.append(UInt8(ascii: "$"))
                output.append(contentsOf: String(count).utf8)
                previous = 0
                continue
            // '' inside a string leaves and re-enters it, which needs no special case.
            case (.code, UInt8(ascii: "'")): context = .string
            case (.code, UInt8(ascii: "\"")): context = .identifier
            case (.code, UInt8(ascii: "-")) where previous == UInt8(ascii: "-"): context = .lineComment
            case (.code, UInt8(ascii: "*")) where previous == UInt8(ascii: "/"): context = .blockComment
            case (.string, UInt8(ascii: "'")), (.identifier, UInt8(ascii: "\"")), (.lineComment, UInt8(ascii: "\n")):
                context = .code
            case (.blockComment, UInt8(ascii: "/")) where previous == UInt8(ascii: "*"):
                context = .code
                output.append(byte)
                previous = 0  // so "*/*" does not open another comment
                continue
            default: break
            }
            output.append(byte)
            previous = byte
        }
        text = String(decoding: output, as: UTF8.self)
        placeholders = count
    }
}
