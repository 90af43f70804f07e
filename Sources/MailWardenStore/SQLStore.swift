// The store over SQL: the PolicyStore the milter counts into, and the queries and changes the admin
// CLI makes, written once for SQLite (one host, the default) and PostgreSQL (several hosts, one
// database). Counters commit ordinarily; locks and reports durably, so a lock stands even after a
// power cut, not only after kill -9. The few spots where the two dialects differ ask `db.dialect`.
import MailWardenCore

/// Copies the WAL into the database (a passive checkpoint: it waits for no reader or writer), on a
/// connection of its own so that the store's users never wait on it.
public final class WALCheckpointer: @unchecked Sendable {
    private let db: SQLiteConnection

    init(path: String) throws {
        db = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 100)
    }

    /// Returns the WAL's frames and how many of them are now in the database.
    @discardableResult
    public func checkpoint() throws -> (frames: Int64, copied: Int64) {
        let row = try db.query("PRAGMA wal_checkpoint(PASSIVE)").first ?? []
        return (row.count > 2 ? row[1].int ?? 0 : 0, row.count > 2 ? row[2].int ?? 0 : 0)
    }
}

public final class SQLStore: Store, @unchecked Sendable {
    let db: any SQLDatabase
    /// Where the policy version and snapshot are read. For SQLite a connection of its own: in WAL a
    /// reader never waits for a writer, so a message's lock check does not queue behind other
    /// messages' counts on the store's connection.
    private let policyReads: any SQLDatabase
    public var location: String { db.location }

