import Foundation
import Synchronization
import Testing
import MailWardenCore
import MailWardenMilter
@testable import MailWardenStore

/// The milter reads locks and overrides from its PolicyCache. What a user sees: a lock made anywhere
/// refuses the next message; a lock the milter knows is enforced while the store cannot be reached.
@Suite struct PolicyCacheTests {
    /// Two handles on one store file: the daemon's, and the CLI's (or another host's).
    final class TwoHandles {
        let dir: URL
        let daemon: SQLStore
        let other: SQLStore

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("mw-cache-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            daemon = try SQLStore(path: dir.appendingPathComponent("store.db").path)
            other = try SQLStore(path: dir.appendingPathComponent("store.db").path)
        }

        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    @Test func aStoreOnThisHostIsCheckedAtEveryLookup() throws {
        let t = try TwoHandles()
        let cache = PolicyCache(store: t.daemon, freshness: .checkedAtEveryLookup)
        #expect(cache.state(of: "sasl:x").lock == nil)
        _ = try t.other.adminLock("sasl:x", by: "root", reason: "by hand", expiresAt: nil, at: 10)
        #expect(cache.state(of: "sasl:x").lock?.lockedBy == "root", "mailwarden lock takes effect at the next message")
        try t.other.setLimits([.messages: .disabled], of: "sasl:y", by: "root", at: 11)
        #expect(cache.state(of: "sasl:y").override?.limits == [.messages: .disabled])
        #expect(try t.other.unlock(identity: "sasl:x", by: "root", reason: nil, at: 12))
        #expect(cache.state(of: "sasl:x").lock == nil)
    }

    /// A version that comes round again (a standby promoted without the last commits, a restored
    /// backup) says nothing changed: a lock set since was not enforced until the version moved again.
    /// The whole snapshot is read again every so often, whatever the version says.
    @Test func aVersionThatComesRoundAgainIsCaughtByTheNextFullRead() throws {
        let t = try TwoHandles()
        let cache = PolicyCache(store: t.daemon, freshness: .refreshedFromOutside, fullReadEvery: .milliseconds(300))
        _ = try t.other.db.transaction { tx in try tx.query("UPDATE policy_version SET version = version - 1") }
        _ = try t.other.adminLock("sasl:x", by: "root", reason: "after the failover", expiresAt: nil, at: 10)
        try cache.refresh()
        #expect(cache.state(of: "sasl:x").lock == nil, "the version is the one the cache last read")
        Thread.sleep(forTimeInterval: 0.4)
        try cache.refresh()
        #expect(cache.state(of: "sasl:x").lock?.reason == "after the failover")
    }

    /// The daemon asks a store on this host for its version at most every 20 ms: a busy milter does
    /// not read it twice per message, and a lock made meanwhile applies once the interval has passed.
    @Test func aStoreOnThisHostIsCheckedAtMostOncePerInterval() throws {
        let t = try TwoHandles()
        let hourly = PolicyCache(store: t.daemon, freshness: .checkedAtLookup(atMostEvery: .seconds(3600)))
        let often = PolicyCache(store: t.daemon, freshness: .checkedAtLookup(atMostEvery: .milliseconds(50)))
        #expect(hourly.state(of: "sasl:x").lock == nil)
        #expect(often.state(of: "sasl:x").lock == nil)
        _ = try t.other.adminLock("sasl:x", by: "root", reason: "by hand", expiresAt: nil, at: 10)
        #expect(hourly.state(of: "sasl:x").lock == nil, "confirmed less than an interval ago: not asked again")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(often.state(of: "sasl:x").lock?.lockedBy == "root", "asked again once the interval has passed")
        #expect(hourly.state(of: "sasl:x").lock == nil)
    }

