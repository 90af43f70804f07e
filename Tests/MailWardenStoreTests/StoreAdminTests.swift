import Foundation
import MailWardenCore
import Testing
@testable import MailWardenStore

@Suite struct StoreAdminTests {
    static let windows = Config.defaults().limits.windows

    func send(_ store: SQLStore, _ identity: Identity, at: Int64, recipients: Int = 1, spam: Bool = false) throws {
        _ = try store.record(MessageEvent(identity: identity, at: at, recipients: recipients, spam: spam, messageID: nil, queueID: nil),
                             windows: Self.windows)
    }

    @Test(arguments: Backend.available) func identityListingsSortLimitAndCountAPeriod(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try send(s, "sasl:a", at: 100, recipients: 9)
        try send(s, "sasl:b", at: 100, spam: true)
        try send(s, "sasl:b", at: 200)
        try send(s, "sasl:c", at: 300)

        #expect(try s.identities().map(\.identity) == ["sasl:b", "sasl:a", "sasl:c"], "messages desc, then name")
        #expect(try s.identities(since: nil, orderBy: .recipients, top: 1).map(\.identity) == ["sasl:a"])
        #expect(try s.identities(since: nil, orderBy: .spam, top: nil).first?.identity == "sasl:b")
        let period = try s.identities(since: 200, orderBy: .messages, top: nil)
        #expect(period.map(\.identity) == ["sasl:b", "sasl:c"])
        #expect(period.first?.messages == 1 && period.first?.spam == 0 && period.first?.complaints == nil)
        #expect(period.first?.firstSeen == 200 && period.first?.lastSeen == 200)
    }

    @Test(arguments: Backend.available) func detailSumsEachWindowUnderTheLimitsInForce(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try send(s, "sasl:a", at: 1000, spam: true)
        try send(s, "sasl:a", at: 4000, recipients: 4)
        _ = try s.recordComplaint(identity: "sasl:a", reporter: "fbl@one", reportID: 1, at: 3000, window: .days(1))
        _ = try s.recordComplaint(identity: "sasl:a", reporter: "fbl@one", reportID: 2, at: 3100, window: .days(1))
        _ = try s.recordComplaint(identity: "sasl:a", reporter: "fbl@two", reportID: 3, at: 3200, window: .days(1))
        try s.setLimits([.spam: .limit(RateLimit(count: 1, window: .hours(2)))], of: "sasl:a", by: "root", at: 4100)

        let detail = try #require(try s.detail(of: "sasl:a", config: .defaults(), now: 4700))
        let figures = Dictionary(uniqueKeysWithValues: detail.windows.map { ($0.counter, $0) })
        #expect(figures[.messages]?.total == 1, "the message at 1000 left the 1h window")
        #expect(figures[.spam]?.total == 1 && figures[.spam]?.window == .hours(2), "the override's 2h window reaches back to 1000")
        #expect(figures[.recipients]?.total == 4 && figures[.recipients]?.limit == RateLimit("2000/1h"))
        #expect(figures[.complaints]?.total == 2, "distinct reporters")
        #expect(detail.summary.complaints == 3 && detail.summary.messages == 2)
        #expect(try s.detail(of: "sasl:nobody", config: .defaults(), now: 4200) == nil)
    }

    @Test(arguments: Backend.available) func resettingLimitsKeepsAnExemptionAndAnEmptyOverrideIsDropped(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try s.setLimits([.messages: .disabled], of: "sasl:a", by: "root", at: 10)
        #expect(try s.setExempt(true, identity: "sasl:a", by: "root", at: 11))
        #expect(try s.setExempt(true, identity: "sasl:a", by: "root", at: 12) == false, "already exempt")
        #expect(try s.resetLimits(of: "sasl:a", by: "root", at: 13))
        #expect(try s.state(of: "sasl:a").override == IdentityOverride(limits: [:], exempt: true))
        #expect(try s.resetLimits(of: "sasl:a", by: "root", at: 14) == false)
        #expect(try s.setExempt(false, identity: "sasl:a", by: "root", at: 15))
        #expect(try s.state(of: "sasl:a").override == nil)
        #expect(try s.setExempt(false, identity: "sasl:unknown", by: "root", at: 16) == false)
        #expect(try s.identities().map(\.identity) == ["sasl:a"], "removing nothing creates no identity")
        #expect(try s.auditEntries().map(\.action) == ["limits", "exempt", "limits-reset", "unexempt"])
    }