    /// Opens (creating and migrating if needed) the SQLite store at `path`. WAL lets the daemon and
    /// the CLI use it at once.
    public convenience init(path: String, busyTimeout: TimeSpan = TimeSpan(seconds: 2)) throws {
        let ms = Int32(clamping: max(busyTimeout.seconds, 0) * 1000)
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: ms == 0 ? 100 : ms)
        try connection.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        let reader = try SQLiteConnection(path: path, busyTimeoutMilliseconds: ms == 0 ? 100 : ms)
        try reader.exec("PRAGMA query_only = ON")
        try self.init(database: connection, policyReads: reader)
    }

    /// Opens the store in `database`, creating or migrating its schema if needed.
    init(database: any SQLDatabase, policyReads: (any SQLDatabase)? = nil) throws {
        db = database
        self.policyReads = policyReads ?? database
        try migrate()
    }

    private func migrate() throws {
        let migrations = Schema.migrations(db.dialect)
        let version = try storedSchemaVersion()
        guard version < migrations.count else {
            if version > migrations.count {
                throw StoreError(.failed, "store \(location) has schema version \(version), newer than this MailWarden (\(migrations.count)): upgrade MailWarden")
            }
            return
        }
        try db.transaction(durable: true) { tx in
            try tx.allowLongStatements()
            // Re-read under the write lock: another process (another host) may have migrated meanwhile.
            let current = try Schema.lockAndReadVersion(tx, db.dialect)
            for v in current..<migrations.count {
                for statement in migrations[v].components(separatedBy: ";\n") where !statement.trimmingWhitespace().isEmpty {
                    try tx.query(statement)
                }
                try Schema.setVersion(tx, db.dialect, v + 1)
            }
        }
    }

    private func storedSchemaVersion() throws -> Int {
        try db.transaction(readOnly: true) { tx in try Schema.readVersion(tx, db.dialect) }
    }

    public var schemaVersion: Int { (try? storedSchemaVersion()) ?? 0 }

    /// Takes WAL checkpoints off this connection's commits. SQLite otherwise runs one inside the
    /// commit that fills the WAL to 1000 pages, about every 125th message, and that commit then
    /// waits 10–25 ms for the copy and fsync. The returned checkpointer, on a connection of its own,
    /// does the work instead (run it every second or so from a thread that answers nobody). A
    /// commit still checkpoints at 4000 pages, which only happens when the passive checkpoints fall
    /// behind a sustained load: the WAL can be restarted only once it has been copied whole, so
    /// this bounds it (16 MB), and what is left to copy then is what came since the last second.
    /// nil for PostgreSQL, which checkpoints by itself.
    public func checkpointInBackground() throws -> WALCheckpointer? {
        guard let sqlite = db as? SQLiteConnection else { return nil }
        let checkpointer = try WALCheckpointer(path: sqlite.path)
        try sqlite.exec("PRAGMA wal_autocheckpoint = 4000")
        return checkpointer
    }

    // MARK: - PolicyStore

    /// One transaction; it commits durably when anything inside asks for it (a lock).
    public func atomically<T>(_ body: () throws -> T) throws -> T {
        try db.transaction { _ in try body() }
    }

    public func state(of identity: Identity) throws -> IdentityState {
        let rows = try db.query("""
            SELECT \(Self.lockColumns), o.limit_messages, o.limit_recipients, o.limit_spam, o.limit_complaints, o.exempt
            FROM identities i
            LEFT JOIN locks l ON l.identity_id = i.id AND l.lifted_at IS NULL
            LEFT JOIN overrides o ON o.identity_id = i.id
            WHERE i.name = ?
            """, [.text(identity)])
        guard let row = rows.first else { return IdentityState(lock: nil, override: nil) }
        let lock = row[1] == .null ? nil : Self.lockRecord(row)
        let o = Array(row[Self.lockColumnCount...])
        return IdentityState(lock: lock, override: o[4] == .null ? nil : Self.identityOverride(o))
    }

    /// An overrides row from limit_messages, limit_recipients, limit_spam, limit_complaints, exempt.
    static func identityOverride(_ o: [SQLValue]) -> IdentityOverride {
        var limits: [Counter: LimitOverride] = [:]
        for (i, counter) in [Counter.messages, .recipients, .spam, .complaints].enumerated() {
            if let t = o[i].text, let l = LimitOverride(t) { limits[counter] = l }
        }
        return IdentityOverride(limits: limits, exempt: o[4].int == 1)
    }

    public func policyVersion() throws -> Int64 {
        try policyReads.query("SELECT version FROM policy_version").first?.first?.int ?? 0
    }

    public func policySnapshot() throws -> PolicySnapshot {
        try policyReads.transaction(readOnly: true) { tx in
            // The version first: see PolicyStore.policySnapshot.
            let version = try tx.query("SELECT version FROM policy_version").first?.first?.int ?? 0
            let locks = try tx.query("SELECT \(Self.lockColumns) FROM locks l JOIN identities i ON i.id = l.identity_id WHERE l.lifted_at IS NULL")
                .map(Self.lockRecord)
            let overrides = try tx.query("""
                SELECT i.name, o.limit_messages, o.limit_recipients, o.limit_spam, o.limit_complaints, o.exempt
                FROM overrides o JOIN identities i ON i.id = o.identity_id
                """).map { row in (row[0].text ?? "", Self.identityOverride(Array(row[1...]))) }
            return PolicySnapshot(version: version, locks: Dictionary(locks.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a }),
                                  overrides: Dictionary(overrides, uniquingKeysWith: { a, _ in a }))
        }
    }

    public func record(_ run: [MessageEvent], windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        guard let event = run.first else { return [:] }
        let counted = MessageEvent.counted(run)
        return try db.transaction { tx in
            let id = try Self.touchIdentity(tx, event.identity, at: event.at,
                                            counts: "messages = messages + ?, recipients = recipients + ?, spam = spam + ?",
                                            counted.map { .int(Int64($0.amount)) })
            if tx.dialect == .postgresql { return try Self.countOnPostgreSQL(tx, identityID: id, run, counted, windows: windows) }
            for (counter, amount) in counted where amount > 0 {
                // A later second already counted (another host's clock is ahead): its running total grows too.
                try tx.query("UPDATE window_events SET running = running + ? WHERE identity_id = ? AND counter = ? AND at > ?",
                             [.int(Int64(amount)), .int(id), .text(counter.rawValue), .int(event.at)])
                try tx.query("""
                    INSERT INTO window_events(identity_id, counter, at, amount, running)
                    VALUES(?, ?, ?, ?, ? + COALESCE((SELECT running FROM window_events
                                                      WHERE identity_id = ? AND counter = ? AND at < ? ORDER BY at DESC LIMIT 1), 0))
                    ON CONFLICT(identity_id, counter, at) DO UPDATE SET amount = window_events.amount + excluded.amount,
                        running = window_events.running + excluded.amount
                    """, [.int(id), .text(counter.rawValue), .int(event.at), .int(Int64(amount)), .int(Int64(amount)),
                          .int(id), .text(counter.rawValue), .int(event.at)])
            }
            for message in run { try Self.logOutbound(tx, identityID: id, message) }
            return try Self.windowTotals(tx, identityID: id, now: event.at, windows: windows)
        }
    }

    /// One statement (one round trip to PostgreSQL, one snapshot), outside any transaction.
    public func windowTotals(of identity: Identity, at: Int64, windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        let row = try policyReads.query(Self.windowTotalsByNameQuery, Self.windowCounters.flatMap { c -> [SQLValue] in
            [.text(identity), .text(c.rawValue), .text(identity), .text(c.rawValue), .int(at - (windows[c]?.seconds ?? 3600))]
        }).first ?? []
        return Self.totals(row)
    }

    /// A value for a column under a btree index, or nil: PostgreSQL refuses an index entry over about
    /// 2.7 KB (a third of a page), and with it the whole transaction. No Message-ID, URL or ticket
    /// anyone looks up is that long, and a sender's or a stranger's must not stop the count or the desk.
    static func indexable(_ value: String?) -> String? {
        value.flatMap { $0.utf8.count <= maxIndexedBytes ? $0 : nil }
    }
    static let maxIndexedBytes = 2_000

    private static func logOutbound(_ tx: any SQLTransaction, identityID id: Int64, _ event: MessageEvent) throws {
        try tx.query("INSERT INTO outbound(at, identity_id, message_id, queue_id, recipients, spam, scan, recipient_domains) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                     [.int(event.at), .int(id), SQLValue(Self.indexable(event.messageID)), SQLValue(event.queueID),
                      .int(Int64(event.recipients)), .int(event.spam ? 1 : 0), SQLValue(event.scan), Self.recipientDomains(event)])
    }

    /// A message's recipient domains as stored: comma-separated (no domain holds a comma).
    static func recipientDomains(_ event: MessageEvent) -> SQLValue {
        .text(event.recipientDomains.prefix(MessageEvent.maxRecipientDomains).joined(separator: ","))
    }

    /// PostgreSQL: the count after touchIdentity in one statement (a round trip each). touchIdentity's
    /// UPDATE took the identity's row lock, which every host's count of it takes first and holds to
    /// COMMIT; so this statement's snapshot, taken after it, holds every earlier count, and the
    /// running totals it extends are exact.
    /// The run's first message's outbound row is written by the statement, the others' after it.
    static func countOnPostgreSQL(_ tx: any SQLTransaction, identityID id: Int64, _ run: [MessageEvent],
                                  _ counted: [(counter: Counter, amount: Int)], windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        let event = run[0]
        func since(_ counter: Counter) -> SQLValue { .int(event.at - (windows[counter]?.seconds ?? 3600)) }
        var parameters: [SQLValue] = [.int(id), .int(event.at)]
        // In the statement's order of counters (`a`), whatever the order of `counted`.
        for counter in [Counter.messages, .recipients, .spam] {
            parameters += [.int(Int64(counted.first { $0.counter == counter }?.amount ?? 0)), since(counter)]
        }
        let rows = try tx.query(postgreSQLCount, parameters + [.int(event.at), .int(id), SQLValue(Self.indexable(event.messageID)), SQLValue(event.queueID),
                                                               .int(Int64(event.recipients)), .int(event.spam ? 1 : 0), SQLValue(event.scan),
                                                               recipientDomains(event)])
        for message in run.dropFirst() { try logOutbound(tx, identityID: id, message) }
        var totals: [Counter: Int] = [.messages: 0, .recipients: 0, .spam: 0]
        for row in rows {
            if let counter = row.first?.text.flatMap(Counter.init(rawValue:)) { totals[counter] = Int(row[1].int ?? 0) }
        }
        return totals
    }

    /// countOnPostgreSQL's statement: this second's buckets, the outbound row, and each
    /// counter's window total. Its snapshot does not see its own writes, so the totals read the
    /// buckets' new running totals from the upsert (`bucket`), and a later second's (another
    /// host's clock is ahead) as the table has it plus the run's amount.
    private static let postgreSQLCount = """
        WITH p(id, at) AS (VALUES (?::bigint, ?::bigint)),
        a(counter, amount, since) AS (VALUES ('messages', ?::bigint, ?::bigint), ('recipients', ?::bigint, ?::bigint),
                                            ('spam', ?::bigint, ?::bigint)),
        later AS (
            UPDATE window_events w SET running = w.running + a.amount FROM a, p
            WHERE w.identity_id = p.id AND w.counter = a.counter AND w.at > p.at AND a.amount > 0
        ), bucket AS (
            INSERT INTO window_events(identity_id, counter, at, amount, running)
            SELECT p.id, a.counter, p.at, a.amount, a.amount + COALESCE((SELECT w.running FROM window_events w
                WHERE w.identity_id = p.id AND w.counter = a.counter AND w.at < p.at ORDER BY w.at DESC LIMIT 1), 0)
            FROM a, p WHERE a.amount > 0
            ON CONFLICT(identity_id, counter, at) DO UPDATE SET amount = window_events.amount + excluded.amount,
                running = window_events.running + excluded.amount
            RETURNING counter, amount, running
        ), logged AS (
            INSERT INTO outbound(at, identity_id, message_id, queue_id, recipients, spam, scan, recipient_domains) VALUES(?, ?, ?, ?, ?, ?, ?, ?)
        )
        SELECT a.counter, COALESCE(
            COALESCE((SELECT w.running + a.amount FROM window_events w
                      WHERE w.identity_id = p.id AND w.counter = a.counter AND w.at > p.at ORDER BY w.at DESC LIMIT 1),
                     (SELECT b.running FROM bucket b WHERE b.counter = a.counter),
                     (SELECT w.running FROM window_events w WHERE w.identity_id = p.id AND w.counter = a.counter ORDER BY w.at DESC LIMIT 1))
            - COALESCE((SELECT w.running - w.amount FROM window_events w
                        WHERE w.identity_id = p.id AND w.counter = a.counter AND w.at > a.since AND w.at < p.at ORDER BY w.at LIMIT 1),
                       (SELECT b.running - b.amount FROM bucket b WHERE b.counter = a.counter),
                       (SELECT w.running - w.amount FROM window_events w
                        WHERE w.identity_id = p.id AND w.counter = a.counter AND w.at > a.since ORDER BY w.at LIMIT 1)),
            0)
        FROM a, p
        """

    /// Window totals: an event counts while `at > now - window` (it leaves the window `window` seconds
    /// later). Each is the last bucket's running total less what came before the window's first
    /// bucket: two index look-ups whatever the number of seconds in the window. (An identity that
    /// sends every second fills an hour's window with 3,600 buckets; summing them cost 34 times a
    /// message's whole work, bench/results.md.) Pruning and unlocking delete buckets from the
    /// oldest or all of them, which a difference of two running totals does not notice.
    static func windowTotals(_ tx: any SQLTransaction, identityID: Int64, now: Int64,
                             windows: [Counter: TimeSpan]) throws -> [Counter: Int] {
        let row = try tx.query(windowTotalsQuery, windowCounters.flatMap { c -> [SQLValue] in
            [.int(identityID), .text(c.rawValue), .int(identityID), .text(c.rawValue), .int(now - (windows[c]?.seconds ?? 3600))]
        }).first ?? []
        return totals(row)
    }

    /// A window totals row, a column per counter (NULL: none in the window, or no such identity).
    private static func totals(_ row: [SQLValue]) -> [Counter: Int] {
        var out: [Counter: Int] = [:]
        for (i, c) in windowCounters.enumerated() { out[c] = Int(i < row.count ? row[i].int ?? 0 : 0) }
        return out
    }

    private static let windowCounters: [Counter] = [.messages, .recipients, .spam]
    /// Built once: the statement cache is keyed by the text, which every count would otherwise rebuild.
    private static let windowTotalsQuery = "SELECT " + windowCounters.map { _ in """
        (SELECT running FROM window_events WHERE identity_id = ? AND counter = ? ORDER BY at DESC LIMIT 1)
        - (SELECT running - amount FROM window_events WHERE identity_id = ? AND counter = ? AND at > ? ORDER BY at LIMIT 1)
        """ }.joined(separator: ", ")
    /// The same by the identity's name.
    private static let windowTotalsByNameQuery = windowTotalsQuery.replacingOccurrences(
        of: "identity_id = ?", with: "identity_id = (SELECT id FROM identities WHERE name = ?)")

    public func recordComplaint(identity: Identity, reporter: String, reportID: Int64, at: Int64, window: TimeSpan) throws -> ComplaintTally {
        try db.transaction { tx in
            let id = try Self.touchIdentity(tx, identity, at: at, counts: "complaints = complaints + 1")
            try tx.query("INSERT INTO complaint_events(identity_id, reporter, report_id, at) VALUES(?, ?, ?, ?)",
                         [.int(id), .text(reporter.lowercased()), .int(reportID), .int(at)])
            // The window ending at this complaint: one dated by its arrival may come after later ones.
            let reportIDs = try tx.query(
                "SELECT report_id FROM complaint_events WHERE identity_id = ? AND at > ? AND at <= ? AND \(Self.sinceLastLift) AND report_id IS NOT NULL ORDER BY at, \(db.dialect.rowOrder)",
                [.int(id), .int(at - window.seconds), .int(at)]).compactMap { $0.first?.int }
            return ComplaintTally(reporters: try Self.complaintReporters(tx, identityID: id, now: at, window: window), reportIDs: reportIDs)
        }
    }

    /// Complaints since the identity's last lock was lifted: an unlock (or a cooldown) starts its
    /// windows afresh, and one that arrived before it but was filed after (the desk was behind) is
    /// kept on record and counts toward nothing. Times are whole seconds: one in the lift's own
    /// second counts (an unlock and the next complaint often share it).
    static let sinceLastLift = "at >= COALESCE((SELECT MAX(lifted_at) FROM locks WHERE locks.identity_id = complaint_events.identity_id), 0)"

    /// The complaint window total: distinct reporters with a complaint at `now - window < at <= now`,
    /// since the last lift.
    static func complaintReporters(_ tx: any SQLTransaction, identityID: Int64, now: Int64, window: TimeSpan) throws -> Int {
        Int(try tx.query("SELECT COUNT(DISTINCT reporter) FROM complaint_events WHERE identity_id = ? AND at > ? AND at <= ? AND \(sinceLastLift)",
                         [.int(identityID), .int(now - window.seconds), .int(now)]).first?.first?.int ?? 0)
    }

    public func lock(_ lock: LockRecord) throws -> (lock: LockRecord, isNew: Bool) {
        try db.transaction(durable: true) { tx in
            let id = try Self.touchIdentity(tx, lock.identity, at: lock.lockedAt, counts: nil)
            // Another host may lock the same identity at the same moment: the unique index on active
            // locks lets one insert win, and the other returns the winner's lock.
            let inserted = try tx.query("""
                INSERT INTO locks(identity_id, locked_at, locked_by, automatic, reason, expires_at, counter, count, limit_text)
                VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(identity_id) WHERE lifted_at IS NULL DO NOTHING RETURNING id
                """, [.int(id), .int(lock.lockedAt), .text(lock.lockedBy), .int(lock.automatic ? 1 : 0), .text(lock.reason),
                      SQLValue(lock.expiresAt), SQLValue(lock.counter?.rawValue), SQLValue(lock.count.map(Int64.init)), SQLValue(lock.limit)])
            guard !inserted.isEmpty else {
                let existing = try tx.query("SELECT \(Self.lockColumns) FROM locks l JOIN identities i ON i.id = l.identity_id WHERE l.identity_id = ? AND l.lifted_at IS NULL", [.int(id)])
                guard let row = existing.first else { throw StoreError(.failed, "store: the lock of \(lock.identity) could be neither set nor read") }
                return (Self.lockRecord(row), false)
            }
            if lock.automatic { try tx.query("UPDATE identities SET auto_locks = auto_locks + 1 WHERE id = ?", [.int(id)]) }
            try Self.audit(tx, at: lock.lockedAt, actor: lock.lockedBy, action: "lock", identity: lock.identity, detail: lock.reason)
            return (lock, true)
        }
    }

    public func unlock(identity: Identity, by actor: String, reason: String?, at: Int64) throws -> Bool {
        try lift(identity, by: actor, reason: reason, at: at, onlyExpired: false)
    }

    public func liftExpiredLock(of identity: Identity, at: Int64) throws -> Bool {
        try lift(identity, by: "cooldown", reason: "lock_cooldown ended", at: at, onlyExpired: true)
    }

    private func lift(_ identity: Identity, by actor: String, reason: String?, at: Int64, onlyExpired: Bool) throws -> Bool {
        try db.transaction(durable: true) { tx in
            guard let id = try tx.query("SELECT id FROM identities WHERE name = ?", [.text(identity)]).first?.first?.int else { return false }
            try tx.query("UPDATE locks SET lifted_at = ?, lifted_by = ?, lift_reason = ? WHERE identity_id = ? AND lifted_at IS NULL"
                         + (onlyExpired ? " AND expires_at <= ?" : ""),
                         [.int(at), .text(actor), SQLValue(reason), .int(id)] + (onlyExpired ? [.int(at)] : []))
            guard tx.changes > 0 else { return false }
            // A fresh start: the windows that led to the lock would otherwise re-lock at the next message.
            try tx.query("DELETE FROM window_events WHERE identity_id = ?", [.int(id)])
            try tx.query("DELETE FROM complaint_events WHERE identity_id = ?", [.int(id)])
            try Self.audit(tx, at: at, actor: actor, action: "unlock", identity: identity, detail: reason)
            return true
        }
    }

    public func recordLockedAttempts(_ count: Int, identity: Identity, at: Int64, heldQueueID: String?) throws {
        try db.transaction { tx in
            let id = try Self.touchIdentity(tx, identity, at: at, counts: "refused = refused + ?", [.int(Int64(count))])
            try tx.query("UPDATE locks SET attempts = attempts + ? WHERE identity_id = ? AND lifted_at IS NULL", [.int(Int64(count)), .int(id)])
            if let q = heldQueueID {
                try tx.query("""
                    INSERT INTO held(queue_id, identity_id, lock_id, at)
                    VALUES(?, ?, (SELECT id FROM locks WHERE identity_id = ? AND lifted_at IS NULL), ?)
                    ON CONFLICT(queue_id) DO NOTHING
                    """, [.text(q), .int(id), .int(id), .int(at)])
            }
        }
    }

    // MARK: - Shared pieces

    /// Creates the identity on first sight, bumps last_seen and the given totals; returns its row id.
    static func touchIdentity(_ tx: any SQLTransaction, _ name: Identity, at: Int64, counts: String?,
                              _ amounts: [SQLValue] = []) throws -> Int64 {
        // Only traffic moves last_seen (an admin's lock or override is not a sighting).
        // `counts` is fixed column names and placeholders for `amounts`, never input: one statement text per caller.
        func existing() throws -> Int64? {
            let row = if let counts {
                try tx.query("UPDATE identities SET last_seen = \(tx.dialect.greatest)(last_seen, ?), \(counts) WHERE name = ? RETURNING id",
                             [.int(at)] + amounts + [.text(name)])
            } else {
                try tx.query("SELECT id FROM identities WHERE name = ?", [.text(name)])
            }
            return row.first?.first?.int
        }
        // Known identities (nearly every message) take one statement. A first sighting inserts; the
        // conflict clause lets another host's insert of the same name at the same moment win.
        if let id = try existing() { return id }
        try tx.query("INSERT INTO identities(name, first_seen, last_seen) VALUES(?, ?, ?) ON CONFLICT(name) DO NOTHING",
                     [.text(name), .int(at), .int(at)])
        guard let id = try existing() else { throw StoreError(.failed, "store: could not create identity \(name)") }
        return id
    }

    static func audit(_ tx: any SQLTransaction, at: Int64, actor: String, action: String, identity: String?, detail: String?) throws {
        try tx.query("INSERT INTO audit(at, actor, action, identity, detail) VALUES(?, ?, ?, ?, ?)",
                     [.int(at), .text(actor), .text(action), SQLValue(identity), SQLValue(detail)])
    }

    static let lockColumns = "i.name, l.locked_at, l.locked_by, l.automatic, l.reason, l.expires_at, l.counter, l.count, l.limit_text, l.attempts"
    static let lockColumnCount = 10

    static func lockRecord(_ row: [SQLValue]) -> LockRecord {
        LockRecord(identity: row[0].text ?? "", lockedAt: row[1].int ?? 0, lockedBy: row[2].text ?? "",
                   automatic: row[3].int == 1, reason: row[4].text ?? "", expiresAt: row[5].int,
                   counter: row[6].text.flatMap(Counter.init(rawValue:)), count: row[7].int.map { Int($0) },
                   limit: row[8].text, attempts: Int(row[9].int ?? 0))
    }
}