    /// Lookups that come together once the interval has passed: one of them reads the version, the
    /// others go on with the snapshot instead of queueing behind it on the store's connection.
    @Test func lookupsThatComeTogetherReadTheVersionOnce() throws {
        let t = try TwoHandles()
        let reads = Mutex(0)
        let slow = FaultyStore(t.daemon) { call in
            guard call == "policyVersion" else { return }
            reads.withLock { $0 += 1 }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let cache = PolicyCache(store: slow, freshness: .checkedAtLookup(atMostEvery: .milliseconds(20)))
        Thread.sleep(forTimeInterval: 0.05)
        reads.withLock { $0 = 0 }
        let start = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        for _ in 0..<8 {
            Thread {
                start.wait()
                _ = cache.state(of: "sasl:x")
                done.signal()
            }.start()
        }
        for _ in 0..<8 { start.signal() }
        for _ in 0..<8 { _ = done.wait(timeout: .now() + 10) }
        #expect(reads.withLock { $0 } == 1, "8 lookups due at once read the version once")
    }

    /// A message's lock check reads the policy version on a connection of its own: it never waits
    /// for another message's count, which holds the store's write connection until it commits.
    @Test func aLockCheckDoesNotWaitForACountInProgress() throws {
        let t = try TwoHandles()
        let cache = PolicyCache(store: t.daemon, freshness: .checkedAtEveryLookup)
        let counting = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), checked = DispatchSemaphore(value: 0)
        _ = try t.other.adminLock("sasl:x", by: "root", reason: "by hand", expiresAt: nil, at: 10)
        let daemon = t.daemon
        Thread {
            _ = try? daemon.atomically {
                _ = try daemon.record(MessageEvent(identity: "sasl:busy", at: 10, recipients: 1, spam: false, messageID: nil, queueID: nil), windows: [:])
                counting.signal()
                _ = release.wait(timeout: .now() + 30)
            }
        }.start()
        #expect(counting.wait(timeout: .now() + 10) == .success)
        Thread { if cache.state(of: "sasl:x").lock != nil { checked.signal() } }.start()
        #expect(checked.wait(timeout: .now() + 10) == .success, "the check ends, and sees the lock, while the count is still open")
        release.signal()
    }

    @Test func aSharedStoreIsReadAgainWhenARefreshFindsItsVersionMoved() throws {
        let t = try TwoHandles()
        let cache = PolicyCache(store: t.daemon, freshness: .refreshedFromOutside)
        _ = try t.other.adminLock("sasl:x", by: "root", reason: "by hand", expiresAt: nil, at: 10)
        #expect(cache.state(of: "sasl:x").lock == nil, "a shared store's cache does not read the store per lookup")
        try cache.refresh()
        #expect(cache.state(of: "sasl:x").lock?.reason == "by hand")
        #expect(cache.ageSeconds < 5)
    }