    @Test(arguments: Backend.available) func lockHistoryKeepsLiftedLocksNewestFirst(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        #expect(try s.adminLock("sasl:a", by: "root", reason: "one", expiresAt: nil, at: 10).isNew)
        #expect(try s.adminLock("sasl:a", by: "root", reason: "two", expiresAt: nil, at: 11).isNew == false)
        #expect(try s.unlock(identity: "sasl:a", by: "ops", reason: "fine", at: 20))
        #expect(try s.adminLock("sasl:a", by: "root", reason: "three", expiresAt: 99, at: 30).isNew)

        let history = try #require(try s.detail(of: "sasl:a", config: .defaults(), now: 40)).locks
        #expect(history.map(\.lock.reason) == ["three", "one"])
        #expect(history[0].liftedAt == nil && history[0].lock.expiresAt == 99)
        #expect(history[1].liftedAt == 20 && history[1].liftedBy == "ops" && history[1].liftReason == "fine")
        #expect(try s.activeLocks().map(\.reason) == ["three"])
    }

    @Test(arguments: Backend.available) func traceMatchesWithAndWithoutAngleBrackets(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        for (i, id) in ["<a@x>", "b@x"].enumerated() {
            _ = try s.record(MessageEvent(identity: "sasl:s", at: Int64(i), recipients: 1, spam: false, messageID: id, queueID: "Q\(i)"),
                             windows: Self.windows)
        }
        for query in ["a@x", "<a@x>", "b@x", "<b@x>"] {
            #expect(try s.trace(messageID: query).count == 1, "\(query)")
        }
        #expect(try s.trace(messageID: "<c@x>").isEmpty)
    }

    @Test(arguments: Backend.available) func auditEntriesSinceACutoffOldestFirst(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try s.appendAudit(actor: "mailwardend", action: "reload", identity: nil, detail: "/etc/a", at: 5)
        try s.appendAudit(actor: "mailwardend", action: "reload", identity: nil, detail: "/etc/b", at: 7)
        #expect(try s.auditEntries().map(\.detail) == ["/etc/a", "/etc/b"])
        #expect(try s.auditEntries(since: 6).map(\.detail) == ["/etc/b"])
    }

    @Test(arguments: Backend.available) func statusCountsAndBackupCopies(_ backend: Backend) throws {
        let t = try TempStore(backend)
        let s = try t.open()
        try send(s, "sasl:a", at: 1)
        _ = try s.adminLock("sasl:a", by: "root", reason: "r", expiresAt: nil, at: 2)
        try s.recordLockedAttempt(identity: "sasl:a", at: 3, heldQueueID: "QH")
        let status = try s.status()
        #expect(status == StoreStatus(schemaVersion: Schema.migrations(backend == .sqlite ? .sqlite : .postgresql).count, identities: 1, activeLocks: 1, held: 1,
                                      outbound: 1, audit: 1, databaseBytes: status.databaseBytes))
        #expect(status.databaseBytes > 0)
        #expect(try s.heldMessages(of: "sasl:a") == [HeldMessage(queueID: "QH", heldAt: 3, lockID: 1)])

        let copy = t.dir.appendingPathComponent("copy.db").path
        guard backend == .sqlite else {
            #expect { try s.backup(to: copy) } throws: { "\($0)".contains("pg_dump") }
            return
        }
        try s.backup(to: copy)
        #expect(try SQLStore(path: copy).status().identities == 1)
        #expect(throws: StoreError.self) { try s.backup(to: copy) }
    }
}