/// Announcements of policy changes that keep arriving until stop().
public final class PolicyChangeWatch: Sendable {
    private let listener: PostgreSQLListener
    init(_ listener: PostgreSQLListener) { self.listener = listener }
    public func stop() { listener.stop() }
}

extension SQLStore {
    /// Whether other hosts share this store (PostgreSQL): their changes are then announced
    /// (watchPolicyChanges) rather than found by reading the version at every lookup.
    public var isShared: Bool { db.dialect == .postgresql }

    /// A shared store's announcements: `onChange` runs, on a thread of the watch's own, when any host
    /// commits a change of a lock or an override (the triggers' NOTIFY on mailwarden_policy), and once
    /// a lost connection is back, since what was announced meanwhile is gone. nil for SQLite.
    public func watchPolicyChanges(_ onChange: @escaping @Sendable () -> Void) -> PolicyChangeWatch? {
        guard let database = db as? PostgreSQLDatabase else { return nil }
        return PolicyChangeWatch(database.listen(channel: "mailwarden_policy", onChange: onChange))
    }

    /// Opens the store a config names: an SQLite file, or a PostgreSQL database by URI.
    /// `answersTheMTA`: the milter's, whose statements store_busy_timeout bounds; the CLI's and the
    /// desk's may take up to 5 minutes (`status` counts a shared store's whole outbound log).
    public static func open(_ config: Config, answersTheMTA: Bool) throws -> SQLStore {
        guard config.storeIsPostgreSQL else { return try SQLStore(path: config.storePath, busyTimeout: config.storeBusyTimeout) }
        // store_busy_timeout bounds each statement and lock wait, as it bounds SQLite's busy wait.
        let timeout = answersTheMTA ? max(Int(config.storeBusyTimeout.seconds) * 1000, 100) : 300_000
        return try SQLStore(database: PostgreSQLDatabase(conninfo: config.storePath, statementTimeout: timeout))
    }
}
