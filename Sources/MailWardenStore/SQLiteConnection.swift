// A thin, thread-safe wrapper over one sqlite3 handle: prepared-statement cache, parameter binding,
// transactions. libmilter runs one connection's callbacks on several threads, so the handle is not
// tied to a thread: every use holds the connection's mutex.
import CSQLite
import Foundation

final class SQLiteConnection: SQLDatabase, @unchecked Sendable {
    private let db: OpaquePointer
    // NSRecursiveLock rather than Mutex: results of generic transactions are not `sending`, and a
    // transaction may call store methods that open transactions of their own (they join it).
    private let mutex = NSRecursiveLock()
    /// Transactions open on the thread that holds `mutex`; only that thread reads or writes it.
    private var transactionDepth = 0
    /// Whether the open transaction commits with synchronous=FULL.
    private var openTransactionIsDurable = false

    /// Thrown inside an ordinary transaction by a joining one that must be durable: the outer
    /// transaction rolls back and runs again as a durable one. SQLite fixes the commit's safety
    /// level before BEGIN, and only then.
    private struct DurableRestart: Error {}
    private var cache: [String: OpaquePointer] = [:]
    let path: String
    var location: String { path }
    let dialect = SQLDialect.sqlite

    init(path: String, busyTimeoutMilliseconds: Int32) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let detail = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let handle { sqlite3_close_v2(handle) }
            throw StoreError(.failed, "cannot open store \(path): \(detail) (check the path and that its directory is writable by this user)")
        }
        db = handle
        self.path = path
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        for stmt in cache.values { sqlite3_finalize(stmt) }
        sqlite3_close_v2(db)
    }

    private func error(_ rc: Int32, _ context: String) -> StoreError {
        let base = rc & 0xff
        var text = String(cString: sqlite3_errmsg(db))
        switch base {
        case SQLITE_BUSY, SQLITE_LOCKED:
            text += " (another process held the store longer than store_busy_timeout)"
        case SQLITE_FULL:
            text += " (the disk holding \(path) is full: free space, then retry)"
        case SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM:
            text += " (check the permissions of \(path) and its directory)"
        default:
            break
        }
        return StoreError(base == SQLITE_BUSY || base == SQLITE_LOCKED ? .busy : .failed, "store \(path): \(context): \(text)")
    }

    /// Runs SQL text with no parameters (schema, pragmas); may hold several statements.
    func exec(_ sql: String) throws {
        try mutex.withLock {
            var err: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(db, sql, nil, nil, &err)
            if let err { sqlite3_free(err) }
            if rc != SQLITE_OK { throw error(rc, "executing schema/pragma") }
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws -> [[SQLValue]] {
        try mutex.withLock { try run(sql, params) }
    }

    /// Runs `body` in one IMMEDIATE transaction (writers queue up front instead of failing mid-way);
    /// `readOnly` starts a DEFERRED one instead: a consistent snapshot that does not block the writer (WAL).
    /// Called inside another transaction on the same thread, `body` joins the outer one, which
    /// commits or rolls back everything together, durably when any part asks for it: a message's
    /// count alone is an ordinary commit; when the count sets a lock, the transaction runs again as
    /// a durable one (`body` must not swallow errors of the store calls it makes).
    func transaction<T>(durable: Bool, readOnly: Bool, _ body: (any SQLTransaction) throws -> T) throws -> T {
        try mutex.withLock {
            if transactionDepth > 0 {
                if durable && !openTransactionIsDurable { throw DurableRestart() }
                transactionDepth += 1
                defer { transactionDepth -= 1 }
                return try body(Transaction(connection: self))
            }
            var durable = durable
            while true {
                do {
                    return try run(body, durable: durable, readOnly: readOnly)
                } catch is DurableRestart where !durable {
                    durable = true
                }
            }
        }
    }

    /// One outermost transaction (the caller holds `mutex`).
    private func run<T>(_ body: (any SQLTransaction) throws -> T, durable: Bool, readOnly: Bool) throws -> T {
        transactionDepth = 1
        openTransactionIsDurable = durable
        defer { transactionDepth = 0 }
        if durable { try run("PRAGMA synchronous = FULL") }
        defer { if durable { _ = try? run("PRAGMA synchronous = NORMAL") } }
        try run(readOnly ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE")
        do {
            let value = try body(Transaction(connection: self))
            try run("COMMIT")
            return value
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    /// Statements inside a transaction (the mutex is already held).
    struct Transaction: SQLTransaction {
        let connection: SQLiteConnection
        var dialect: SQLDialect { .sqlite }

        @discardableResult
        func query(_ sql: String, _ params: [SQLValue]) throws -> [[SQLValue]] {
            try connection.run(sql, params)
        }

        var changes: Int { Int(sqlite3_changes(connection.db)) }
    }

    /// Caller holds `mutex`.
    @discardableResult
    private func run(_ sql: String, _ params: [SQLValue] = []) throws -> [[SQLValue]] {
        let stmt: OpaquePointer
        if let cached = cache[sql] {
            stmt = cached
        } else {
            var s: OpaquePointer?
            let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil)
            guard rc == SQLITE_OK, let s else { throw error(rc, "preparing statement") }
            cache[sql] = s
            stmt = s
        }
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch p {
            case .int(let v): rc = sqlite3_bind_int64(stmt, idx, v)
            case .text(let v): rc = sqlite3_bind_text(stmt, idx, v, -1, Self.transient)
            case .blob(let v): rc = v.withUnsafeBytes { sqlite3_bind_blob(stmt, idx, $0.baseAddress, Int32(v.count), Self.transient) }
            case .null: rc = sqlite3_bind_null(stmt, idx)
            }
            if rc != SQLITE_OK { throw error(rc, "binding parameter \(idx)") }
        }
        var rows: [[SQLValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, "running `\(sql.prefix(40))…`") }
            var row: [SQLValue] = []
            for c in 0..<sqlite3_column_count(stmt) {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, c)))
                case SQLITE_NULL: row.append(.null)
                case SQLITE_BLOB:
                    let n = Int(sqlite3_column_bytes(stmt, c))
                    let p = sqlite3_column_blob(stmt, c)
                    row.append(.blob(n == 0 || p == nil ? [] : Array(UnsafeRawBufferPointer(start: p, count: n))))
                default:
                    row.append(.text(sqlite3_column_text(stmt, c).map { String(cString: $0) } ?? ""))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
