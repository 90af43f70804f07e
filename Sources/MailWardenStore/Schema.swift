// The store's schema, as an ordered list of migrations per dialect. The stored version is the number
// of migrations applied (SQLite: `user_version`; PostgreSQL: the `schema_version` table); a new
// version appends a migration, never edits an old one. PostgreSQL's list starts at what SQLite's
// seventh migration left, so its versions count differently: each dialect checks only its own.

enum Schema {
    static func migrations(_ dialect: SQLDialect) -> [String] {
        dialect == .sqlite ? sqlite : postgresql
    }

    /// The stored version, inside a transaction that has not yet written.
    static func readVersion(_ tx: any SQLTransaction, _ dialect: SQLDialect) throws -> Int {
        switch dialect {
        case .sqlite:
            return Int(try tx.query("PRAGMA user_version").first?.first?.int ?? 0)
        case .postgresql:
            guard try tx.query("SELECT to_regclass('schema_version') IS NOT NULL").first?.first?.int == 1 else { return 0 }
            return Int(try tx.query("SELECT version FROM schema_version").first?.first?.int ?? 0)
        }
    }

    /// The stored version, read under a lock that keeps any other process (another host) from
    /// migrating at the same time. SQLite's write transaction already holds it.
    static func lockAndReadVersion(_ tx: any SQLTransaction, _ dialect: SQLDialect) throws -> Int {
        if dialect == .postgresql {
            // A fixed key: "MailWarden schema" as digits would do; any constant shared by all hosts does.
            try tx.query("SELECT pg_advisory_xact_lock(7243115)")
            try tx.query("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")
        }
        return try readVersion(tx, dialect)
    }

    static func setVersion(_ tx: any SQLTransaction, _ dialect: SQLDialect, _ version: Int) throws {
        switch dialect {
        case .sqlite:
            try tx.query("PRAGMA user_version = \(version)")
        case .postgresql:
            try tx.query("DELETE FROM schema_version")
            try tx.query("INSERT INTO schema_version(version) VALUES(?)", [.int(Int64(version))])
        }
    }