    /// Two caches over one store: one re-read every 0.2 s and never woken, one re-read only hourly,
    /// so only wake() can bring it the lock in time.
    @Test func theBackgroundRefreshBringsAnotherHostsLockByItselfAndAtOnceWhenWoken() throws {
        let t = try TwoHandles()
        let polled = PolicyCache(store: t.daemon, freshness: .refreshedFromOutside)
        polled.refreshInBackground(every: 0.2) { _ in }
        let woken = PolicyCache(store: t.daemon, freshness: .refreshedFromOutside)
        woken.refreshInBackground(every: 3600) { _ in }
        func seen(_ identity: Identity, by cache: PolicyCache, within seconds: Double) -> Bool {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while Date() < deadline {
                if cache.state(of: identity).lock != nil { return true }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return false
        }
        _ = try t.other.adminLock("sasl:x", by: "root", reason: "r", expiresAt: nil, at: 10)
        #expect(seen("sasl:x", by: polled, within: 5), "the periodic re-read finds it without any announcement")
        #expect(!seen("sasl:x", by: woken, within: 0.3), "an hourly re-read has not found it yet")
        woken.wake()
        #expect(seen("sasl:x", by: woken, within: 5))
    }

    /// The store goes away: a locked identity still gets the lock's answer (550, not on_error's 451)
    /// and its refused attempt is logged as not counted; others are answered per on_error; once the
    /// store is back mail flows and is counted, with no restart.
    @Test func aLockTheMilterKnowsIsEnforcedWhileTheStoreIsAway() throws {
        let t = try TwoHandles()
        let down = Flag()
        let h = try Harness("", store: FaultyStore(t.daemon) { _ in if down.isSet { throw FailingStore.Failure() } })
        _ = try t.other.adminLock("sasl:mallory", by: "root", reason: "hijacked", expiresAt: nil, at: 10)
        guard case .reject = h.send(.init(auth: "mallory")).0 else { Issue.record("a locked identity is refused"); return }
        down.set()
        for queueID in ["Q1", "Q2"] {
            guard case .reject(let reply) = h.send(.init(auth: "mallory", queueID: queueID)).0 else {
                Issue.record("the known lock must still refuse while the store is away"); return
            }
            #expect(reply.code == "550")
        }
        guard case .tempfail(let reply) = h.send(.init(auth: "ivy")).0 else { Issue.record("an unlocked identity: on_error"); return }
        #expect(reply.code == "451")
        // The refusals of that second are written by the daemon's next tick, which fails too.
        h.filter.writeLockedAttempts()
        #expect(h.log.all.contains { $0.contains("identity=sasl:mallory locked; 2 attempt(s) were not counted: disk I/O error") })
        down.clear()
        #expect(h.send(.init(auth: "ivy")).0 == .accept)
        #expect(try t.other.identities().first { $0.identity == "sasl:ivy" }?.messages == 1, "counted once the store is back")
    }

    /// A clean stop tries the backlog once more, and says what it could not count.
    @Test func aStopCountsTheBacklogOnceMoreAndSaysWhatIsLeft() throws {
        let t = try TwoHandles()
        let down = Flag()
        let h = try Harness("on_error = accept\nlimit_messages = 10/1h",
                            store: FaultyStore(t.daemon) { _ in if down.isSet { throw FailingStore.Failure() } })
        down.set()
        for queueID in ["Q1", "Q2"] { #expect(h.send(.init(auth: "ivy", queueID: queueID)).0 == .accept) }
        #expect(h.filter.finish(timeout: 1) == (0, 2), "left uncounted, for the stop's error line")
        down.clear()
        #expect(h.filter.finish(timeout: 0) == (0, 2), "a stop with no time left does not wait for the store")
        #expect(h.filter.finish(timeout: 1) == (0, 0))
        #expect(try t.other.identities().first { $0.identity == "sasl:ivy" }?.messages == 2, "counted at the stop")
    }

    /// on_error = accept: what is accepted while the store is away is counted once it is back, each
    /// message once, and a limit crossed on the way locks the identity then (with its notice); what
    /// the backlog holds past that lock is not counted (nor notified) again.
    @Test func messagesAcceptedWhileTheStoreIsAwayAreCountedOnceItIsBack() throws {
        let t = try TwoHandles()
        let down = Flag()
        let h = try Harness("on_error = accept\nlimit_messages = 2/1h",
                            store: FaultyStore(t.daemon) { _ in if down.isSet { throw FailingStore.Failure() } })
        down.set()
        for queueID in ["Q1", "Q2", "Q3", "Q4"] { #expect(h.send(.init(auth: "ivy", queueID: queueID)).0 == .accept) }
        #expect(h.filter.countBacklog.count == 4)
        #expect(throws: FailingStore.Failure.self) { try h.filter.catchUpCounts() }
        #expect(h.filter.countBacklog.count == 4, "nothing is lost while the store is still away")
        down.clear()
        #expect(try h.filter.catchUpCounts() == 4)
        #expect(h.filter.countBacklog.count == 0)
        #expect(try t.other.identities().first { $0.identity == "sasl:ivy" }?.messages == 3)
        #expect(try t.other.state(of: "sasl:ivy").lock?.automatic == true, "the third crossed 2/1h")
        #expect(h.notifier.notices.withLock { $0 } == ["sasl:ivy Q3"])
        guard case .reject = h.send(.init(auth: "ivy", queueID: "Q5")).0 else { Issue.record("locked after catching up"); return }
        #expect(try h.filter.catchUpCounts() == 0 && (try t.other.identities().first { $0.identity == "sasl:ivy" }?.messages) == 3,
                "each message counted once")
    }

    @Test func theBacklogKeepsItsNewestWhenFull() throws {
        let backlog = CountBacklog(capacity: 2)
        for i in 1...3 { backlog.add(MessageEvent(identity: "sasl:a", at: Int64(i), recipients: 1, spam: false, messageID: nil, queueID: "Q\(i)")) }
        #expect(backlog.count == 2 && backlog.dropped == 1)
        for i in 4...2000 { backlog.add(MessageEvent(identity: "sasl:a", at: Int64(i), recipients: 1, spam: false, messageID: nil, queueID: "Q\(i)")) }
        #expect(backlog.count == 2 && backlog.dropped == 1998)
        var counted: [String] = []
        #expect(try backlog.drain { counted.append($0.queueID ?? "") } == 2)
        #expect(counted == ["Q1999", "Q2000"] && backlog.count == 0)
    }
}
