// What the SQL store needs of a database: statements with bound parameters and transactions that
// nest. SQLite (one file, one handle) and PostgreSQL (libpq, a small pool) both provide it; the
// store's SQL is written once, with `?` placeholders, in the subset both engines speak.

/// A value bound to or read from SQL. All SQL here is parameterised; no value is ever spliced into text.
public enum SQLValue: Sendable, Equatable {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null

    var int: Int64? { if case .int(let v) = self { return v }; return nil }
    var text: String? { if case .text(let v) = self { return v }; return nil }
    var blob: [UInt8]? { if case .blob(let v) = self { return v }; return nil }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    init(_ i: Int64?) { self = i.map { .int($0) } ?? .null }
}

/// A store failure, worded for the admin who has to act on it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The statement or its data was refused (a constraint, a bug, a schema too new).
        case failed
        /// Another writer held the store longer than the busy timeout (SQLite).
        case busy
        /// The database could not be reached, or the connection broke, or a statement timed out:
        /// worth retrying later, and what the milter answers per on_error.
        case unavailable
    }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind = .failed, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

enum SQLDialect: Sendable {
    case sqlite
    case postgresql

    /// The scalar function that returns the larger of its arguments.
    var greatest: String { self == .sqlite ? "MAX" : "GREATEST" }
    /// A column that orders a table's rows as inserted: SQLite's rowid; the PostgreSQL schema gives
    /// such tables an `id` for it.
    var rowOrder: String { self == .sqlite ? "rowid" : "id" }
}

/// Statements inside one transaction, on the connection that holds it.
protocol SQLTransaction {
    var dialect: SQLDialect { get }
    /// Runs one statement (`?` placeholders, bound in order) and returns its rows.
    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws -> [[SQLValue]]
    /// Rows inserted, updated or deleted by the last statement run in this transaction.
    var changes: Int { get }
}

extension SQLTransaction {
    /// For an upgrade or a copy, which may take minutes on a large store: PostgreSQL's bounds on each
    /// statement and lock wait (store_busy_timeout, meant for the message path) do not hold for the
    /// rest of this transaction, which waits up to 5 minutes for a lock. SQLite has none to lift.
    func allowLongStatements() throws {
        guard dialect == .postgresql else { return }
        try query("SET LOCAL statement_timeout = 0", [])
        try query("SET LOCAL lock_timeout = '5min'", [])
        try query("SET LOCAL idle_in_transaction_session_timeout = 0", [])
    }
}

protocol SQLDatabase: AnyObject, Sendable {
    var dialect: SQLDialect { get }
    /// Where the database is, for messages: a file, or host:port/dbname (never a password).
    var location: String { get }
    /// Runs SQL text with no parameters (schema); may hold several statements.
    func exec(_ sql: String) throws
    /// Runs one statement outside any transaction of the caller's (or joins the caller's open one).
    @discardableResult
    func query(_ sql: String, _ params: [SQLValue]) throws -> [[SQLValue]]
    /// Runs `body` in one transaction. Called inside another transaction on the same thread, `body`
    /// joins it: everything commits or rolls back together, durably when any part asked for it
    /// (`durable`: the commit survives a power cut before this returns; otherwise a crash of the
    /// machine may lose the last moments, never corrupt). `readOnly`: a consistent snapshot that
    /// writes nothing. An error thrown by `body` rolls the outermost transaction back.
    func transaction<T>(durable: Bool, readOnly: Bool, _ body: (any SQLTransaction) throws -> T) throws -> T
}

extension SQLDatabase {
    func transaction<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction(durable: false, readOnly: false, body)
    }
    func transaction<T>(durable: Bool, _ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction(durable: durable, readOnly: false, body)
    }
    func transaction<T>(readOnly: Bool, _ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction(durable: false, readOnly: readOnly, body)
    }
    @discardableResult
    func query(_ sql: String) throws -> [[SQLValue]] { try query(sql, []) }
}

extension SQLTransaction {
    @discardableResult
    func query(_ sql: String) throws -> [[SQLValue]] { try query(sql, []) }
}
