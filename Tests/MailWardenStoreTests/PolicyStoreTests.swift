import Foundation
import Synchronization
import Testing
import MailWardenCore
@testable import MailWardenStore

@Suite struct SQLStoreTests {
    static let hour: [Counter: TimeSpan] = [.messages: .hours(1), .recipients: .hours(1), .spam: .hours(1)]

    func event(_ id: String, at: Int64, rcpts: Int = 1, spam: Bool = false, mid: String? = nil) -> MessageEvent {
        MessageEvent(identity: id, at: at, recipients: rcpts, spam: spam, messageID: mid, queueID: "Q\(at)")
    }

    /// The daemon's commits leave the WAL to the checkpointer: after 300 counted messages (far past
    /// SQLite's own 1000-page checkpoint), its passive checkpoint finds frames no commit copied, and
    /// copies them all; the counts read back whole.
    @Test func theCheckpointerCopiesTheWALTheCommitsLeftIt() throws {
        let t = try TempStore()
        let s = try t.open()
        let checkpointer = try #require(try s.checkpointInBackground())
        for i in 0..<300 { _ = try s.record(event("ip:192.0.2.\(i % 250)", at: 1000 + Int64(i)), windows: Self.hour) }
        let pass = try checkpointer.checkpoint()
        #expect(pass.frames > 1000 && pass.copied == pass.frames, "\(pass)")
        #expect(try t.open().state(of: "ip:192.0.2.7").lock == nil)
        #expect(try s.record(event("ip:192.0.2.7", at: 2000), windows: Self.hour)[.messages] == 3)
    }

    /// Write-behind hands the store one identity's messages of one second as a run: it counts them
    /// as it would one by one (totals, the identity's counts, a bucket of a second that another host's
    /// clock already passed) and logs each message.
    @Test(arguments: Backend.available) func aRunOfOneSecondCountsAsItsMessagesOneByOne(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        func messages(_ id: String) -> [MessageEvent] {
            [event(id, at: 1000, rcpts: 1, mid: "<1@x>"), event(id, at: 1000, rcpts: 2, spam: true, mid: "<2@x>"), event(id, at: 1000, rcpts: 3, mid: "<3@x>")]
        }
        for id in ["run", "single"] {
            _ = try s.record(event(id, at: 990), windows: Self.hour)
            _ = try s.record(event(id, at: 1010), windows: Self.hour)
        }
        let run = try s.record(messages("run"), windows: Self.hour)
        var oneByOne: [Counter: Int] = [:]
        for message in messages("single") { oneByOne = try s.record(message, windows: Self.hour) }
        #expect(run == oneByOne, "\(run) against \(oneByOne)")
        #expect(run == [.messages: 5, .recipients: 8, .spam: 1], "the run with the buckets of 990 and 1010 (another host's clock ahead)")
        #expect(try s.record(event("run", at: 1010), windows: Self.hour) == [.messages: 6, .recipients: 9, .spam: 1])
        let record = try #require(try s.identityRecord(of: "run", windows: Self.hour, now: 1010))
        #expect(record.summary.messages == 6 && record.summary.recipients == 9 && record.summary.spam == 1)
        #expect(Set(record.recent.compactMap(\.messageID)).isSuperset(of: ["<1@x>", "<2@x>", "<3@x>"]), "each message of the run is logged")
    }

    @Test(arguments: Backend.available) func windowTotalsCountOnlyEventsInsideEachWindow(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        _ = try s.record(event("a", at: 1000, rcpts: 3, spam: true), windows: Self.hour)
        // The same second: one bucket, counted once in the totals.
        #expect(try s.record(event("a", at: 1000, rcpts: 2), windows: Self.hour) == [.messages: 2, .recipients: 5, .spam: 1])
        let totals = try s.record(event("a", at: 4599, rcpts: 1), windows: Self.hour)
        #expect(totals == [.messages: 3, .recipients: 6, .spam: 1])
        let later = try s.record(event("a", at: 4600), windows: Self.hour)
        #expect(later == [.messages: 2, .recipients: 2, .spam: 0], "events at 1000 leave a 1h window at 4600")
        let short = try s.record(event("a", at: 4601), windows: [.messages: .minutes(1), .recipients: .hours(1), .spam: .hours(1)])
        #expect(short[.messages] == 3)
    }