    static let sqlite: [String] = [
        // 1: the spine.
        """
        CREATE TABLE identities(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            messages INTEGER NOT NULL DEFAULT 0,
            recipients INTEGER NOT NULL DEFAULT 0,
            spam INTEGER NOT NULL DEFAULT 0,
            complaints INTEGER NOT NULL DEFAULT 0,
            refused INTEGER NOT NULL DEFAULT 0,
            auto_locks INTEGER NOT NULL DEFAULT 0,
            token TEXT UNIQUE
        );
        -- Sliding windows: per-second buckets, summed over each counter's window.
        CREATE TABLE window_events(
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            counter TEXT NOT NULL,
            at INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            PRIMARY KEY(identity_id, counter, at)
        ) WITHOUT ROWID;
        CREATE TABLE complaint_events(
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            reporter TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE INDEX complaint_events_identity ON complaint_events(identity_id, at);
        CREATE TABLE locks(
            id INTEGER PRIMARY KEY,
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            locked_at INTEGER NOT NULL,
            locked_by TEXT NOT NULL,
            automatic INTEGER NOT NULL,
            reason TEXT NOT NULL,
            expires_at INTEGER,
            counter TEXT,
            count INTEGER,
            limit_text TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            lifted_at INTEGER,
            lifted_by TEXT,
            lift_reason TEXT
        );
        CREATE UNIQUE INDEX locks_active ON locks(identity_id) WHERE lifted_at IS NULL;
        CREATE INDEX locks_identity ON locks(identity_id, locked_at);
        CREATE TABLE overrides(
            identity_id INTEGER PRIMARY KEY REFERENCES identities(id),
            limit_messages TEXT,
            limit_recipients TEXT,
            limit_spam TEXT,
            limit_complaints TEXT,
            exempt INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE TABLE held(
            queue_id TEXT PRIMARY KEY,
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            lock_id INTEGER,
            at INTEGER NOT NULL
        );
        CREATE INDEX held_identity ON held(identity_id, at);
        CREATE TABLE outbound(
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            message_id TEXT,
            queue_id TEXT,
            recipients INTEGER NOT NULL,
            spam INTEGER NOT NULL
        );
        CREATE INDEX outbound_message_id ON outbound(message_id);
        CREATE INDEX outbound_at ON outbound(at);
        CREATE INDEX outbound_identity ON outbound(identity_id, at);
        CREATE TABLE audit(
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            identity TEXT,
            detail TEXT
        );
        CREATE INDEX audit_at ON audit(at);
        CREATE TABLE settings(key TEXT PRIMARY KEY, value BLOB NOT NULL);
        """,
        // 2: the abuse desk. Raw reports are kept (status filed/triage/ignored/dismissed); a report
        // files on at most one case per subject; evidence keeps attachments with their sha256.
        """
        CREATE TABLE reports(
            id INTEGER PRIMARY KEY,
            received_at INTEGER NOT NULL,
            message_id TEXT,
            content_hash TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            format TEXT NOT NULL,
            type TEXT,
            reporter TEXT,
            envelope_sender TEXT,
            envelope_recipient TEXT,
            reason TEXT,
            identity TEXT,
            traced_by TEXT,
            fields TEXT NOT NULL,
            raw BLOB NOT NULL,
            decided_at INTEGER,
            decided_by TEXT,
            note TEXT
        );
        CREATE INDEX reports_status ON reports(status, received_at);
        CREATE INDEX reports_received ON reports(received_at);
        CREATE TABLE report_indicators(
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            value TEXT NOT NULL
        );
        CREATE INDEX report_indicators_value ON report_indicators(value);
        CREATE INDEX report_indicators_report ON report_indicators(report_id);
        CREATE TABLE cases(
            id INTEGER PRIMARY KEY,
            subject TEXT NOT NULL,
            subject_kind TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            opened_at INTEGER NOT NULL,
            last_report_at INTEGER NOT NULL,
            report_count INTEGER NOT NULL DEFAULT 0,
            identity TEXT,
            traced_by TEXT,
            resolved_at INTEGER,
            resolved_by TEXT,
            resolution_note TEXT
        );
        CREATE UNIQUE INDEX cases_open ON cases(subject_kind, subject, type) WHERE status = 'open';
        CREATE INDEX cases_subject ON cases(subject);
        CREATE TABLE case_reports(
            case_id INTEGER NOT NULL REFERENCES cases(id),
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            PRIMARY KEY(case_id, report_id)
        ) WITHOUT ROWID;
        CREATE INDEX case_reports_report ON case_reports(report_id);
        CREATE TABLE evidence(
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            bytes BLOB NOT NULL
        );
        CREATE INDEX evidence_report ON evidence(report_id);
        """,
        // 3: the daemon's scanner health, written every few seconds for `mailwarden status`.
        """
        CREATE TABLE scanner_health(
            label TEXT PRIMARY KEY,
            scans INTEGER NOT NULL,
            spam INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            skipped_too_big INTEGER NOT NULL,
            last_error TEXT,
            last_error_at INTEGER,
            last_success_at INTEGER,
            latency_p50_us INTEGER,
            latency_p99_us INTEGER,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        // 4: the scanners' verdict per message in the outbound log, for `show` and `trace`.
        """
        ALTER TABLE outbound ADD COLUMN scan TEXT;
        """,
        // 5: reports ingested per format, type and status, for the metrics endpoint: a counter that
        // outlives report_retention's pruning and counts the pipe's reports as well as the milter's.
        """
        CREATE TABLE report_tallies(
            format TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY(format, type, status)
        ) WITHOUT ROWID;
        INSERT INTO report_tallies(format, type, status, count)
            SELECT format, COALESCE(type, 'none'), status, COUNT(*) FROM reports GROUP BY 1, 2, 3;
        """,
        // 6: reports are stored raw first (status 'queued') and parsed later by the desk worker, so
        // the milter never reads a stranger's report. The raw message moves to a table of its own:
        // filing updates the report's row, which must not rewrite megabytes of message each time.
        // Failed parses are counted per report; the parser's deaths and overruns are tallied.
        // reporter_auth: how the reporter was authenticated (`dkim:isp.example`), or why not.
        """
        CREATE TABLE report_raw(
            report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            raw BLOB NOT NULL
        );
        INSERT INTO report_raw(report_id, raw) SELECT id, raw FROM reports;
        ALTER TABLE reports DROP COLUMN raw;
        ALTER TABLE reports ADD COLUMN queue_id TEXT;
        ALTER TABLE reports ADD COLUMN reporter_auth TEXT;
        ALTER TABLE reports ADD COLUMN failed_parses INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX reports_queued ON reports(id) WHERE status = 'queued';
        CREATE TABLE desk_tallies(
            event TEXT PRIMARY KEY,
            count INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        // 7: a complaint remembers the report it came from, so a lock it causes names its reports.
        """
        ALTER TABLE complaint_events ADD COLUMN report_id INTEGER;
        """,
        // 8: the policy version: moved by every change to a lock or an override, whoever makes it
        // (daemon, CLI, desk), so the daemon's PolicyCache knows when to read them again. A lock's
        // attempts counter is not a change of policy and moves nothing. A trigger body stays on one line.
        """
        CREATE TABLE policy_version(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
        INSERT INTO policy_version(id, version) VALUES(1, 0);
        CREATE TRIGGER locks_inserted AFTER INSERT ON locks BEGIN UPDATE policy_version SET version = version + 1; END;
        CREATE TRIGGER locks_changed AFTER UPDATE OF lifted_at, expires_at ON locks BEGIN UPDATE policy_version SET version = version + 1; END;
        CREATE TRIGGER locks_deleted AFTER DELETE ON locks BEGIN UPDATE policy_version SET version = version + 1; END;
        CREATE TRIGGER overrides_inserted AFTER INSERT ON overrides BEGIN UPDATE policy_version SET version = version + 1; END;
        CREATE TRIGGER overrides_changed AFTER UPDATE ON overrides BEGIN UPDATE policy_version SET version = version + 1; END;
        CREATE TRIGGER overrides_deleted AFTER DELETE ON overrides BEGIN UPDATE policy_version SET version = version + 1; END;
        """,
        // 9: threading. A reply names the reports it answers by Message-ID; a follow-up carries the
        // reporter's ticket id (`organisational-domain id`). Both are looked up at every filing.
        """
        ALTER TABLE reports ADD COLUMN ticket TEXT;
        CREATE INDEX reports_message_id ON reports(message_id);
        CREATE INDEX reports_ticket ON reports(ticket);
        """,
        // 10: each window bucket keeps its identity's running total of the counter, so a window's
        // total is two look-ups instead of a sum over every second in it.
        """
        ALTER TABLE window_events ADD COLUMN running INTEGER NOT NULL DEFAULT 0;
        \(runningTotals)
        """,
        // 11: pruning finds old rows by time, as PostgreSQL's first migration already let it for
        // buckets and held rows. Without these it read every bucket and complaint of every identity
        // to find none, holding the write lock: 23 ms per million buckets, which the counts waited
        // behind, at every start and every 10 minutes.
        """
        CREATE INDEX window_events_at ON window_events(at);
        CREATE INDEX held_at ON held(at);
        \(complaintsByTime)
        """,
        // 12: each host's scanner health.
        scannerHealthByHost(integer: "INTEGER", suffix: " WITHOUT ROWID"),
        // 13: each outbound message's recipient domains, for who may complain of it.
        recipientDomains,
    ]

    /// NULL for a message logged before: its recipients are unknown.
    private static let recipientDomains = "ALTER TABLE outbound ADD COLUMN recipient_domains TEXT"

    /// Each host reports its own scanners: hosts sharing a store each wrote theirs over the others'
    /// (a spamd on 127.0.0.1 is a different one on each), and one host's dead spamd could show as up.
    /// The figures are rewritten every 5 seconds, so the old rows are simply dropped.
    private static func scannerHealthByHost(integer: String, suffix: String = "") -> String {
        """
        DROP TABLE scanner_health;
        CREATE TABLE scanner_health(
            host TEXT NOT NULL,
            label TEXT NOT NULL,
            scans \(integer) NOT NULL,
            spam \(integer) NOT NULL,
            failures \(integer) NOT NULL,
            skipped_too_big \(integer) NOT NULL,
            last_error TEXT,
            last_error_at \(integer),
            last_success_at \(integer),
            latency_p50_us \(integer),
            latency_p99_us \(integer),
            updated_at \(integer) NOT NULL,
            PRIMARY KEY(host, label)
        )\(suffix);
        """
    }

    private static let complaintsByTime = "CREATE INDEX complaint_events_at ON complaint_events(at);"

    /// The running totals of the buckets already stored, one pass per identity and counter.
    private static let runningTotals = """
        UPDATE window_events SET running = r.running
        FROM (SELECT identity_id, counter, at, SUM(amount) OVER (PARTITION BY identity_id, counter ORDER BY at) AS running
              FROM window_events) AS r
        WHERE window_events.identity_id = r.identity_id AND window_events.counter = r.counter AND window_events.at = r.at;
        """

    // Integers are BIGINT (the store binds 64-bit integers); names sort bytewise (COLLATE "C"), as
    // in SQLite. Tables whose rows are listed in insertion order have an `id` for it.
    static let postgresql: [String] = [
        // 1: everything SQLite's migrations 1 to 7 made.
        """
        CREATE TABLE identities(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name TEXT COLLATE "C" NOT NULL UNIQUE,
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            messages BIGINT NOT NULL DEFAULT 0,
            recipients BIGINT NOT NULL DEFAULT 0,
            spam BIGINT NOT NULL DEFAULT 0,
            complaints BIGINT NOT NULL DEFAULT 0,
            refused BIGINT NOT NULL DEFAULT 0,
            auto_locks BIGINT NOT NULL DEFAULT 0,
            token TEXT UNIQUE
        );
        CREATE TABLE window_events(
            identity_id BIGINT NOT NULL REFERENCES identities(id),
            counter TEXT NOT NULL,
            at BIGINT NOT NULL,
            amount BIGINT NOT NULL,
            PRIMARY KEY(identity_id, counter, at)
        );
        CREATE INDEX window_events_at ON window_events(at);
        CREATE TABLE complaint_events(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            identity_id BIGINT NOT NULL REFERENCES identities(id),
            reporter TEXT NOT NULL,
            at BIGINT NOT NULL,
            report_id BIGINT
        );
        CREATE INDEX complaint_events_identity ON complaint_events(identity_id, at);
        CREATE TABLE locks(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            identity_id BIGINT NOT NULL REFERENCES identities(id),
            locked_at BIGINT NOT NULL,
            locked_by TEXT NOT NULL,
            automatic BIGINT NOT NULL,
            reason TEXT NOT NULL,
            expires_at BIGINT,
            counter TEXT,
            count BIGINT,
            limit_text TEXT,
            attempts BIGINT NOT NULL DEFAULT 0,
            lifted_at BIGINT,
            lifted_by TEXT,
            lift_reason TEXT
        );
        CREATE UNIQUE INDEX locks_active ON locks(identity_id) WHERE lifted_at IS NULL;
        CREATE INDEX locks_identity ON locks(identity_id, locked_at);
        CREATE TABLE overrides(
            identity_id BIGINT PRIMARY KEY REFERENCES identities(id),
            limit_messages TEXT,
            limit_recipients TEXT,
            limit_spam TEXT,
            limit_complaints TEXT,
            exempt BIGINT NOT NULL DEFAULT 0,
            updated_at BIGINT NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE TABLE held(
            queue_id TEXT PRIMARY KEY,
            identity_id BIGINT NOT NULL REFERENCES identities(id),
            lock_id BIGINT,
            at BIGINT NOT NULL
        );
        CREATE INDEX held_identity ON held(identity_id, at);
        CREATE INDEX held_at ON held(at);
        CREATE TABLE outbound(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            at BIGINT NOT NULL,
            identity_id BIGINT NOT NULL REFERENCES identities(id),
            message_id TEXT,
            queue_id TEXT,
            recipients BIGINT NOT NULL,
            spam BIGINT NOT NULL,
            scan TEXT
        );
        CREATE INDEX outbound_message_id ON outbound(message_id);
        CREATE INDEX outbound_at ON outbound(at);
        CREATE INDEX outbound_identity ON outbound(identity_id, at);
        CREATE TABLE audit(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            identity TEXT,
            detail TEXT
        );
        CREATE INDEX audit_at ON audit(at);
        CREATE TABLE settings(key TEXT PRIMARY KEY, value BYTEA NOT NULL);
        CREATE TABLE reports(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            received_at BIGINT NOT NULL,
            message_id TEXT,
            content_hash TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            format TEXT NOT NULL,
            type TEXT,
            reporter TEXT,
            envelope_sender TEXT,
            envelope_recipient TEXT,
            reason TEXT,
            identity TEXT,
            traced_by TEXT,
            fields TEXT NOT NULL,
            decided_at BIGINT,
            decided_by TEXT,
            note TEXT,
            queue_id TEXT,
            reporter_auth TEXT,
            failed_parses BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX reports_status ON reports(status, received_at);
        CREATE INDEX reports_received ON reports(received_at);
        CREATE INDEX reports_queued ON reports(id) WHERE status = 'queued';
        CREATE TABLE report_raw(
            report_id BIGINT PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            raw BYTEA NOT NULL
        );
        CREATE TABLE report_indicators(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            value TEXT NOT NULL
        );
        CREATE INDEX report_indicators_value ON report_indicators(value);
        CREATE INDEX report_indicators_report ON report_indicators(report_id);
        CREATE TABLE cases(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            subject TEXT NOT NULL,
            subject_kind TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            opened_at BIGINT NOT NULL,
            last_report_at BIGINT NOT NULL,
            report_count BIGINT NOT NULL DEFAULT 0,
            identity TEXT,
            traced_by TEXT,
            resolved_at BIGINT,
            resolved_by TEXT,
            resolution_note TEXT
        );
        CREATE UNIQUE INDEX cases_open ON cases(subject_kind, subject, type) WHERE status = 'open';
        CREATE INDEX cases_subject ON cases(lower(subject));
        CREATE TABLE case_reports(
            case_id BIGINT NOT NULL REFERENCES cases(id),
            report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            PRIMARY KEY(case_id, report_id)
        );
        CREATE INDEX case_reports_report ON case_reports(report_id);
        CREATE TABLE evidence(
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            bytes BYTEA NOT NULL
        );
        CREATE INDEX evidence_report ON evidence(report_id);
        CREATE TABLE scanner_health(
            label TEXT PRIMARY KEY,
            scans BIGINT NOT NULL,
            spam BIGINT NOT NULL,
            failures BIGINT NOT NULL,
            skipped_too_big BIGINT NOT NULL,
            last_error TEXT,
            last_error_at BIGINT,
            last_success_at BIGINT,
            latency_p50_us BIGINT,
            latency_p99_us BIGINT,
            updated_at BIGINT NOT NULL
        );
        CREATE TABLE report_tallies(
            format TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            count BIGINT NOT NULL,
            PRIMARY KEY(format, type, status)
        );
        CREATE TABLE desk_tallies(
            event TEXT PRIMARY KEY,
            count BIGINT NOT NULL
        );
        """,
        // 2: as SQLite's 8, the policy version, and a notification on channel mailwarden_policy at
        // the commit of every change, so the other hosts' caches read it within milliseconds.
        // The function body stays on one line (statements are split at a semicolon ending a line).
        """
        CREATE TABLE policy_version(id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
        INSERT INTO policy_version(id, version) VALUES(1, 0);
        CREATE FUNCTION mailwarden_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE policy_version SET version = version + 1; PERFORM pg_notify('mailwarden_policy', ''); RETURN NULL; END $$;
        CREATE TRIGGER locks_changed AFTER INSERT OR DELETE OR UPDATE OF lifted_at, expires_at ON locks
            FOR EACH STATEMENT EXECUTE FUNCTION mailwarden_policy_changed();
        CREATE TRIGGER overrides_changed AFTER INSERT OR DELETE OR UPDATE ON overrides
            FOR EACH STATEMENT EXECUTE FUNCTION mailwarden_policy_changed();
        """,
        // 3: as SQLite's 9, threading.
        """
        ALTER TABLE reports ADD COLUMN ticket TEXT;
        CREATE INDEX reports_message_id ON reports(message_id);
        CREATE INDEX reports_ticket ON reports(ticket);
        """,
        // 4: as SQLite's 10, running totals.
        """
        ALTER TABLE window_events ADD COLUMN running BIGINT NOT NULL DEFAULT 0;
        \(runningTotals)
        """,
        // 5: as SQLite's 11, complaints pruned by time.
        complaintsByTime,
        // 6: as SQLite's 12.
        scannerHealthByHost(integer: "BIGINT"),
        // 7: report fields filed before U+0000 was kept out of them.
        reportFieldsWithoutNUL,
        // 8: as SQLite's 13.
        recipientDomains,
    ]

    /// PostgreSQL's jsonb, which every triage listing reads the report fields as, refuses the JSON
    /// escape for U+0000; reports filed before the store kept it out (or copied from an SQLite store)
    /// get U+FFFD instead, as new filings do. (An escaped backslash before "u0000", text that only
    /// looks like the escape, becomes "\\ufffd" too: still valid JSON, and harmless.)
    static let reportFieldsWithoutNUL = #"UPDATE reports SET fields = replace(fields, E'\\u0000', E'\\ufffd') WHERE strpos(fields, E'\\u0000') > 0"#
}
