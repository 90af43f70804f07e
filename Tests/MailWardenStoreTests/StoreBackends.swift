import Foundation
import Testing
@testable import MailWardenStore

/// The databases the store contract runs against: SQLite always; PostgreSQL too when MW_POSTGRES
/// names a server where the tests may create databases (`make unit` starts a private one).
enum Backend: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    static let available: [Backend] = ProcessInfo.processInfo.environment["MW_POSTGRES"] == nil ? [.sqlite] : [.sqlite, .postgresql]
    var testDescription: String { rawValue }
}

/// A fresh, empty store per test: a file in a temporary directory, or a new PostgreSQL database;
/// removed afterwards.
final class TempStore: Sendable {
    let backend: Backend
    let dir: URL
    /// The SQLite file.
    var path: String { dir.appendingPathComponent("mailwarden.db").path }
    /// The PostgreSQL database's URI.
    let conninfo: String?
    private let database: String

    init(_ backend: Backend = .sqlite) throws {
        self.backend = backend
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        database = "mw_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        guard backend == .postgresql, let admin = ProcessInfo.processInfo.environment["MW_POSTGRES"] else {
            conninfo = nil
            return
        }
        // `database` is made of [a-z0-9_] only, so it may be spliced into the statement.
        try PostgreSQLDatabase(conninfo: admin, poolSize: 1).exec("CREATE DATABASE \(database)")
        conninfo = Self.replacingDatabase(of: admin, with: database)
    }

    func open() throws -> SQLStore {
        guard let conninfo else { return try SQLStore(path: path) }
        return try SQLStore(database: PostgreSQLDatabase(conninfo: conninfo))
    }

    /// postgresql://mw@127.0.0.1:5432/postgres?… → postgresql://mw@127.0.0.1:5432/NAME?…
    static func replacingDatabase(of uri: String, with name: String) -> String {
        let authority = uri.range(of: "://").map(\.upperBound) ?? uri.startIndex
        let query = uri.firstIndex(of: "?") ?? uri.endIndex
        let path = uri[authority..<query].firstIndex(of: "/") ?? query
        return uri[..<path] + "/" + name + uri[query...]
    }

    deinit {
        try? FileManager.default.removeItem(at: dir)
        if conninfo != nil, let admin = ProcessInfo.processInfo.environment["MW_POSTGRES"] {
            try? PostgreSQLDatabase(conninfo: admin, poolSize: 1).exec("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        }
    }
}