    /// Window totals are running totals, not sums over the window: in whatever order the events
    /// come (a host whose clock is behind counts a second before the last one counted), each total
    /// is the sum of the events inside its window, the pruned and unlocked ones aside.
    @Test(arguments: Backend.available) func windowTotalsAreTheSumOfTheEventsInTheirWindowsInAnyOrder(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let windows: [Counter: TimeSpan] = [.messages: .minutes(1), .recipients: .minutes(5), .spam: .hours(1)]
        #expect(try s.windowTotals(of: "w", at: 10_000, windows: windows) == [.messages: 0, .recipients: 0, .spam: 0], "never counted")
        var seed: UInt64 = 7
        func next(_ below: UInt64) -> Int64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((seed >> 33) % below)
        }
        var counted: [(at: Int64, rcpts: Int, spam: Bool)] = []
        var clock: Int64 = 10_000
        for i in 0..<300 {
            clock += next(20)
            let at = next(5) == 0 ? clock - next(30) : clock
            let message = (at: at, rcpts: Int(next(4)), spam: next(3) == 0)
            counted.append(message)
            if i == 200 {
                // Unlocking starts the windows afresh; pruning drops what no window holds.
                _ = try s.lock(LockRecord(identity: "w", lockedAt: at, lockedBy: "auto", automatic: true, reason: "r"))
                _ = try s.unlock(identity: "w", by: "root", reason: nil, at: at)
                counted = [message]
                try s.prune(now: clock, outboundRetention: .hours(2), windowRetention: .hours(2))
            }
            let totals = try s.record(event("w", at: at, rcpts: message.rcpts, spam: message.spam), windows: windows)
            func sum(_ counter: Counter, _ amount: ((at: Int64, rcpts: Int, spam: Bool)) -> Int) -> Int {
                counted.filter { $0.at > at - windows[counter]!.seconds }.map(amount).reduce(0, +)
            }
            let expected: [Counter: Int] = [.messages: sum(.messages) { _ in 1 }, .recipients: sum(.recipients) { $0.rcpts },
                                            .spam: sum(.spam) { $0.spam ? 1 : 0 }]
            #expect(totals == expected, "message \(i) at \(at)")
            // What write-behind reads for an identity it has not counted lately: the same, without writing.
            let read = try s.windowTotals(of: "w", at: at, windows: windows)
            #expect(read == expected, "read after message \(i) at \(at)")
            if totals != expected || read != expected { break }
        }
    }

    /// A store from before running totals: the migration computes them for the buckets it holds.
    @Test(arguments: Backend.available) func theMigrationGivesStoredBucketsTheirRunningTotals(_ backend: Backend) throws {
        let t = try TempStore(backend)
        do {
            let s = try t.open()
            for at: Int64 in [100, 100, 130, 170] { _ = try s.record(event("m", at: at, rcpts: 2), windows: Self.hour) }
            try s.db.transaction { tx in
                try tx.query("UPDATE window_events SET running = 0")
                // Back to before the running totals (SQLite's 10th migration, PostgreSQL's 4th): the
                // ones after them run again too.
                try Schema.setVersion(tx, backend == .sqlite ? .sqlite : .postgresql, backend == .sqlite ? 9 : 3)
                let pruningIndexes = backend == .sqlite ? ["window_events_at", "held_at", "complaint_events_at"] : ["complaint_events_at"]
                for index in pruningIndexes { try tx.query("DROP INDEX \(index)") }
                try tx.query("ALTER TABLE window_events DROP COLUMN running")
                try tx.query("ALTER TABLE outbound DROP COLUMN recipient_domains")
            }
        }
        let s = try t.open()
        #expect(try s.record(event("m", at: 200, rcpts: 1), windows: Self.hour) == [.messages: 5, .recipients: 9, .spam: 0])
        #expect(try s.record(event("m", at: 3740, rcpts: 1), windows: Self.hour) == [.messages: 3, .recipients: 4, .spam: 0],
                "the buckets at 100 and 130 have left the window")
    }

    /// An upgrade of a large PostgreSQL store is not bound by store_busy_timeout, which bounds each
    /// statement for the message path: rewriting the buckets failed at it, and the daemon could not start.
    @Test func anUpgradeOfALargeStoreOutlastsTheStatementTimeout() throws {
        guard Backend.available.contains(.postgresql) else { return }
        let t = try TempStore(.postgresql)
        do {
            let s = try t.open()
            try s.db.transaction { tx in
                try tx.allowLongStatements()
                try tx.query("INSERT INTO identities(name, first_seen, last_seen) SELECT 'sasl:u' || i, 0, 0 FROM generate_series(1, 1000) AS i")
                try tx.query("""
                    INSERT INTO window_events(identity_id, counter, at, amount)
                    SELECT id, 'messages', at, 1 FROM identities, generate_series(1, 200) AS at
                    """)
                // Back to before the running totals (as in the test above).
                try Schema.setVersion(tx, .postgresql, 3)
                try tx.query("DROP INDEX complaint_events_at")
                try tx.query("ALTER TABLE window_events DROP COLUMN running")
                try tx.query("ALTER TABLE outbound DROP COLUMN recipient_domains")
            }
        }
        let upgraded = try SQLStore(database: PostgreSQLDatabase(conninfo: try #require(t.conninfo), statementTimeout: 50))
        #expect(upgraded.schemaVersion == Schema.migrations(.postgresql).count)
    }

    @Test(arguments: Backend.available) func aLockSurvivesReopeningAndOnlyOneIsActive(_ backend: Backend) throws {
        let t = try TempStore(backend)
        do {
            let s = try t.open()
            let first = try s.lock(LockRecord(identity: "sasl:x", lockedAt: 10, lockedBy: "auto", automatic: true, reason: "spam 6 > 5/1h"))
            let second = try s.lock(LockRecord(identity: "sasl:x", lockedAt: 20, lockedBy: "root", automatic: false, reason: "again"))
            #expect(first.isNew && !second.isNew && second.lock == first.lock, "an existing lock wins, and its setter alone is told it is new")
        }
        let reopened = try t.open()
        let lock = try #require(try reopened.state(of: "sasl:x").lock)
        #expect(lock.reason == "spam 6 > 5/1h" && lock.automatic && lock.lockedAt == 10)
        #expect(try reopened.unlock(identity: "sasl:x", by: "root", reason: "fixed", at: 30))
        #expect(try reopened.unlock(identity: "sasl:x", by: "root", reason: "twice", at: 31) == false)
        #expect(try reopened.state(of: "sasl:x").lock == nil)
    }

    /// What the daemon's PolicyCache relies on: every change of a lock or an override, made through
    /// any handle on the store (another host, the CLI), moves the version; a refused attempt does not;
    /// the snapshot holds exactly the locks in force and the overrides.
    @Test(arguments: Backend.available) func thePolicyVersionMovesWithEveryLockAndOverrideChange(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let daemon = try t.open()
        let otherHost = try t.open()
        var seen = try daemon.policyVersion()
        func moved(_ what: String) throws {
            let now = try daemon.policyVersion()
            #expect(now != seen, "\(what) must move the policy version")
            seen = now
        }
        _ = try otherHost.lock(LockRecord(identity: "sasl:a", lockedAt: 10, lockedBy: "auto", automatic: true, reason: "spam 6 > 5/1h"))
        try moved("a lock")
        try otherHost.recordLockedAttempt(identity: "sasl:a", at: 11, heldQueueID: "Q1")
        #expect(try daemon.policyVersion() == seen, "a refused attempt is not a change of policy")
        _ = try otherHost.adminLock("sasl:b", by: "root", reason: "by hand", expiresAt: 99, at: 12)
        try moved("a lock by hand")
        try otherHost.setLimits([.messages: .disabled], of: "sasl:c", by: "root", at: 13)
        try moved("an override")
        _ = try otherHost.setExempt(true, identity: "sasl:d", by: "root", at: 14)
        try moved("an exemption")
        let snapshot = try daemon.policySnapshot()
        #expect(snapshot.version == seen)
        #expect(Set(snapshot.locks.keys) == ["sasl:a", "sasl:b"])
        #expect(snapshot.locks["sasl:b"]?.expiresAt == 99 && snapshot.locks["sasl:b"]?.automatic == false)
        #expect(snapshot.overrides["sasl:c"]?.limits == [.messages: .disabled])
        #expect(snapshot.overrides["sasl:d"]?.exempt == true)
        #expect(try otherHost.unlock(identity: "sasl:a", by: "root", reason: nil, at: 15))
        try moved("an unlock")
        #expect(try otherHost.resetLimits(of: "sasl:c", by: "root", at: 16))
        try moved("a reset of limits")
        let after = try daemon.policySnapshot()
        #expect(Set(after.locks.keys) == ["sasl:b"] && after.overrides["sasl:c"] == nil)
    }

    /// A shared store announces each policy change to the other hosts (LISTEN/NOTIFY) within well
    /// under a second; a store on one host has no one to announce to.
    @Test(arguments: Backend.available) func anotherHostsChangesAreAnnounced(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let daemon = try t.open()
        let otherHost = try t.open()
        let announcements = Mutex(0)
        let watch = daemon.watchPolicyChanges { announcements.withLock { $0 += 1 } }
        guard backend == .postgresql else {
            #expect(watch == nil && !daemon.isShared)
            return
        }
        defer { watch?.stop() }
        func announced(within seconds: Double, after count: Int) -> Bool {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while Date() < deadline {
                if announcements.withLock({ $0 }) > count { return true }
                Thread.sleep(forTimeInterval: 0.005)
            }
            return false
        }
        let before = announcements.withLock { $0 }
        _ = try otherHost.adminLock("sasl:x", by: "root", reason: "by hand", expiresAt: nil, at: 10)
        #expect(announced(within: 1, after: before), "a lock on another host is announced within a second")
        let afterLock = announcements.withLock { $0 }
        try otherHost.recordLockedAttempt(identity: "sasl:x", at: 11, heldQueueID: nil)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(announcements.withLock { $0 } == afterLock, "a refused attempt is not announced")
        try otherHost.setLimits([.spam: .disabled], of: "sasl:y", by: "root", at: 12)
        #expect(announced(within: 1, after: afterLock), "an override is announced")
    }

    @Test(arguments: Backend.available) func unlockClearsTheWindows(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        for i in 0..<5 { _ = try s.record(event("b", at: 100 + Int64(i), spam: true), windows: Self.hour) }
        _ = try s.lock(LockRecord(identity: "b", lockedAt: 110, lockedBy: "auto", automatic: true, reason: "r"))
        _ = try s.unlock(identity: "b", by: "root", reason: nil, at: 120)
        #expect(try s.record(event("b", at: 121), windows: Self.hour) == [.messages: 1, .recipients: 1, .spam: 0])
    }

    @Test(arguments: Backend.available) func complaintsCountDistinctReportersAndRememberTheirReports(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        #expect(try s.recordComplaint(identity: "c", reporter: "fbl@aol.example", reportID: 7, at: 10, window: .days(1))
            == ComplaintTally(reporters: 1, reportIDs: [7]))
        #expect(try s.recordComplaint(identity: "c", reporter: "FBL@aol.example", reportID: 8, at: 11, window: .days(1)).reporters == 1)
        #expect(try s.recordComplaint(identity: "c", reporter: "abuse@gmail.example", reportID: 9, at: 12, window: .days(1))
            == ComplaintTally(reporters: 2, reportIDs: [7, 8, 9]))
        // A day later the first two have left the window: neither counts nor is named any more.
        #expect(try s.recordComplaint(identity: "c", reporter: "abuse@gmail.example", reportID: 10, at: 11 + 86_400, window: .days(1))
            == ComplaintTally(reporters: 1, reportIDs: [9, 10]))
    }

    @Test(arguments: Backend.available) func theDaemonAndTheCLIUseTheStoreAtTheSameTime(_ backend: Backend) async throws {
        let t = try TempStore(backend)
        let daemon = try t.open()
        let cli = try t.open()
        // Two connections writing concurrently: WAL plus the busy timeout serialise them without errors.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<300 { _ = try daemon.record(self.event("d", at: 1000 + Int64(i)), windows: Self.hour) }
            }
            group.addTask {
                for i in 0..<50 {
                    _ = try cli.lock(LockRecord(identity: "e\(i)", lockedAt: 1000, lockedBy: "root", automatic: false, reason: "r"))
                }
            }
            try await group.waitForAll()
        }
        #expect(try cli.record(event("d", at: 1300), windows: Self.hour)[.messages] == 301)
        #expect(try daemon.state(of: "e49").lock != nil)
    }

    @Test func aStoreFromANewerVersionIsRefusedWithAClearMessage() throws {
        let t = try TempStore()
        _ = try t.open()
        let raw = try SQLiteConnection(path: t.path, busyTimeoutMilliseconds: 100)
        try raw.exec("PRAGMA user_version = 999")
        #expect { try t.open() } throws: { error in
            "\(error)".contains("newer than this MailWarden")
        }
    }

    @Test(arguments: Backend.available) func migrationFromAnEmptyFileCreatesTheSchemaOnce(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let a = try t.open()
        let b = try t.open()
        let expected = Schema.migrations(backend == .sqlite ? .sqlite : .postgresql).count
        #expect(a.schemaVersion == expected)
        #expect(b.schemaVersion == expected)
    }

    @Test(arguments: Backend.available) func pruneDropsOldOutboundRowsAndEvents(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        _ = try s.record(event("f", at: 100, mid: "<old@x>"), windows: Self.hour)
        _ = try s.record(event("f", at: 10_000, mid: "<new@x>"), windows: Self.hour)
        try s.prune(now: 10_050, outboundRetention: TimeSpan(seconds: 5000), windowRetention: TimeSpan(seconds: 5000))
        let ids = try s.db.query("SELECT message_id FROM outbound ORDER BY at").map { $0[0].text }
        #expect(ids == ["<new@x>"])
        #expect(try s.db.query("SELECT COUNT(*) FROM window_events WHERE at = 100").first?.first?.int == 0)
    }

    /// Hosts sharing a store each report their own scanners: each wrote over the others' figures
    /// under the same label, so one host's dead spamd could show as up.
    @Test(arguments: Backend.available) func eachHostReportsItsOwnScannersHealth(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        var down = ScannerHealth(label: "spamd 127.0.0.1:783")
        down.failures = 3
        down.lastError = "connection refused"
        down.lastErrorAt = 100
        try s.saveScannerHealth([down], host: "mx1", at: 100)
        try s.saveScannerHealth([ScannerHealth(label: "spamd 127.0.0.1:783", scans: 5, spam: 0, failures: 0, skippedTooBig: 0, lastError: nil,
                                               lastErrorAt: nil, lastSuccessAt: 101, latencyP50: nil, latencyP99: nil)], host: "mx2", at: 101)
        #expect(try s.scannerHealth().map { "\($0.host) \($0.health.isUp ? "up" : "down")" } == ["mx1 down", "mx2 up"])
        try s.saveScannerHealth([], host: "mx2", at: 105)
        #expect(try s.scannerHealth().map(\.host) == ["mx1"], "a host whose scanners a reload removed reports none")
        // mx1 is retired: its last figures are listed until they are as old as the outbound log's retention.
        try s.saveScannerHealth([down], host: "mx3", at: 100 + 86_400)
        try s.prune(now: 100 + 86_400, outboundRetention: .days(1), windowRetention: .days(31))
        #expect(try s.scannerHealth().map(\.host) == ["mx3"])
    }

    /// Mail held under a lock still in force sits in the MTA's hold queue until a person acts: it
    /// stays listed past the outbound log's retention, and goes once the lock is lifted.
    @Test(arguments: Backend.available) func heldMailOfALockInForceOutlivesTheRetention(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        _ = try s.lock(LockRecord(identity: "sasl:held", lockedAt: 100, lockedBy: "auto", automatic: true, reason: "spam"))
        try s.recordLockedAttempt(identity: "sasl:held", at: 100, heldQueueID: "4Q1")
        let monthsLater: Int64 = 100 + 40 * 86_400
        try s.prune(now: monthsLater, outboundRetention: .days(30), windowRetention: .days(31))
        #expect(try s.heldMessages(of: "sasl:held").map(\.queueID) == ["4Q1"])
        #expect(try s.unlock(identity: "sasl:held", by: "root", reason: "released", at: monthsLater))
        try s.prune(now: monthsLater, outboundRetention: .days(30), windowRetention: .days(31))
        #expect(try s.heldMessages(of: "sasl:held").isEmpty)
    }

    /// Pruning runs in write transactions beside the counts: each batch finds its rows by time
    /// through an index, so a store of millions of buckets with nothing to prune holds the write
    /// lock for a lookup, not for a read of every row.
    @Test func pruningFindsOldRowsThroughAnIndexOnTime() throws {
        let t = try TempStore(.sqlite)
        let s = try t.open()
        for statement in SQLStore.pruneStatements(.sqlite) {
            let plan = try s.db.query("EXPLAIN QUERY PLAN " + statement.sql, [.int(0)]).compactMap { $0.last?.text }
            #expect(!plan.isEmpty && plan.allSatisfy { !$0.hasPrefix("SCAN") }, "\(statement.sql): \(plan)")
        }
    }

    /// Hosts that meet in one store at the same moment: four processes' stores open a new store at
    /// once (one migrates it), lock one identity at once (one lock stands, every caller gets it) and
    /// read the token key at once (one key, the same tokens everywhere).
    @Test(arguments: Backend.available) func hostsMeetingAtOnceMakeOneSchemaOneLockAndOneKey(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let hosts = 4
        let results = Mutex<[Result<(lock: LockRecord, isNew: Bool, key: [UInt8]), Error>]>([])
        DispatchQueue.concurrentPerform(iterations: hosts) { host in
            let result = Result { () throws -> (lock: LockRecord, isNew: Bool, key: [UInt8]) in
                let s = try t.open()
                let set = try s.lock(LockRecord(identity: "sasl:hot", lockedAt: 100 + Int64(host), lockedBy: "auto",
                                                automatic: true, reason: "host \(host)"))
                return (set.lock, set.isNew, try s.tokenKey())
            }
            results.withLock { $0.append(result) }
        }
        let answers = try results.withLock { $0 }.map { try $0.get() }
        #expect(answers.count == hosts)
        #expect(Set(answers.map(\.lock.reason)).count == 1, "every caller gets the one lock in force")
        #expect(answers.filter(\.isNew).count == 1, "one caller set it")
        #expect(Set(answers.map(\.key)).count == 1, "one token key for every host")
        let s = try t.open()
        #expect(try s.activeLocks().map(\.identity) == ["sasl:hot"])
        #expect(try s.auditEntries().filter { $0.action == "lock" }.count == 1)
        #expect(s.schemaVersion == Schema.migrations(backend == .sqlite ? .sqlite : .postgresql).count)
    }

    /// A sender's Message-ID longer than PostgreSQL can index must not fail the count (and so every
    /// message of that sender, per on_error): the message is counted, its log row without the id.
    @Test(arguments: Backend.available) func aMessageIDTooLongToIndexDoesNotFailTheCount(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        let long = String((0..<4_000).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        let event = MessageEvent(identity: "sasl:a", at: 1_800_000_000, recipients: 1, spam: false, messageID: "<\(long)@x>", queueID: "Q1")
        #expect(try s.record(event, windows: [.messages: .hours(1)])[.messages] == 1)
    }

    @Test(arguments: Backend.available) func aCooldownLiftsOnlyAnExpiredLock(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        _ = try s.adminLock("sasl:a", by: "root", reason: "first", expiresAt: 100, at: 10)
        #expect(try !s.liftExpiredLock(of: "sasl:a", at: 99))
        #expect(try s.liftExpiredLock(of: "sasl:a", at: 100))
        #expect(try s.state(of: "sasl:a").lock == nil)
        _ = try s.adminLock("sasl:a", by: "root", reason: "second", expiresAt: nil, at: 101)
        #expect(try !s.liftExpiredLock(of: "sasl:a", at: 200), "a lock with no expiry stays")
        #expect(try s.state(of: "sasl:a").lock?.reason == "second")
        #expect(try s.auditEntries().filter { $0.action == "unlock" }.map(\.actor) == ["cooldown"])
    }

    /// A token the store failed to record is recorded by the next message's mint, so the desk can
    /// trace it; the first failure is not remembered as done.
    @Test func aTokenNotRecordedIsRecordedNextTime() throws {
        final class FailsOnce: IdentityTokenStore, @unchecked Sendable {
            let store: SQLStore
            var failed = false
            init(_ store: SQLStore) { self.store = store }
            func tokenKey() throws -> [UInt8] { try store.tokenKey() }
            func rememberToken(_ token: String, for identity: Identity) throws {
                if !failed { failed = true; throw StoreError(.failed, "disk full") }
                try store.rememberToken(token, for: identity)
            }
        }
        let t = try TempStore(.sqlite)
        let store = try t.open()
        let tokenizer = try StoreIdentityTokenizer(store: FailsOnce(store))
        #expect(throws: StoreError.self) { try tokenizer.token(for: "sasl:alice@example.net") }
        let token = try tokenizer.token(for: "sasl:alice@example.net")
        #expect(try store.identity(forToken: token) == "sasl:alice@example.net")
    }

    /// The message path writes an identity's token once, not at every message; past its bound the
    /// tokenizer starts afresh and writes each again once, the same token.
    @Test func aTokenIsWrittenOncePerIdentityUpToTheBound() throws {
        final class Counting: IdentityTokenStore, @unchecked Sendable {
            let store: SQLStore
            var written: [Identity] = []
            init(_ store: SQLStore) { self.store = store }
            func tokenKey() throws -> [UInt8] { try store.tokenKey() }
            func rememberToken(_ token: String, for identity: Identity) throws {
                written.append(identity)
                try store.rememberToken(token, for: identity)
            }
        }
        let t = try TempStore(.sqlite)
        let counting = Counting(try t.open())
        let tokenizer = try StoreIdentityTokenizer(store: counting, maxRemembered: 2)
        let first = try tokenizer.token(for: "sasl:a")
        for _ in 0..<5 { #expect(try tokenizer.token(for: "sasl:a") == first) }
        _ = try tokenizer.token(for: "sasl:b")
        #expect(counting.written == ["sasl:a", "sasl:b"])
        _ = try tokenizer.token(for: "sasl:c")
        #expect(try tokenizer.token(for: "sasl:a") == first)
        #expect(counting.written == ["sasl:a", "sasl:b", "sasl:c", "sasl:a"], "past the bound of 2, a is written again, once")
        #expect(try counting.store.identity(forToken: first) == "sasl:a")
        // Two spellings of one name that Swift's String calls equal are two identities to the store.
        let composed = try tokenizer.token(for: "sasl:jos\u{E9}")
        let decomposed = try tokenizer.token(for: "sasl:jose\u{301}")
        #expect(composed != decomposed)
        #expect(try counting.store.identity(forToken: decomposed).map { Array($0.utf8) } == Array("sasl:jose\u{301}".utf8))
    }

    @Test(arguments: Backend.available) func tokensAreStableSecretAndTraceable(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let first = try StoreIdentityTokenizer(store: try t.open()).token(for: "sasl:alice@example.net")
        let store = try t.open()
        let again = try StoreIdentityTokenizer(store: store).token(for: "sasl:alice@example.net")
        #expect(first == again, "the key lives in the store, so tokens survive restarts")
        #expect(first.count == 22 && first.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(try store.identity(forToken: first) == "sasl:alice@example.net")
        let other = try TempStore(backend)
        #expect(try StoreIdentityTokenizer(store: try other.open()).token(for: "sasl:alice@example.net") != first,
                "a different store has a different key")
    }
}
